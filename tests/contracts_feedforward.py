"""Samples and references for the contracts of nnbook.fnn."""

import torch
import torch.nn.functional as F
from helpers import cache_only, from_forward, randn

from nnbook import fnn as ff

A = randn(4, 3, seed=1)


def _mlp_forward():
    from nnbook.fnn._mlp import MLP

    return (MLP([3, 4, 2], dtype=torch.float64), randn(5, 3)), {}


def _big_grads():
    return [5 * randn(3, 4, seed=11), 5 * randn(3, seed=12)]


def _torch_clipped(clip):
    def reference(grads, *args):
        params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        clip(params, *args)
        return [p.grad for p in params]  # the first output: the clipped gradients

    return reference


SAMPLES = {
    "nnbook.fnn.clip_by_norm": lambda: ((_big_grads(), 1.0), {}),
    "nnbook.fnn.clip_by_value": lambda: ((_big_grads(), 2.0), {}),
    "nnbook.fnn.MLP.__init__": lambda: (([4, 3, 2],), {"dtype": torch.float64}),
    "nnbook.fnn.MLP.forward": _mlp_forward,
    "nnbook.fnn.sigmoid_backward": from_forward(ff.sigmoid_forward, A),
    "nnbook.fnn.tanh_backward": from_forward(ff.tanh_forward, A),
    "nnbook.fnn.relu_backward": from_forward(ff.relu_forward, A),
    "nnbook.fnn.leaky_relu_backward": from_forward(ff.leaky_relu_forward, A),
    "nnbook.fnn.elu_backward": from_forward(ff.elu_forward, A),
    "nnbook.fnn.linear_backward": from_forward(
        ff.linear_forward, A, randn(2, 3, seed=2), randn(2, seed=3)
    ),
    "nnbook.fnn.dropout_backward": from_forward(
        ff.dropout_forward, A, 0.5, generator=torch.Generator().manual_seed(0)
    ),
    "nnbook.fnn.batch_norm_backward": from_forward(
        ff.batch_norm_forward, A, torch.ones(3, dtype=A.dtype), randn(3)
    ),
    "nnbook.fnn.mse_backward": cache_only(ff.mse_forward, A, randn(4, 3, seed=2)),
    "nnbook.fnn.softmax_cross_entropy_backward": cache_only(
        ff.softmax_cross_entropy_forward, A, torch.tensor([0, 2, 1, 2])
    ),
    "nnbook.fnn.l2_penalty_backward": cache_only(ff.l2_penalty_forward, [A], 0.1),
    "nnbook.fnn.l1_penalty_backward": cache_only(ff.l1_penalty_forward, [A], 0.1),
    "nnbook.fnn.init_std": lambda: (("he_normal", 3, 4), {}),
    "nnbook.fnn.init_weight": lambda: ((3, 4), {}),
}


#: The reference each function is compared with, given the same call.
def _torch_neg_log_prior(weights, scale, kind="gaussian"):
    law = torch.distributions.Normal if kind == "gaussian" else torch.distributions.Laplace
    W = torch.cat([w.flatten() for w in weights])
    prior = law(torch.zeros((), dtype=W.dtype), torch.tensor(scale, dtype=W.dtype))
    return -prior.log_prob(W).sum()


REFERENCES = {
    "nnbook.fnn.gaussian_nll": lambda y_hat, y, sigma=1.0: (
        F.gaussian_nll_loss(y_hat, y, torch.full_like(y, sigma**2), full=True) * y.shape[1]
    ),
    "nnbook.fnn.neg_log_prior": _torch_neg_log_prior,
    "nnbook.fnn.clip_by_norm": _torch_clipped(torch.nn.utils.clip_grad_norm_),
    "nnbook.fnn.clip_by_value": _torch_clipped(torch.nn.utils.clip_grad_value_),
    "nnbook.fnn.l1_proximal_step": lambda W, lr, lam: F.softshrink(W, lr * lam),
    "nnbook.fnn.sigmoid_forward": torch.sigmoid,
    "nnbook.fnn.tanh_forward": torch.tanh,
    "nnbook.fnn.relu_forward": torch.relu,
    "nnbook.fnn.leaky_relu_forward": F.leaky_relu,
    "nnbook.fnn.elu_forward": F.elu,
    "nnbook.fnn.linear_forward": F.linear,
    "nnbook.fnn.logsumexp": torch.logsumexp,
    "nnbook.fnn.softmax": torch.softmax,
    "nnbook.fnn.log_softmax": torch.log_softmax,
    "nnbook.fnn.softmax_cross_entropy_forward": F.cross_entropy,
    "nnbook.fnn.mse_forward": lambda y_hat, y: (
        F.mse_loss(y_hat, y, reduction="sum") / (2 * y.shape[0])
    ),
}
