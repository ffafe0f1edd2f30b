"""Exercises of the feedforward chapter.

Each reference is a thin wrapper around the chapter's own functions
(:mod:`nnbook.fnn`, :mod:`nnbook.train`), so an exercise checks the
reader against exactly the code the book shows. The wrong solutions are the
mistakes readers make; the alternatives are correct solutions written another
way. The test suite runs both through :func:`nnbook.check`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

import nnbook
from nnbook import fnn as ff
from nnbook.check import Case, exercise
from nnbook.exercises._cases import rand, randn
from nnbook.train import accuracy, batches, fit, predict

__all__ = [
    "activation_stds",
    "ce_gradient",
    "clip_by_norm",
    "dead_fraction",
    "elu_derivative",
    "gaussian_nll",
    "gradient_noise",
    "he_std",
    "inverted_dropout",
    "linear_backward",
    "mlp_backward",
    "mse",
    "n_parameters",
    "penalized_step",
    "polyline",
    "steps",
    "trained_accuracy",
    "validation_choice",
    "weighted_sum",
]

F64 = torch.float64


def _seeded(seed):
    """The generator every experiment of this chapter draws from.

    ``nnbook.generator``, so that ``NNBOOK_SEED`` moves the reader's run and the
    reference's together.
    """
    return nnbook.generator(seed)


def _labels(rng, T_mb, C):
    return torch.randint(0, C, (T_mb,), generator=rng)


# --------------------------------------------------------------------------
# architecture
# --------------------------------------------------------------------------


def _weighted_sum_cases(rng):
    return [
        Case(
            "one sample, 3 inputs, 2 neurons",
            (randn(rng, 1, 3), randn(rng, 2, 3), randn(rng, 2)),
        ),
        Case(
            "a mini-batch of 4 samples",
            (randn(rng, 4, 5), randn(rng, 3, 5), randn(rng, 3)),
        ),
        Case(
            "no bias term (e = 0)", (randn(rng, 4, 5), randn(rng, 3, 5), None)
        ),
        Case(
            "a single neuron",
            (randn(rng, 6, 2), randn(rng, 1, 2), randn(rng, 1)),
        ),
        Case(
            "bad input: W has the wrong width",
            (randn(rng, 4, 5), randn(rng, 3, 4), randn(rng, 3)),
        ),
    ]


def _bias_required(h, W, b):
    return h @ W.T + b


def _weight_not_transposed(h, W, b=None):
    if h.shape[1] != W.shape[0]:
        raise ValueError(f"h {tuple(h.shape)} does not fit W {tuple(W.shape)}")
    a = h @ W
    return a if b is None else a + b


def _one_column_per_sample(h, W, b=None):
    if h.shape[1] != W.shape[1]:
        raise ValueError(f"h {tuple(h.shape)} does not fit W {tuple(W.shape)}")
    a = W @ h.T  # (F_out, T_mb)
    return a if b is None else a + b[:, None]


def _weighted_sum_by_einsum(h, W, b=None):
    if h.ndim != 2 or W.ndim != 2 or h.shape[1] != W.shape[1]:
        raise ValueError(f"h {tuple(h.shape)} does not fit W {tuple(W.shape)}")
    a = torch.einsum("ti,fi->tf", h, W)
    return a if b is None else a + b


@exercise(
    statement=(
        "weighted_sum(h, W, b) returns the weighted sums a, of shape "
        "(T_mb, F_out), that a layer with weights W (F_out, F_in) and bias b "
        "(F_out,), or None for no bias, computes from a mini-batch h "
        "(T_mb, F_in); it raises ValueError when the shapes do not fit."
    ),
    cases=_weighted_sum_cases,
    equation="eq-fnn-weight-avg",
    kind="implement",
    section="fnn/architecture",
    outputs=("a",),
    hint=(
        "Row f of W holds the weights into neuron f, as in torch.nn.Linear, "
        "and every row of h is one sample. The bias may be None (no bias), "
        "and inputs whose shapes do not fit must raise an error, not return a "
        "result."
    ),
    wrong={
        "the bias cannot be None": _bias_required,
        "W used without transposing": _weight_not_transposed,
        "one column per sample instead of one row": _one_column_per_sample,
    },
    alternatives=(_weighted_sum_by_einsum,),
)
def weighted_sum(h, W, b=None):
    return ff.linear(h, W, b)


def _n_parameters_cases(rng):
    return [
        Case("the MNIST network of the chapter", ([784, 256, 128, 10],)),
        Case("one hidden layer of the rule-of-thumb width", ([64, 37, 10],)),
        Case("no hidden layer: a softmax regression", ([3, 1],)),
        Case("batch norm in two hidden layers", ([64, 128, 128, 10], True)),
        Case("batch norm, narrow layers", ([20, 16, 16, 5], True)),
    ]


def _no_biases(sizes, batch_norm=False):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def _bias_per_input(sizes, batch_norm=False):
    return sum(
        F_in * (F_out + 1)
        for F_in, F_out in zip(sizes[:-1], sizes[1:], strict=True)
    )


def _bias_kept_with_batch_norm(sizes, batch_norm=False):
    count = sum(
        F_out * (F_in + 1)
        for F_in, F_out in zip(sizes[:-1], sizes[1:], strict=True)
    )
    return count + (2 * sum(sizes[1:-1]) if batch_norm else 0)


def _batch_norm_has_no_parameters(sizes, batch_norm=False):
    count = sum(
        F_out * (F_in + 1)
        for F_in, F_out in zip(sizes[:-1], sizes[1:], strict=True)
    )
    return count - (sum(sizes[1:-1]) if batch_norm else 0)


def _n_parameters_by_layer(sizes, batch_norm=False):
    count = 0
    for nu in range(len(sizes) - 1):
        count += sizes[nu + 1] * sizes[nu]  # weights
        hidden = nu < len(sizes) - 2
        count += 2 * sizes[nu + 1] if hidden and batch_norm else sizes[nu + 1]
    return count


@exercise(
    statement=(
        "n_parameters(sizes, batch_norm=False) returns the number of trainable "
        "parameters of nnbook's MLP(sizes, batch_norm=batch_norm), where sizes "
        "lists the widths F_0, ..., F_N; with batch_norm every hidden layer is "
        "normalized."
    ),
    cases=_n_parameters_cases,
    kind="derive",
    section="fnn/architecture",
    outputs=("count",),
    hint=(
        "Count per layer: a weight for every pair of neurons of two "
        "neighbouring layers, a bias for every neuron that computes a weighted "
        "sum. Batch normalization brings two parameters per neuron and makes "
        "the bias of its layer redundant (see 'Why batch normalization makes "
        "the bias unnecessary')."
    ),
    wrong={
        "biases forgotten": _no_biases,
        "one bias per input neuron instead of per output neuron": (
            _bias_per_input
        ),
        "bias kept beside gamma and beta": _bias_kept_with_batch_norm,
        "batch norm counted without gamma and beta": (
            _batch_norm_has_no_parameters
        ),
    },
    alternatives=(_n_parameters_by_layer,),
)
def n_parameters(sizes, batch_norm=False):
    net = ff.MLP(
        sizes, batch_norm=batch_norm, init="zeros", generator=_seeded(0)
    )
    return sum(p.numel() for p in net.parameters())


# --------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------


def _elu_cases(rng):
    return [
        Case("mixed signs", (randn(rng, 4, 3, scale=2),)),
        Case("alpha = 0.5", (randn(rng, 5, scale=2), 0.5)),
        Case(
            "a = 0 exactly belongs to the left branch",
            (torch.tensor([0.0, 0.0, 1.0, -1.0], dtype=F64), 2.0),
        ),
        Case(
            "very negative inputs",
            (torch.tensor([-1e3, -50.0, -1.0], dtype=F64),),
        ),
        Case(
            "very positive inputs",
            (torch.tensor([1e3, 800.0, 1.0], dtype=F64), 0.5),
        ),
    ]


def _elu_zero_on_the_right(a, alpha=1.0):
    return torch.where(a >= 0, torch.ones_like(a), alpha * torch.exp(a))


def _elu_alpha_forgotten(a, alpha=1.0):
    return torch.where(a > 0, torch.ones_like(a), torch.exp(a))


def _elu_masks_multiplied(a, alpha=1.0):
    return (a > 0).double() + (a <= 0).double() * alpha * torch.exp(a)


def _elu_from_the_output(a, alpha=1.0):
    h = alpha * torch.expm1(torch.clamp(a, max=0))  # g(a) where a <= 0
    return torch.where(a > 0, torch.ones_like(a), h + alpha)


@exercise(
    statement=(
        "elu_derivative(a, alpha=1.0) returns the derivative g'(a) of the ELU, "
        "elementwise, for a tensor a of any shape; it must be exact at a = 0 "
        "and finite for inputs as large as +-1000."
    ),
    cases=_elu_cases,
    equation="eq-fnn-elu",
    kind="implement",
    section="fnn/activations",
    outputs=("dg",),
    hint=(
        "Which branch holds a = 0? Does alpha appear on the negative side? "
        "And an exponential of a large positive a is inf: choose between the "
        "branches with torch.where rather than multiplying by masks, since "
        "0 * inf is nan."
    ),
    wrong={
        "a = 0 on the right branch": _elu_zero_on_the_right,
        "alpha forgotten on the left branch": _elu_alpha_forgotten,
        "branches combined by masks (0 * inf = nan)": _elu_masks_multiplied,
    },
    alternatives=(_elu_from_the_output,),
)
def elu_derivative(a, alpha=1.0):
    _, cache = ff.elu_forward(a, alpha)
    return ff.elu_backward(torch.ones_like(a), cache)


def _dead_cases(rng):
    return [
        Case(
            "centred inputs",
            (randn(rng, 256, 20), [20, 64, 64, 10], 0),
        ),
        Case(
            "inputs around 1, like pixel intensities",
            (1 + randn(rng, 256, 20, scale=0.3), [20, 64, 64, 10], 0),
        ),
        Case(
            "positive inputs, three hidden layers",
            (rand(rng, 128, 16), [16, 32, 32, 32, 4], 3),
        ),
        Case(
            "two samples only",
            (randn(rng, 2, 8), [8, 50, 50, 3], 1),
        ),
    ]


def _hidden_sums(X, net, relu=True):
    """The weighted sums of every hidden layer of ``net`` on ``X``."""
    sums, h = [], X
    for layer in net.layers[:-1]:
        a = h @ layer["W"].T + layer["b"]
        sums.append(a)
        h = a.clamp(min=0) if relu else a
    return sums


def _dead_net(sizes, seed):
    return ff.MLP(sizes, generator=_seeded(seed), dtype=F64)


def _dead_on_some_sample(X, sizes, seed):
    sums = _hidden_sums(X, _dead_net(sizes, seed))
    return [(a <= 0).any(dim=0).double().mean().item() for a in sums]


def _share_of_zero_outputs(X, sizes, seed):
    sums = _hidden_sums(X, _dead_net(sizes, seed))
    return [(a <= 0).double().mean().item() for a in sums]


def _relu_left_out(X, sizes, seed):
    sums = _hidden_sums(X, _dead_net(sizes, seed), relu=False)
    return [(a <= 0).all(dim=0).double().mean().item() for a in sums]


def _output_layer_counted(X, sizes, seed):
    net, h, out = _dead_net(sizes, seed), X, []
    for layer in net.layers:
        a = h @ layer["W"].T + layer["b"]
        out.append((a <= 0).all(dim=0).double().mean().item())
        h = a.clamp(min=0)
    return out


def _dead_by_torch_modules(X, sizes, seed):
    layers, h, out = _dead_net(sizes, seed).to_torch(), X, []
    with torch.no_grad():
        for module in layers:
            h = module(h)
            if isinstance(module, torch.nn.ReLU):
                out.append((h == 0).all(dim=0).double().mean().item())
    return out


@exercise(
    statement=(
        "dead_fraction(X, sizes, seed) builds MLP(sizes, "
        "generator=nnbook.generator(seed), dtype=torch.float64) "
        "(ReLU, He initialization, zero biases), feeds it the samples X "
        "(T, F_0), and returns a list with one number per hidden layer: the "
        "fraction of that layer's neurons that are dead on X. The fractions "
        "are counts over the width, so they are compared to 1e-12."
    ),
    cases=_dead_cases,
    kind="experiment",
    section="fnn/activations",
    outputs=("fractions",),
    hint=(
        "A neuron is dead when its weighted sum is <= 0 for every sample of "
        "X, not just for some; count neurons, not entries. Only hidden layers "
        "have a ReLU, and each feeds the next its ReLU outputs."
    ),
    wrong={
        "dead on some sample instead of every sample": _dead_on_some_sample,
        "share of zero outputs instead of share of neurons": (
            _share_of_zero_outputs
        ),
        "ReLU left out between the layers": _relu_left_out,
        "output layer counted too": _output_layer_counted,
    },
    alternatives=(_dead_by_torch_modules,),
    atol=1e-12,
)
def dead_fraction(X, sizes, seed):
    net = _dead_net(sizes, seed)
    fractions, h = [], X
    for layer in net.layers[:-1]:
        a = ff.linear(h, layer["W"], layer["b"])
        fractions.append(((a > 0).sum(dim=0) == 0).double().mean().item())
        h = ff.relu(a)
    return fractions


# --------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------


def _mse_cases(rng):
    return [
        Case(
            "a mini-batch of 4, 3 outputs", (randn(rng, 4, 3), randn(rng, 4, 3))
        ),
        Case("one sample, one output", (randn(rng, 1, 1), randn(rng, 1, 1))),
        Case("8 samples, one output", (randn(rng, 8, 1), randn(rng, 8, 1))),
        Case("exact predictions", (torch.ones(3, 2, dtype=F64),) * 2),
    ]


def _mse_summed(y_hat, y):
    r = y_hat - y
    return (r**2).sum().item() / 2, r


def _mse_like_torch(y_hat, y):
    r = y_hat - y
    return (r**2).mean().item(), 2 * r / r.numel()


def _mse_half_forgotten(y_hat, y):
    r = y_hat - y
    return (r**2).sum().item() / len(r), 2 * r / len(r)


def _mse_sign_flipped(y_hat, y):
    r = y_hat - y
    return (r**2).sum().item() / (2 * len(r)), -r / len(r)


def _mse_by_autograd(y_hat, y):
    y_hat = y_hat.clone().requires_grad_()
    J = ((y_hat - y) ** 2).sum(dim=1).mean() / 2
    J.backward()
    return J.item(), y_hat.grad


@exercise(
    statement=(
        "mse(y_hat, y) returns (J, delta): the mean squared error loss J of "
        "predictions y_hat against targets y, both (T_mb, F_N), as the "
        "chapter defines it, and its gradient delta with respect to y_hat."
    ),
    cases=_mse_cases,
    equation="eq-fnn-mse",
    kind="implement",
    section="fnn/losses",
    outputs=("J", "delta"),
    hint=(
        "J averages over the samples of the mini-batch, not over every number, "
        "and carries a factor 1/2 that cancels the 2 of the derivative; the "
        "gradient carries the same 1/T_mb as J."
    ),
    wrong={
        "sum over the mini-batch instead of the mean": _mse_summed,
        "torch's mse_loss: mean over every element, no 1/2": _mse_like_torch,
        "the 1/2 forgotten": _mse_half_forgotten,
        "gradient of y - y_hat": _mse_sign_flipped,
    },
    alternatives=(_mse_by_autograd,),
)
def mse(y_hat, y):
    J, cache = ff.mse_forward(y_hat, y)
    return J.item(), ff.mse_backward(cache)


def _ce_cases(rng):
    return [
        Case(
            "a mini-batch of 5, 4 classes",
            (randn(rng, 5, 4), _labels(rng, 5, 4)),
        ),
        Case("one sample", (randn(rng, 1, 3), _labels(rng, 1, 3))),
        Case(
            "huge logits (think of log-sum-exp)",
            (randn(rng, 3, 4, scale=1e4), _labels(rng, 3, 4)),
        ),
        Case(
            "two samples of the same class",
            (randn(rng, 2, 3), torch.tensor([1, 1])),
        ),
    ]


def _ce_not_averaged(a, y):
    q = torch.softmax(a, dim=1)
    q[torch.arange(len(y)), y] -= 1
    return q


def _ce_naive_softmax(a, y):
    q = torch.exp(a) / torch.exp(a).sum(dim=1, keepdim=True)
    q[torch.arange(len(y)), y] -= 1
    return q / len(y)


def _ce_softmax_over_batch(a, y):
    q = torch.softmax(a, dim=0)
    q[torch.arange(len(y)), y] -= 1
    return q / len(y)


def _ce_by_autograd(a, y):
    a = a.clone().requires_grad_()
    F.cross_entropy(a, y).backward()
    return a.grad


@exercise(
    statement=(
        "ce_gradient(a, y) returns the gradient, with respect to the logits a "
        "(T_mb, C), of the mean softmax cross-entropy loss with integer labels "
        "y (T_mb,); it must stay finite for logits as large as 10^4."
    ),
    cases=_ce_cases,
    equation="eq-fnn-ce-grad",
    kind="implement",
    section="fnn/losses",
    outputs=("delta",),
    hint=(
        "Predicted probabilities minus one-hot targets, with the softmax taken "
        "over the classes of each sample. The loss is a mean over the "
        "mini-batch, so is its gradient. For huge logits, subtract each row's "
        "largest logit before exponentiating."
    ),
    wrong={
        "missing 1/T_mb": _ce_not_averaged,
        "naive softmax overflows": _ce_naive_softmax,
        "softmax over the samples instead of the classes": (
            _ce_softmax_over_batch
        ),
    },
    alternatives=(_ce_by_autograd,),
)
def ce_gradient(a, y):
    _, cache = ff.softmax_cross_entropy_forward(a, y)
    return ff.softmax_cross_entropy_backward(cache)


def _nll_cases(rng):
    return [
        Case("one output, sigma 1", (randn(rng, 6, 1), randn(rng, 6, 1), 1.0)),
        Case(
            "three outputs, sigma 0.5",
            (randn(rng, 5, 3), randn(rng, 5, 3), 0.5),
        ),
        Case("a perfect fit, sigma 2", (*(2 * [randn(rng, 4, 2)]), 2.0)),
    ]


def _nll_without_constant(y_hat, y, sigma=1.0):
    return (y_hat - y).pow(2).sum() / (2 * sigma**2 * len(y))


def _nll_sigma_not_squared(y_hat, y, sigma=1.0):
    T_mb, F_N = y.shape
    squares = (y_hat - y).pow(2).sum() / (2 * sigma * T_mb)
    return squares + F_N * math.log(sigma * math.sqrt(2 * math.pi))


def _nll_mean_over_outputs(y_hat, y, sigma=1.0):
    squares = (y_hat - y).pow(2).mean() / (2 * sigma**2)
    return squares + math.log(sigma * math.sqrt(2 * math.pi))


def _nll_by_distributions(y_hat, y, sigma=1.0):
    noise = torch.distributions.Normal(y_hat, torch.full_like(y_hat, sigma))
    return -noise.log_prob(y).sum(dim=1).mean()


@exercise(
    statement=(
        "gaussian_nll(y_hat, y, sigma=1.0) returns the mean over the mini-batch "
        "of -log N(y^(t); y_hat^(t), sigma^2 I), for outputs and targets of "
        "shape (T_mb, F_N): the negative log-likelihood of Gaussian noise of "
        "spread sigma around the network's outputs, constant included."
    ),
    cases=_nll_cases,
    equation="eq-fnn-gaussian-nll",
    kind="implement",
    section="fnn/losses",
    outputs=("nll",),
    hint=(
        "Each of the F_N outputs of a sample contributes its own log-density, "
        "(y - y_hat)^2 / (2 sigma^2) + log(sigma sqrt(2 pi)); sum over the "
        "outputs, then average over the samples. The variance is sigma "
        "squared."
    ),
    wrong={
        "the constant F_N log(sigma sqrt(2 pi)) left out": _nll_without_constant,
        "sigma where sigma squared belongs": _nll_sigma_not_squared,
        "averaged over the outputs as well as the samples": _nll_mean_over_outputs,
    },
    alternatives=(_nll_by_distributions,),
)
def gaussian_nll(y_hat, y, sigma=1.0):
    return ff.gaussian_nll(y_hat, y, sigma)


# --------------------------------------------------------------------------
# regularization
# --------------------------------------------------------------------------


def _with_zeros(W):
    W = W.clone()
    W.view(-1)[::3] = 0.0  # weights that L1 has already driven to zero
    return W


def _penalty_cases(rng):
    return [
        Case("L2", (randn(rng, 3, 4), randn(rng, 3, 4), 0.1, 0.01, "l2")),
        Case("L1", (randn(rng, 3, 4), randn(rng, 3, 4), 0.1, 0.01, "l1")),
        Case(
            "L1 with weights at exactly zero",
            (_with_zeros(randn(rng, 4, 3)), randn(rng, 4, 3), 0.5, 0.1, "l1"),
        ),
        Case("strong L2", (randn(rng, 2, 5), randn(rng, 2, 5), 0.5, 0.5, "l2")),
    ]


def _penalty_gradient_doubled(W, dW, lr, lam, penalty):
    pull = 2 * lam * W if penalty == "l2" else lam * torch.sign(W)
    return W - lr * (dW + pull)


def _sign_zero_positive(W, dW, lr, lam, penalty):
    sign = torch.where(W >= 0, 1.0, -1.0).to(W.dtype)
    pull = lam * W if penalty == "l2" else lam * sign
    return W - lr * (dW + pull)


def _l1_pulls_like_l2(W, dW, lr, lam, penalty):
    return W - lr * (dW + lam * W)


def _decay_without_lr(W, dW, lr, lam, penalty):
    if penalty == "l2":
        return (1 - lam) * W - lr * dW
    return W - lam * torch.sign(W) - lr * dW


def _decay_then_step(W, dW, lr, lam, penalty):
    if penalty == "l2":
        return (1 - lr * lam) * W - lr * dW  # weight decay, as its name says
    return W - lr * dW - lr * lam * torch.sign(W)


@exercise(
    statement=(
        "penalized_step(W, dW, lr, lam, penalty) returns the weights after one "
        "step of gradient descent with learning rate lr on the data loss, "
        "whose gradient is dW, plus the penalty 'l1' or 'l2' of strength lam, "
        "as the book writes them: lam * sum |W| and (lam / 2) * sum W^2."
    ),
    cases=_penalty_cases,
    equation="eq-fnn-l2",
    kind="implement",
    section="fnn/regularization",
    outputs=("W",),
    hint=(
        "The L2 penalty has a factor 1/2 that its gradient cancels; the L1 "
        "gradient is lam times the sign of the weight, which is 0 where the "
        "weight is 0. The penalty's gradient joins the data's gradient, and "
        "both are scaled by the learning rate."
    ),
    wrong={
        "L2 gradient 2 lam W (the 1/2 forgotten)": _penalty_gradient_doubled,
        "sign(0) taken as +1": _sign_zero_positive,
        "L1 pulls like L2": _l1_pulls_like_l2,
        "penalty not scaled by the learning rate": _decay_without_lr,
    },
    alternatives=(_decay_then_step,),
)
def penalized_step(W, dW, lr, lam, penalty):
    forward, backward = {
        "l1": (ff.l1_penalty_forward, ff.l1_penalty_backward),
        "l2": (ff.l2_penalty_forward, ff.l2_penalty_backward),
    }[penalty]
    _, cache = forward([W], lam)
    (pull,) = backward(cache)
    return W - lr * (dW + pull)


def _dropout_cases(rng):
    def mask(*shape, p):
        return torch.rand(*shape, generator=rng) >= p

    return [
        Case("p = 0.5", (randn(rng, 4, 6), mask(4, 6, p=0.5), 0.5)),
        Case("p = 0.2", (randn(rng, 3, 5), mask(3, 5, p=0.2), 0.2)),
        Case(
            "p = 0: nothing dropped, nothing scaled",
            (randn(rng, 2, 3), torch.ones(2, 3, dtype=torch.bool), 0.0),
        ),
        Case("p = 0.9", (randn(rng, 2, 8), mask(2, 8, p=0.9), 0.9)),
    ]


def _dropout_divided_by_p(h, keep, p):
    return h * keep / p if p > 0 else h


def _dropout_times_keep_rate(h, keep, p):
    return h * keep * (1 - p)


def _dropout_not_rescaled(h, keep, p):
    return h * keep


def _dropout_mask_inverted(h, keep, p):
    return h * ~keep / (1 - p)


def _dropout_by_where(h, keep, p):
    return torch.where(keep, h / (1 - p), torch.zeros_like(h))


@exercise(
    statement=(
        "inverted_dropout(h, keep, p) returns the output of inverted dropout "
        "in training mode for activations h, a boolean mask keep of h's shape "
        "(True keeps the unit) and the drop probability p in [0, 1)."
    ),
    cases=_dropout_cases,
    equation="eq-fnn-dropout",
    kind="implement",
    section="fnn/regularization",
    outputs=("out",),
    hint=(
        "A unit survives with probability 1 - p; rescale the survivors so "
        "that the expected output equals h, and evaluation mode needs no "
        "change at all."
    ),
    wrong={
        "divided by p instead of 1 - p": _dropout_divided_by_p,
        "multiplied by 1 - p (the test-time rule)": _dropout_times_keep_rate,
        "survivors not rescaled": _dropout_not_rescaled,
        "mask inverted (True drops)": _dropout_mask_inverted,
    },
    alternatives=(_dropout_by_where,),
)
def inverted_dropout(h, keep, p):
    return ff.dropout_forward(h, p, keep=keep)[0]


# --------------------------------------------------------------------------
# backpropagation
# --------------------------------------------------------------------------


def _linear_backward_cases(rng):
    return [
        Case(
            "a mini-batch of 4",
            (randn(rng, 4, 3), randn(rng, 4, 5), randn(rng, 3, 5)),
        ),
        Case(
            "one sample",
            (randn(rng, 1, 2), randn(rng, 1, 3), randn(rng, 2, 3)),
        ),
        Case(
            "one output neuron",
            (randn(rng, 6, 1), randn(rng, 6, 4), randn(rng, 1, 4)),
        ),
        Case(
            "a square layer",
            (randn(rng, 3, 3), randn(rng, 3, 3), randn(rng, 3, 3)),
        ),
    ]


def _dh_weight_transposed(delta, h, W):
    return delta @ W.T, delta.T @ h, delta.sum(dim=0)


def _dW_transposed(delta, h, W):
    return delta @ W, h.T @ delta, delta.sum(dim=0)


def _db_averaged(delta, h, W):
    return delta @ W, delta.T @ h, delta.mean(dim=0)


def _averaged_again(delta, h, W):
    T_mb = len(h)
    return delta @ W, delta.T @ h / T_mb, delta.sum(dim=0) / T_mb


def _linear_backward_by_loops(delta, h, W):
    dh = torch.zeros_like(h)
    dW = torch.zeros_like(W)
    for t in range(len(h)):
        dh[t] = W.T @ delta[t]
        dW += torch.outer(delta[t], h[t])
    return dh, dW, delta.sum(dim=0)


@exercise(
    statement=(
        "linear_backward(delta, h, W) returns (dh, dW, db), the gradients of "
        "the loss with respect to the input h (T_mb, F_in), the weights W "
        "(F_out, F_in) and the bias of the weighted sum a = h W^T + b, given "
        "delta = dJ/da of shape (T_mb, F_out)."
    ),
    cases=_linear_backward_cases,
    equation="eq-fnn-backprop",
    kind="implement",
    section="fnn/backpropagation",
    outputs=("dh", "dW", "db"),
    hint=(
        "Every gradient has the shape of what it differentiates: dh like h, "
        "dW like W. The bias is added to every sample, so its gradient sums "
        "over the samples; delta already holds the 1/T_mb of the loss."
    ),
    wrong={
        "W transposed in dh": _dh_weight_transposed,
        "dW transposed (h^T delta)": _dW_transposed,
        "db averaged instead of summed": _db_averaged,
        "1/T_mb applied a second time": _averaged_again,
    },
    alternatives=(_linear_backward_by_loops,),
)
def linear_backward(delta, h, W):
    _, cache = ff.linear_forward(h, W, torch.zeros(W.shape[0], dtype=W.dtype))
    return ff.linear_backward(delta, cache)


def _mlp_cases(rng):
    def integers(*rows):
        return torch.tensor(rows, dtype=F64)

    return [
        Case(
            "a mini-batch of 6, widths 4-5-3",
            (
                randn(rng, 6, 4),
                _labels(rng, 6, 3),
                randn(rng, 5, 4),
                randn(rng, 5),
                randn(rng, 3, 5),
                randn(rng, 3),
            ),
        ),
        Case(
            "weighted sums of exactly 0 in the hidden layer",
            (
                integers([1, -1], [2, 0], [0, 1]),
                torch.tensor([0, 1, 1]),
                integers([1, 1], [0, 1], [1, -1]),
                torch.zeros(3, dtype=F64),
                randn(rng, 2, 3),
                randn(rng, 2),
            ),
        ),
        Case(
            "square weights, widths 3-3-3",
            (
                randn(rng, 4, 3),
                _labels(rng, 4, 3),
                randn(rng, 3, 3),
                randn(rng, 3),
                randn(rng, 3, 3),
                randn(rng, 3),
            ),
        ),
        Case(
            "one sample",
            (
                randn(rng, 1, 3),
                _labels(rng, 1, 2),
                randn(rng, 4, 3),
                randn(rng, 4),
                randn(rng, 2, 4),
                randn(rng, 2),
            ),
        ),
    ]


def _two_layers_by_hand(
    x, y, W1, b1, W2, b2, *, relu_at_0=0.0, mean=True, back=None, g_prime=True
):
    """Backpropagation written out, with switches for the usual mistakes."""
    a1 = x @ W1.T + b1
    h1 = a1.clamp(min=0)
    a2 = h1 @ W2.T + b2
    delta2 = torch.softmax(a2, dim=1)
    delta2[torch.arange(len(y)), y] -= 1
    if mean:
        delta2 = delta2 / len(y)
    dh1 = delta2 @ W2 if back is None else back(delta2, W2)
    slope = torch.where(a1 > 0, 1.0, torch.where(a1 == 0, relu_at_0, 0.0))
    delta1 = dh1 * slope if g_prime else dh1
    return delta1.T @ x, delta1.sum(dim=0), delta2.T @ h1, delta2.sum(dim=0)


def _relu_slope_1_at_0(x, y, W1, b1, W2, b2):
    return _two_layers_by_hand(x, y, W1, b1, W2, b2, relu_at_0=1.0)


def _mlp_missing_mean(x, y, W1, b1, W2, b2):
    return _two_layers_by_hand(x, y, W1, b1, W2, b2, mean=False)


def _mlp_weight_transposed(x, y, W1, b1, W2, b2):
    def back(delta2, W2):
        return delta2 @ W2.T

    return _two_layers_by_hand(x, y, W1, b1, W2, b2, back=back)


def _mlp_g_prime_forgotten(x, y, W1, b1, W2, b2):
    return _two_layers_by_hand(x, y, W1, b1, W2, b2, g_prime=False)


def _mlp_by_autograd(x, y, W1, b1, W2, b2):
    params = [p.clone().requires_grad_() for p in (W1, b1, W2, b2)]
    W1, b1, W2, b2 = params
    logits = torch.relu(x @ W1.T + b1) @ W2.T + b2
    F.cross_entropy(logits, y).backward()
    return tuple(p.grad for p in params)


@exercise(
    statement=(
        "mlp_backward(x, y, W1, b1, W2, b2) returns (dW1, db1, dW2, db2), the "
        "gradients of the mean softmax cross-entropy loss of the network "
        "x -> ReLU(x W1^T + b1) -> logits with weights W2 and bias b2, for "
        "samples x (T_mb, F_0) and integer labels y (T_mb,)."
    ),
    cases=_mlp_cases,
    equation="eq-fnn-backprop",
    kind="implement",
    section="fnn/backpropagation",
    outputs=("dW1", "db1", "dW2", "db2"),
    hint=(
        "Start from the output error term (it has a 1/T_mb), send it back "
        "through W2 with the same product as the forward pass transposed, and "
        "multiply by the ReLU's derivative, which is 0 where the weighted sum "
        "is exactly 0, as torch takes it."
    ),
    wrong={
        "ReLU's derivative taken as 1 at a = 0": _relu_slope_1_at_0,
        "missing 1/T_mb in the output error": _mlp_missing_mean,
        "W2 transposed on the way back": _mlp_weight_transposed,
        "g' forgotten in the hidden layer": _mlp_g_prime_forgotten,
    },
    alternatives=(_mlp_by_autograd,),
)
def mlp_backward(x, y, W1, b1, W2, b2):
    net = ff.MLP(
        [W1.shape[1], W1.shape[0], W2.shape[0]],
        init="zeros",
        generator=_seeded(0),
        dtype=x.dtype,
    )
    for layer, W, b in zip(net.layers, (W1, W2), (b1, b2), strict=True):
        layer["W"], layer["b"] = W.clone(), b.clone()
    _, cache = ff.softmax_cross_entropy_forward(net.forward(x), y)
    net.backward(ff.softmax_cross_entropy_backward(cache), input_grad=False)
    first, second = net.layers
    return first["W"].grad, first["b"].grad, second["W"].grad, second["b"].grad


# --------------------------------------------------------------------------
# samples per update
# --------------------------------------------------------------------------


def _steps_cases(rng):
    return [
        Case("the digits of the training section", (1347, 64, 40)),
        Case("the batch size divides the data", (1024, 32, 2)),
        Case("MNIST-5k, mini-batches of 32", (5000, 32, 10)),
        Case("full batch", (5000, 5000, 150)),
        Case("a batch larger than the data set", (100, 128, 5)),
        Case("stochastic: one sample per step", (60, 1, 2)),
    ]


def _steps_ceil(n_samples, batch_size, epochs):
    return epochs * math.ceil(n_samples / batch_size)


def _steps_floor_only(n_samples, batch_size, epochs):
    return epochs * (n_samples // batch_size)


def _steps_plus_one(n_samples, batch_size, epochs):
    return epochs * (n_samples // batch_size + 1)


def _steps_by_cases(n_samples, batch_size, epochs):
    if n_samples <= batch_size:
        return epochs  # one batch, which is all there is: it is kept
    return epochs * (n_samples // batch_size)


@exercise(
    statement=(
        "steps(n_samples, batch_size, epochs) returns the number of gradient "
        "steps that nnbook.train.fit takes on n_samples training samples with "
        "mini-batches of batch_size for the given number of epochs, with its "
        "default drop_last=True."
    ),
    cases=_steps_cases,
    kind="derive",
    section="fnn/samples_per_update",
    outputs=("steps",),
    hint=(
        "fit drops the last batch of an epoch when it is smaller than the "
        "others: round the number of batches down, not up. What happens when "
        "batch_size exceeds n_samples? Read nnbook.train.batches."
    ),
    wrong={
        "rounded up (the last small batch kept)": _steps_ceil,
        "no step at all when the batch exceeds the data": _steps_floor_only,
        "one batch too many when batch_size divides n": _steps_plus_one,
    },
    alternatives=(_steps_by_cases,),
)
def steps(n_samples, batch_size, epochs):
    chunks = batches(
        n_samples, batch_size, generator=_seeded(0), drop_last=True
    )
    return epochs * len(chunks)


def _noise_cases(rng):
    centres = randn(rng, 3, 8)
    X, y = _blobs(rng, 96, centres)
    X100, y100 = _blobs(rng, 100, centres)
    return [
        Case("mini-batches of 4", (X, y, 4, 0)),
        Case("mini-batches of 16", (X, y, 16, 1)),
        Case("the full batch", (X, y, 96, 2)),
        Case("a last batch of 4 after six of 16", (X100, y100, 16, 3)),
        Case("single samples", (X[:24], y[:24], 1, 4)),
    ]


def _first_layer_gradient(net, X, y, reduction="mean"):
    _, cache = ff.softmax_cross_entropy_forward(net.forward(X), y)
    delta = ff.softmax_cross_entropy_backward(cache)
    if reduction == "sum":
        delta = delta * len(y)  # the gradient of the summed loss
    net.backward(delta, input_grad=False)
    return net.layers[0]["W"].grad


def _noise_setup(X, y, seed):
    g = _seeded(seed)
    net = ff.MLP([X.shape[1], 16, int(y.max()) + 1], generator=g, dtype=F64)
    return net, g


def _noise_of_summed_losses(X, y, batch_size, seed):
    net, g = _noise_setup(X, y, seed)
    G = _first_layer_gradient(net, X, y, "sum")
    deviations = [
        ((_first_layer_gradient(net, X[i], y[i], "sum") - G) ** 2).sum()
        for i in batches(len(X), batch_size, generator=g)
    ]
    return torch.stack(deviations).mean().item()


def _noise_around_zero(X, y, batch_size, seed):
    net, g = _noise_setup(X, y, seed)
    deviations = [
        (_first_layer_gradient(net, X[i], y[i]) ** 2).sum()
        for i in batches(len(X), batch_size, generator=g)
    ]
    return torch.stack(deviations).mean().item()


def _full_gradient_as_mean_of_batches(X, y, batch_size, seed):
    net, g = _noise_setup(X, y, seed)
    grads = [
        _first_layer_gradient(net, X[i], y[i])
        for i in batches(len(X), batch_size, generator=g)
    ]
    G = torch.stack(grads).mean(dim=0)
    return torch.stack([((G_k - G) ** 2).sum() for G_k in grads]).mean().item()


def _noise_by_autograd(X, y, batch_size, seed):
    net, g = _noise_setup(X, y, seed)
    model = net.to_torch()
    W = model[0].weight

    def gradient(x, labels):
        W.grad = None
        F.cross_entropy(model(x), labels).backward()
        return W.grad.clone()

    G = gradient(X, y)
    total, count = 0.0, 0
    for i in batches(len(X), batch_size, generator=g):
        total += ((gradient(X[i], y[i]) - G) ** 2).sum().item()
        count += 1
    return total / count


@exercise(
    statement=(
        "gradient_noise(X, y, batch_size, seed) measures how far mini-batch "
        "gradients stray from the full gradient: with g = "
        "nnbook.generator(seed), build MLP([F_0, 16, C], generator=g, "
        "dtype=torch.float64), C = y.max() + 1; compute the gradient G of the "
        "mean cross-entropy on all of X with respect to the first layer's "
        "weights, then the same gradient G_k on each mini-batch of "
        "nnbook.train.batches(len(X), batch_size, generator=g); return the "
        "mean over the batches of the squared Frobenius norm of G_k - G. "
        "Compared to a relative 1e-6."
    ),
    cases=_noise_cases,
    kind="experiment",
    section="fnn/samples_per_update",
    outputs=("noise",),
    hint=(
        "Each gradient is that of a mean loss, over the batch or over all of "
        "X, so both estimate the same quantity. The full gradient comes from "
        "all the samples at once, not from averaging the batch gradients: the "
        "last batch may be smaller than the others."
    ),
    wrong={
        "summed losses instead of means": _noise_of_summed_losses,
        "size of the batch gradients, not their deviation": (
            _noise_around_zero
        ),
        "full gradient taken as the mean of the batch gradients": (
            _full_gradient_as_mean_of_batches
        ),
    },
    alternatives=(_noise_by_autograd,),
    atol=1e-12,
)
def gradient_noise(X, y, batch_size, seed):
    net, g = _noise_setup(X, y, seed)
    G = _first_layer_gradient(net, X, y).clone()
    deviations = [
        ((_first_layer_gradient(net, X[idx], y[idx]) - G) ** 2).sum().item()
        for idx in batches(len(X), batch_size, generator=g)
    ]
    return sum(deviations) / len(deviations)


# --------------------------------------------------------------------------
# initialization
# --------------------------------------------------------------------------


def _he_cases(rng):
    return [
        Case(
            "the first layer of the MNIST network",
            (),
            {"F_in": 784, "F_out": 256},
        ),
        Case("a square layer", (), {"F_in": 256, "F_out": 256}),
        Case("a narrow output layer", (), {"F_in": 64, "F_out": 10}),
        Case("a wide layer", (), {"F_in": 10, "F_out": 1000}),
        Case("a single input", (), {"F_in": 1, "F_out": 5}),
    ]


def _he_fan_out(F_in, F_out):
    return math.sqrt(2 / F_out)


def _he_variance(F_in, F_out):
    return 2 / F_in


def _he_like_glorot(F_in, F_out):
    return math.sqrt(2 / (F_in + F_out))


def _he_without_relu_factor(F_in, F_out):
    return math.sqrt(1 / F_in)


def _he_uniform_bound(F_in, F_out):
    return math.sqrt(6 / F_in)


def _he_from_the_variance(F_in, F_out):
    variance = 2.0 / F_in  # F_in Var(Theta) E[h^2] = Var(a), E[h^2] = Var(a)/2
    return variance**0.5


@exercise(
    statement=(
        "he_std(F_in, F_out) returns the standard deviation of the weights "
        "that He initialization draws for a layer with F_in inputs and F_out "
        "neurons, the value that keeps the spread of a ReLU network's "
        "weighted sums the same from layer to layer."
    ),
    cases=_he_cases,
    equation="eq-fnn-init",
    kind="derive",
    section="fnn/initialization",
    outputs=("std",),
    hint=(
        "The variance of a weighted sum adds up one term per input, so it is "
        "the width that the forward pass sums over that counts; a ReLU keeps "
        "half of the second moment of its input. The exercise asks for a "
        "standard deviation, not a variance."
    ),
    wrong={
        "fan_out instead of fan_in": _he_fan_out,
        "the variance instead of the standard deviation": _he_variance,
        "Glorot's scaling": _he_like_glorot,
        "the ReLU's factor 2 forgotten": _he_without_relu_factor,
        "the bound of the uniform version": _he_uniform_bound,
    },
    alternatives=(_he_from_the_variance,),
)
def he_std(F_in, F_out):
    return ff.init_std("he_normal", F_out, F_in)


def _stds_cases(rng):
    small = {"depth": 6, "width": 64, "T_mb": 128}
    return [
        Case("ReLU with He", ("relu", "he_normal"), {**small, "seed": 0}),
        Case(
            "ReLU with Glorot", ("relu", "glorot_normal"), {**small, "seed": 1}
        ),
        Case(
            "tanh with Glorot", ("tanh", "glorot_normal"), {**small, "seed": 2}
        ),
        Case(
            "sigmoid with Glorot, narrow",
            ("sigmoid", "glorot_normal"),
            {"depth": 4, "width": 32, "T_mb": 64, "seed": 3},
        ),
    ]


def _draw(activation, scheme, depth, width, T_mb, seed):
    g = _seeded(seed)
    weights = [
        ff.init_weight(width, width, scheme, generator=g, dtype=F64)
        for _ in range(depth)
    ]
    x = torch.randn(T_mb, width, generator=g, dtype=F64)
    return weights, x, ff.ACTIVATIONS[activation][0]


def _stds_of_sums(activation, scheme, depth=10, width=256, T_mb=512, seed=0):
    weights, h, forward = _draw(activation, scheme, depth, width, T_mb, seed)
    out = []
    for W in weights:
        a = h @ W.T
        out.append(a.std().item())
        h = forward(a)[0]
    return out


def _stds_same_input(activation, scheme, depth=10, width=256, T_mb=512, seed=0):
    weights, x, forward = _draw(activation, scheme, depth, width, T_mb, seed)
    return [forward(x @ W.T)[0].std().item() for W in weights]


def _variances(activation, scheme, depth=10, width=256, T_mb=512, seed=0):
    weights, h, forward = _draw(activation, scheme, depth, width, T_mb, seed)
    out = []
    for W in weights:
        h = forward(h @ W.T)[0]
        out.append(h.var().item())
    return out


def _stds_by_torch(activation, scheme, depth=10, width=256, T_mb=512, seed=0):
    weights, h, _ = _draw(activation, scheme, depth, width, T_mb, seed)
    g = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    out = []
    for W in weights:
        h = g[activation](F.linear(h, W))
        n = h.numel()
        mean = h.sum() / n
        out.append(math.sqrt(((h - mean) ** 2).sum().item() / (n - 1)))
    return out


@exercise(
    statement=(
        "activation_stds(activation, scheme, depth, width, T_mb, seed) "
        "measures the forward pass of the initialization section: with "
        "g = nnbook.generator(seed), draw depth bias-free "
        "(width, width) layers with init_weight(..., scheme, generator=g, "
        "dtype=torch.float64), then a standard normal input (T_mb, width) "
        "from g, and return the list of the standard deviations (torch's "
        "std) of each layer's activations. Compared to a relative 1e-6."
    ),
    cases=_stds_cases,
    equation="eq-fnn-init",
    kind="experiment",
    section="fnn/initialization",
    outputs=("stds",),
    hint=(
        "Draw in the order given: all the weights first, then the input. Each "
        "layer feeds the next its activations g(a), and the spread asked for "
        "is that of the activations, not of the weighted sums."
    ),
    wrong={
        "spread of the weighted sums instead of the activations": (
            _stds_of_sums
        ),
        "every layer fed the input instead of the previous layer": (
            _stds_same_input
        ),
        "variances instead of standard deviations": _variances,
    },
    alternatives=(_stds_by_torch,),
)
def activation_stds(activation, scheme, depth=10, width=256, T_mb=512, seed=0):
    weights, h, forward = _draw(activation, scheme, depth, width, T_mb, seed)
    stds = []
    for W in weights:
        h = forward(ff.linear(h, W))[0]
        stds.append(h.std().item())
    return stds


# --------------------------------------------------------------------------
# clipping
# --------------------------------------------------------------------------


def _clip_cases(rng):
    big = (10 * randn(rng, 3, 4), 10 * randn(rng, 3))
    return [
        Case("a joint norm far above max_norm", (*big, 1.0)),
        Case("a joint norm below max_norm: nothing changes", (*big, 1e3)),
        Case(
            "the bias alone is large",
            (0.01 * randn(rng, 2, 5), 50 * randn(rng, 2), 2.0),
        ),
        Case(
            "zero gradients stay zero",
            (torch.zeros(2, 3, dtype=F64), torch.zeros(2, dtype=F64), 1.0),
        ),
    ]


def _each_tensor_alone(dW, db, max_norm):
    return tuple(
        g * min(1.0, max_norm / (g.norm().item() + 1e-6)) for g in (dW, db)
    )


def _clamped_values(dW, db, max_norm):
    return dW.clamp(-max_norm, max_norm), db.clamp(-max_norm, max_norm)


def _always_rescaled(dW, db, max_norm):
    norm = torch.sqrt(dW.pow(2).sum() + db.pow(2).sum())
    return dW * max_norm / (norm + 1e-6), db * max_norm / (norm + 1e-6)


def _clip_by_torch(dW, db, max_norm):
    params = [torch.nn.Parameter(dW.clone()), torch.nn.Parameter(db.clone())]
    for p, g in zip(params, (dW, db), strict=True):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    return params[0].grad, params[1].grad


@exercise(
    statement=(
        "clip_by_norm(dW, db, max_norm) returns the gradients (dW, db) of one "
        "layer clipped by their joint norm: both multiplied by the same factor "
        "min(1, max_norm / (norm + 1e-6)), where norm is the L2 norm of all "
        "their entries together (the 1e-6 is torch's; it avoids a division "
        "by zero)."
    ),
    cases=_clip_cases,
    equation="eq-fnn-clip-norm",
    kind="implement",
    section="fnn/clipping",
    outputs=("dW", "db"),
    hint=(
        "One norm for the whole layer, the square root of the sum of the "
        "squares of every entry of dW and db, and one factor for both. A "
        "gradient that is already short enough passes unchanged, and the "
        "direction of the step never changes."
    ),
    wrong={
        "each tensor clipped by its own norm": _each_tensor_alone,
        "every entry clamped to [-max_norm, max_norm]": _clamped_values,
        "rescaled to max_norm even when shorter": _always_rescaled,
    },
    alternatives=(_clip_by_torch,),
)
def clip_by_norm(dW, db, max_norm):
    clipped, _ = ff.clip_by_norm([dW, db], max_norm)
    return tuple(clipped)


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------


def _blobs(rng, n, centres):
    y = torch.randint(0, len(centres), (n,), generator=rng)
    return centres[y] + randn(rng, n, centres.shape[1]), y


def _accuracy_cases(rng):
    centres = randn(rng, 3, 8)
    X, y = _blobs(rng, 200, centres)
    X_test, y_test = _blobs(rng, 150, centres)
    data = (X, y, X_test, y_test)
    return [
        Case("dropout 0.5", data, {"dropout": 0.5, "seed": 0}),
        Case("no dropout", data, {"dropout": 0.0, "seed": 1}),
        Case("dropout 0.2", data, {"dropout": 0.2, "seed": 2}),
    ]


def _trained(X, y, dropout, seed, drop_last=True):
    g = _seeded(seed)
    net = ff.MLP(
        [X.shape[1], 32, int(y.max()) + 1],
        dropout=dropout,
        generator=g,
        dtype=F64,
    )
    fit(
        net,
        X,
        y,
        epochs=3,
        lr=0.1,
        batch_size=32,
        generator=g,
        drop_last=drop_last,
        progress=False,
    )
    return net


def _accuracy_in_training_mode(X, y, X_test, y_test, dropout, seed):
    net = _trained(X, y, dropout, seed)
    return accuracy(net.forward(X_test), y_test)


def _accuracy_on_training_data(X, y, X_test, y_test, dropout, seed):
    net = _trained(X, y, dropout, seed)
    return accuracy(predict(net, X), y)


def _last_batch_kept(X, y, X_test, y_test, dropout, seed):
    net = _trained(X, y, dropout, seed, drop_last=False)
    return accuracy(predict(net, X_test), y_test)


def _accuracy_by_hand(X, y, X_test, y_test, dropout, seed):
    net = _trained(X, y, dropout, seed)
    logits = net.forward(X_test, training=False)
    return (logits.argmax(dim=1) == y_test).sum().item() / len(y_test)


@exercise(
    statement=(
        "trained_accuracy(X, y, X_test, y_test, dropout, seed) trains "
        "MLP([F_0, 32, C], dropout=dropout, generator=g, dtype=torch.float64), "
        "g = nnbook.generator(seed) and C = y.max() + 1, with "
        "nnbook.train.fit(net, X, y, epochs=3, lr=0.1, batch_size=32, "
        "generator=g) and returns the fraction of the test samples that the "
        "trained network classifies correctly. Compared to 1e-9."
    ),
    cases=_accuracy_cases,
    kind="experiment",
    section="fnn/training",
    outputs=("accuracy",),
    hint=(
        "Measure on the test data, and with the network the way it is used "
        "after training: in evaluation mode, where dropout is switched off "
        "(nnbook.train.predict does that). Keep fit's defaults."
    ),
    wrong={
        "evaluated in training mode (dropout still on)": (
            _accuracy_in_training_mode
        ),
        "measured on the training data": _accuracy_on_training_data,
        "the last, smaller batch kept": _last_batch_kept,
    },
    alternatives=(_accuracy_by_hand,),
    atol=1e-9,
)
def trained_accuracy(X, y, X_test, y_test, dropout, seed):
    net = _trained(X, y, dropout, seed)
    return accuracy(predict(net, X_test), y_test)


# --------------------------------------------------------------------------
# regularization that pays off
# --------------------------------------------------------------------------


def _choice_cases(rng):
    from nnbook.data import noisy_sine

    cases = []
    choices = {
        0: (0.0, 1e-3, 1e-2, 1e-1),
        3: (0.0, 3e-3, 3e-2),
        2: (1e-3, 3e-2),
    }
    for k, strengths in choices.items():
        x, y = noisy_sine(12, grid=True, seed=100 + k)
        x_val, y_val = noisy_sine(60, seed=200 + k)
        cases.append(
            Case(
                f"strengths {', '.join(f'{v:g}' for v in strengths)}",
                (x, y, x_val, y_val, list(strengths)),
                {"seed": k},
            )
        )
    return cases


def _l1_fitted(x, y, strength, seed, steps=300):
    from nnbook.optim import Adam

    net = ff.MLP(
        [1, 16, 16, 1],
        activation="tanh",
        init="glorot_normal",
        generator=_seeded(seed),
        dtype=F64,
    )
    optimizer = Adam(net.parameters(), lr=0.03)
    fit(net, x, y, epochs=steps, batch_size=len(x), loss=F.mse_loss,
        optimizer=optimizer, l1=strength, progress=False)  # fmt: skip
    return net


def _errors(x, y, x_val, y_val, strengths, seed, on_training=False):
    errors = []
    for strength in strengths:
        net = _l1_fitted(x, y, strength, seed)
        X, Y = (x, y) if on_training else (x_val, y_val)
        errors.append(F.mse_loss(predict(net, X), Y).item())
    return errors


def _chosen_on_training(x, y, x_val, y_val, strengths, seed):
    errors = _errors(x, y, x_val, y_val, strengths, seed, on_training=True)
    return strengths[errors.index(min(errors))]


def _largest_error_chosen(x, y, x_val, y_val, strengths, seed):
    errors = _errors(x, y, x_val, y_val, strengths, seed)
    return strengths[errors.index(max(errors))]


def _dropout_mode_kept(x, y, x_val, y_val, strengths, seed):
    errors = []
    for strength in strengths:
        net = _l1_fitted(x, y, strength, seed)
        errors.append(F.mse_loss(net.forward(x_val), y_val).item())
    return strengths[errors.index(min(errors))]


@exercise(
    statement=(
        "validation_choice(x, y, x_val, y_val, strengths, seed) trains, for "
        "every L1 strength lam in strengths, MLP([1, 16, 16, 1], "
        "activation='tanh', init='glorot_normal', dtype=torch.float64) with "
        "generator nnbook.generator(seed), by nnbook.train.fit(net, x, y, "
        "epochs=300, batch_size=len(x), l1=lam), with the loss "
        "torch.nn.functional.mse_loss and an nnbook.optim.Adam optimizer of "
        "rate 0.03 over net.parameters(), and returns the strength whose network "
        "has the lowest mean squared error on (x_val, y_val) (the first such, in "
        "a tie). Compared to 1e-12."
    ),
    cases=_choice_cases,
    kind="experiment",
    section="fnn/generalization",
    outputs=("strength",),
    hint=(
        "A fresh generator, and so the same initial weights, for every "
        "strength; the error measured on the validation data, with "
        "nnbook.train.predict."
    ),
    wrong={
        "chosen on the training error": _chosen_on_training,
        "the largest validation error chosen": _largest_error_chosen,
    },
    alternatives=(_dropout_mode_kept,),
    atol=1e-12,
)
def validation_choice(x, y, x_val, y_val, strengths, seed):
    errors = _errors(x, y, x_val, y_val, strengths, seed)
    return strengths[errors.index(min(errors))]


# --------------------------------------------------------------------------
# depth
# --------------------------------------------------------------------------


def _polyline_cases(rng):
    knots = torch.sort(rand(rng, 6) * 4 - 2).values
    values = randn(rng, 6)
    grid = torch.linspace(-1, 1, 5, dtype=F64)
    inside = knots[0] + (knots[-1] - knots[0]) * rand(rng, 40)
    return [
        Case("a random polyline, inside its knots", (inside, knots, values)),
        Case("at the knots themselves", (knots.clone(), knots, values)),
        Case(
            "a single segment",
            (
                rand(rng, 7),
                torch.tensor([0.0, 1.0], dtype=F64),
                torch.tensor([2.0, -1.0], dtype=F64),
            ),
        ),  # fmt: skip
        Case("|x| on a grid", (2 * rand(rng, 9) - 1, grid, grid.abs())),
    ]


def _slopes(knots_x, knots_y):
    return (knots_y[1:] - knots_y[:-1]) / (knots_x[1:] - knots_x[:-1])


def _slopes_not_differenced(x, knots_x, knots_y):
    s = _slopes(knots_x, knots_y)
    relu = torch.relu(x[:, None] - knots_x[None, :-1])
    return knots_y[0] + relu @ s


def _first_slope_dropped(x, knots_x, knots_y):
    s = _slopes(knots_x, knots_y)
    change = s[1:] - s[:-1]
    relu = torch.relu(x[:, None] - knots_x[None, 1:-1])
    return knots_y[0] + relu @ change


def _polyline_by_interp(x, knots_x, knots_y):
    import numpy as np

    return torch.from_numpy(
        np.interp(x.numpy(), knots_x.numpy(), knots_y.numpy())
    )


@exercise(
    statement=(
        "polyline(x, knots_x, knots_y) evaluates, at every entry of the 1-D "
        "tensor x (inside [knots_x[0], knots_x[-1]]), the one-hidden-layer ReLU "
        "network that follows the polyline through the knots: y_0 plus, for every knot i but the last, "
        "(s_i - s_{i-1}) max(0, x - x_i), with s_i the slope of segment i and "
        "s_{-1} = 0."
    ),
    cases=_polyline_cases,
    equation="eq-fnn-interpolant",
    kind="implement",
    section="fnn/depth",
    outputs=("y",),
    hint=(
        "The first neuron switches on at x_0 with the slope of the first "
        "segment; every later one changes the slope by the difference between "
        "its segment and the one before. torch.relu(x[:, None] - knots_x[:-1]) "
        "gives every neuron at every input."
    ),
    wrong={
        "the slopes added, not their changes": _slopes_not_differenced,
        "the first segment's neuron left out": _first_slope_dropped,
    },
    alternatives=(_polyline_by_interp,),
)
def polyline(x, knots_x, knots_y):
    net = ff.interpolant(knots_x, knots_y)
    return net.forward(x[:, None], training=False)[:, 0]
