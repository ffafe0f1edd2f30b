"""Exercises of the invertible residual network chapter.

Every reference calls the chapter's own code in :mod:`nnbook.invertible`: power
iteration, the spectrally normalized layer and its measured ratio to the bound,
the bi-Lipschitz bounds of a block, the block's fixed-point inverse, the trace
terms and the series of the log-determinant, the variances of the estimators,
the change of variables, the LU-parametrized mixing and the classifier's bounds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nnbook.check import Case, exercise
from nnbook.exercises._cases import rand, randn
from nnbook.invertible._blocks import InvertibleResidualBlock
from nnbook.invertible._classifier import DenseIResNetClassifier
from nnbook.invertible._diagnostics import bi_lipschitz_bounds, sigma_ratios
from nnbook.invertible._flows import InvertibleLinear, standard_normal_log_prob
from nnbook.invertible._logdet import (
    exact_logdet,
    hutchinson_variance,
    roulette_from_traces,
    roulette_variance,
    series_from_traces,
    trace_terms,
)
from nnbook.invertible._spectral import SpectralNormLinear, power_iteration

__all__ = [
    "banach_bound",
    "banach_iterations",
    "blocks_to_stretch",
    "feature_distance_bounds",
    "fixed_point_inverse",
    "flow_log_prob",
    "hutchinson_trace",
    "hutchinson_variance_of",
    "lipschitz_bound",
    "logdet_series",
    "lu_mixing",
    "min_slope",
    "normalized_weight",
    "power_iteration_step",
    "roulette_estimate",
    "roulette_variance_of",
    "sigma_ratio",
    "truncation_undercharge",
]


def _with_norm(rng, rows, cols, norm):
    """A Gaussian matrix rescaled to the spectral norm ``norm``."""
    M = randn(rng, rows, cols)
    return norm * M / torch.linalg.matrix_norm(M, 2)


def _unit(rng, n):
    return F.normalize(randn(rng, n), dim=0)


# --- why_invertible ---------------------------------------------------------


def _min_slope_cases(rng):
    return [
        Case("the page's gentle map, a = -0.45, b = 2", (-0.45, 2.0)),
        Case("the page's folded map, a = -1.5, b = 2", (-1.5, 2.0)),
        Case("Lip(g) = 3 but a b > 0", (1.5, 2.0)),
        Case("a wide, gentle tanh, a = -0.3, b = 0.5", (-0.3, 0.5)),
        Case("a negative b, a = 1, b = -0.5", (1.0, -0.5)),
        Case("the boundary a b = -1", (-0.5, 2.0)),
    ]


def _slope_is_one_minus_lip(a, b):
    return 1.0 - abs(a * b)


def _slope_at_zero(a, b):
    return 1.0 + a * b


def _no_inner_derivative(a, b):
    return min(1.0, 1.0 + a)


def _slope_on_a_grid(a, b):
    # the slope 1 + a b sech^2(b x) on a fine grid through 0, and its limit 1
    x = torch.linspace(-50.0, 50.0, 20_001, dtype=torch.float64)
    slope = 1 + a * b / torch.cosh(b * x) ** 2
    return min(slope.min().item(), 1.0)


@exercise(
    statement=(
        "min_slope(a, b) returns the infimum, over all real x, of the "
        "derivative dy/dx of the one-dimensional block y = x + g(x) with g(x) "
        "= a tanh(b x) (a float). Where it is positive the block is strictly "
        "increasing, hence invertible; where it is negative, some y has three "
        "preimages."
    ),
    cases=_min_slope_cases,
    equation=None,
    kind="derive",
    section="invertible_resnet/why_invertible",
    outputs=("inf_slope",),
    hint=(
        "Differentiate x + a tanh(b x), inner derivative included, and ask "
        "where sech^2(b x) is largest and what it tends to. The sign of a b "
        "decides whether the slope dips below 1 or rises above it: Lip(g) < 1 "
        "is sufficient for invertibility, not necessary."
    ),
    wrong={
        "1 - Lip(g) whatever the sign of a b": _slope_is_one_minus_lip,
        "the slope at x = 0 taken for the infimum": _slope_at_zero,
        "the inner derivative b forgotten": _no_inner_derivative,
    },
    alternatives=(_slope_on_a_grid,),
)
def min_slope(a, b):
    """The slope 1 + a b sech^2(b x) lies between 1 and 1 + a b."""
    return min(1.0, 1.0 + a * b)


# --- lipschitz ---------------------------------------------------------------


def _power_cases(rng):
    return [
        Case("a 3 x 2 matrix", (randn(rng, 3, 2), _unit(rng, 3))),
        Case("a 2 x 4 matrix", (randn(rng, 2, 4), _unit(rng, 2))),
        Case("a square matrix", (randn(rng, 5, 5), _unit(rng, 5))),
    ]


def _estimate_with_old_u(W, u):
    v = F.normalize(W.T @ u, dim=0)
    sigma = u @ W @ v
    return sigma, F.normalize(W @ v, dim=0)


def _v_not_normalized(W, u):
    v = W.T @ u
    u = F.normalize(W @ v, dim=0)
    return u @ W @ v, u


def _no_transpose(W, u):
    v = F.normalize(W @ u, dim=0)
    u = F.normalize(W @ v, dim=0)
    return u @ W @ v, u


def _power_by_hand(W, u):
    v = W.T @ u
    v = v / v.norm()
    Wv = W @ v
    return Wv.norm(), Wv / Wv.norm()  # u'^T W v = |W v|


@exercise(
    statement=(
        "power_iteration_step(W, u) does one step of power iteration on W (m, "
        "n) from the unit vector u (m,) and returns the estimate sigma_hat of "
        "W's largest singular value together with the new u (m,)."
    ),
    cases=_power_cases,
    equation="eq-ir-spectral",
    kind="implement",
    section="invertible_resnet/lipschitz",
    outputs=("sigma_hat", "u"),
    hint=(
        "v comes from W^T u, u from W v, each divided by its length, and the "
        "estimate uses the new u with the v that produced it."
    ),
    wrong={
        "the estimate computed with the old u": _estimate_with_old_u,
        "v not normalized": _v_not_normalized,
        "W u in place of W^T u": _no_transpose,
    },
    alternatives=(_power_by_hand,),
)
def power_iteration_step(W, u):
    """One step of :func:`nnbook.invertible.power_iteration`."""
    sigma, u, _ = power_iteration(W, u, n_iter=1)
    return sigma, u


def _normalized_cases(rng):
    return [
        Case("sigma_hat above c", (randn(rng, 3, 2), 2.5, 0.9)),
        Case("sigma_hat below c: left alone", (randn(rng, 4, 3), 0.6, 0.9)),
        Case("sigma_hat equal to c", (randn(rng, 2, 2), 0.7, 0.7)),
        Case("a small c", (randn(rng, 2, 5), 1.2, 0.5)),
    ]


def _always_rescaled(W, sigma_hat, coeff):
    return W * coeff / sigma_hat


def _divided_by_sigma(W, sigma_hat, coeff):
    return W / max(1.0, sigma_hat)


def _ratio_inverted(W, sigma_hat, coeff):
    return W / max(1.0, coeff / sigma_hat)


def _normalized_by_branch(W, sigma_hat, coeff):
    if sigma_hat <= coeff:
        return W.clone()
    return coeff / sigma_hat * W


def _layer_with_estimate(W, sigma_hat, coeff):
    """A :class:`SpectralNormLinear` with ``W`` and the estimate ``sigma_hat``."""
    with torch.random.fork_rng(
        devices=[]
    ):  # the layer's initial draws leave no trace
        layer = SpectralNormLinear(W.shape[1], W.shape[0], coeff=coeff)
    layer = layer.to(W.dtype)
    with torch.no_grad():
        layer.weight.copy_(W)
    layer.sigma = lambda: torch.tensor(sigma_hat, dtype=W.dtype)
    return layer


@exercise(
    statement=(
        "normalized_weight(W, sigma_hat, coeff) returns the weight (m, n) that "
        "a spectrally normalized layer with bound coeff = c uses, given the "
        "power-iteration estimate sigma_hat of W's spectral norm (a float)."
    ),
    cases=_normalized_cases,
    equation="eq-ir-spectral",
    kind="implement",
    section="invertible_resnet/lipschitz",
    outputs=("W_tilde",),
    hint=(
        "The layer only ever shrinks a weight, and only when sigma_hat exceeds "
        "c; after shrinking, the estimate of the norm is c, not 1."
    ),
    wrong={
        "small weights scaled up to c": _always_rescaled,
        "normalized to 1 instead of c": _divided_by_sigma,
        "the ratio sigma_hat / c inverted": _ratio_inverted,
    },
    alternatives=(_normalized_by_branch,),
)
def normalized_weight(W, sigma_hat, coeff):
    """:meth:`SpectralNormLinear.normalized_weight` with ``sigma_hat`` given."""
    layer = _layer_with_estimate(W, sigma_hat, coeff)
    return layer.normalized_weight().detach()


def _lipschitz_cases(rng):
    return [
        Case("one 3 x 2 layer", ([randn(rng, 3, 2)],)),
        Case(
            "three layers 2 -> 8 -> 8 -> 2",
            ([randn(rng, 8, 2), randn(rng, 8, 8), randn(rng, 2, 8)],),
        ),
        Case(
            "two square, non-symmetric layers",
            (
                [
                    torch.tensor([[0.5, 2.0], [0.0, 0.5]]).double(),
                    randn(rng, 2, 2),
                ],
            ),
        ),
        Case(
            "spectrally normalized layers, c = 0.9",
            ([_with_norm(rng, 4, 2, 0.9), _with_norm(rng, 2, 4, 0.9)],),
        ),
    ]


def _frobenius(weights):
    return math.prod(torch.linalg.matrix_norm(W).item() for W in weights)


def _spectral_radius(weights):
    return math.prod(
        torch.linalg.eigvals(W).abs().max().item() for W in weights
    )


def _largest_norm(weights):
    return max(torch.linalg.matrix_norm(W, 2).item() for W in weights)


def _by_svd(weights):
    bound = 1.0
    for W in weights:
        bound *= torch.linalg.svdvals(W)[0].item()
    return bound


@exercise(
    statement=(
        "lipschitz_bound(weights) returns the bound on the Lipschitz constant, "
        "in the Euclidean norm, of g(x) = W_k phi(... phi(W_1 x)) that the "
        "section derives from the layers, for the list weights = [W_1, ..., "
        "W_k] and any activation phi with slope at most 1 (a float)."
    ),
    cases=_lipschitz_cases,
    equation=None,
    kind="derive",
    section="invertible_resnet/lipschitz",
    outputs=("bound",),
    hint=(
        "How much can one linear map stretch a vector, at most? Eigenvalues "
        "answer that only for symmetric matrices. Then compose the layers."
    ),
    wrong={
        "Frobenius norms instead of spectral norms": _frobenius,
        "spectral radii instead of spectral norms": _spectral_radius,
        "the largest layer's norm instead of the product": _largest_norm,
    },
    alternatives=(_by_svd,),
)
def lipschitz_bound(weights):
    """The product of the layers' spectral norms, as the book measures them."""
    return math.prod(torch.linalg.matrix_norm(W, 2).item() for W in weights)


def _stretch_cases(rng):
    return [
        Case(
            "stretch by 10 at L = 0.99^3, the density flows'", (10.0, 0.99**3)
        ),
        Case("stretch by 10 at L = 0.9^3", (10.0, 0.9**3)),
        Case("stretch by 100 at L = 0.5", (100.0, 0.5)),
        Case("stretch by 1.2 at L = 0.5: one block is enough", (1.2, 0.5)),
        Case("stretch by 3 at L = 0.1", (3.0, 0.1)),
    ]


def _stretch_by_inverse_bound(factor, lipschitz):
    return math.ceil(math.log(factor) / -math.log1p(-lipschitz))


def _stretch_by_l(factor, lipschitz):
    return math.ceil(math.log(factor) / math.log(1 / lipschitz))


def _stretch_floor(factor, lipschitz):
    return math.floor(math.log(factor) / math.log1p(lipschitz))


def _stretch_by_counting(factor, lipschitz):
    blocks, reach = 0, 1.0
    while reach < factor:
        blocks, reach = blocks + 1, reach * (1 + lipschitz)
    return blocks


@exercise(
    statement=(
        "blocks_to_stretch(factor, lipschitz) returns the smallest number of "
        "residual blocks x + g(x), each with Lip(g) <= lipschitz < 1, whose "
        "composition can map two points at distance 1 to two points at "
        "distance factor > 1 (an int)."
    ),
    cases=_stretch_cases,
    equation="eq-ir-bi-lipschitz",
    kind="derive",
    section="invertible_resnet/lipschitz",
    outputs=("blocks",),
    hint=(
        "By how much can one block stretch a distance at most, and is that "
        "reached by some g? Lipschitz constants multiply under composition."
    ),
    wrong={
        "the inverse's bound 1 / (1 - L) used for stretching": (
            _stretch_by_inverse_bound
        ),
        "the factor L of g taken for the block's 1 + L": _stretch_by_l,
        "rounded down instead of up": _stretch_floor,
    },
    alternatives=(_stretch_by_counting,),
)
def blocks_to_stretch(factor, lipschitz):
    """The upper bound of :func:`bi_lipschitz_bounds`, compounded.

    Each block stretches a distance by at most 1 + L, and ``g(x) = L x``
    reaches it, so k blocks reach ``factor`` when (1 + L)^k >= factor.
    """
    _, stretch, _, _ = bi_lipschitz_bounds(lipschitz)
    return math.ceil(math.log(factor) / math.log(stretch))


# --- inverse -----------------------------------------------------------------


class _TanhBranch(nn.Module):
    """``g(x) = tanh(x W^T)``: Lip(g) <= |W|_2, as tanh has slope at most 1."""

    def __init__(self, W):
        super().__init__()
        self.register_buffer("W", W)

    def forward(self, x):
        return torch.tanh(x @ self.W.T)


def _inverse_cases(rng):
    W = _with_norm(rng, 4, 4, 0.9)
    return [
        Case(
            "one row, L = 0.5",
            (_with_norm(rng, 2, 2, 0.5), randn(rng, 1, 2), 0.5, 1e-8),
        ),
        Case("five rows, L = 0.9", (W, randn(rng, 5, 4), 0.9, 1e-10)),
        Case("a coarse tolerance", (W, randn(rng, 3, 4), 0.9, 1e-2)),
        Case(
            "a loose bound: |W| = 0.3, L = 0.8",
            (
                _with_norm(rng, 3, 3, 0.3),
                randn(rng, 4, 3, scale=3.0),
                0.8,
                1e-9,
            ),
        ),
        Case(
            "sixteen rows of very different sizes",
            (
                _with_norm(rng, 2, 2, 0.7),
                randn(rng, 16, 2) * rand(rng, 16, 1, high=4.0),
                0.7,
                1e-6,
            ),
        ),
    ]


def _stop_on_step(W, y, lipschitz, tol):
    x, n = y, 0
    while True:
        x_new, n = y - torch.tanh(x @ W.T), n + 1
        step = (x_new - x).norm(dim=1).max()
        x = x_new
        if step < tol:
            return x, n


def _batch_norm(W, y, lipschitz, tol):
    x, n = y, 0
    while True:
        x_new, n = y - torch.tanh(x @ W.T), n + 1
        step = (x_new - x).norm()
        x = x_new
        if lipschitz / (1 - lipschitz) * step < tol:
            return x, n


def _a_priori(W, y, lipschitz, tol):
    x, n = y, 0
    first = None
    while True:
        x_new, n = y - torch.tanh(x @ W.T), n + 1
        first = (x_new - x).norm(dim=1).max() if first is None else first
        x = x_new
        if lipschitz**n / (1 - lipschitz) * first < tol:
            return x, n


def _count_from_zero(W, y, lipschitz, tol):
    x, n = y, 0
    while True:
        x_new = y - torch.tanh(x @ W.T)
        step = (x_new - x).norm(dim=1).max()
        x = x_new
        if lipschitz / (1 - lipschitz) * step < tol:
            return x, n
        n += 1


def _inverse_per_row(W, y, lipschitz, tol):
    x, steps = y.clone(), 0
    done = False
    while not done:
        x_new = y - torch.tanh(x @ W.T)
        sizes = torch.linalg.vector_norm(x_new - x, dim=1)
        done = bool((lipschitz * sizes < tol * (1 - lipschitz)).all())
        x, steps = x_new, steps + 1
    return x, steps


@exercise(
    statement=(
        "fixed_point_inverse(W, y, lipschitz, tol) inverts the block y = x + "
        "tanh(x W^T) for the rows of y (n, d), given a bound lipschitz = L < 1 "
        "on Lip(g), by the fixed-point iteration from x = y. It stops at the "
        "first step after which Banach's a-posteriori bound on the error, "
        "largest over the rows, is below tol, and returns x (n, d) and the "
        "number of steps taken (an int), as InvertibleResidualBlock.inverse "
        "does."
    ),
    cases=_inverse_cases,
    equation="eq-ir-fixed-point",
    kind="implement",
    section="invertible_resnet/inverse",
    outputs=("x", "n_steps"),
    hint=(
        "Each step is x <- y - g(x). The a-posteriori bound needs only the "
        "last step's length, per row, times L / (1 - L); count every step you "
        "take."
    ),
    wrong={
        "stops when the step itself is below tol": _stop_on_step,
        "the norm of the whole batch instead of the largest row": _batch_norm,
        "the a-priori bound as the stopping rule": _a_priori,
        "the step count off by one": _count_from_zero,
    },
    alternatives=(_inverse_per_row,),
)
def fixed_point_inverse(W, y, lipschitz, tol):
    """:meth:`InvertibleResidualBlock.inverse` on the branch ``tanh(x W^T)``."""
    block = InvertibleResidualBlock(_TanhBranch(W), lipschitz=lipschitz)
    x = block.inverse(y, tol=tol, max_iter=10_000, strict=True)
    return x, block.inverse_iterations_


def _banach_cases(rng):
    return [
        Case("L = 0.5 after 10 steps", (0.5, 1.0, 10)),
        Case("L = 0.99 after 100 steps", (0.99, 0.3, 100)),
        Case("before any step", (0.9, 2.0, 0)),
        Case("one step, L = 0.2", (0.2, 1.5, 1)),
        Case("bad input: L = 1, no contraction", (1.0, 1.0, 5)),
        Case("bad input: L = 1.5", (1.5, 1.0, 5)),
    ]


def _check_l(lipschitz):
    if not 0 < lipschitz < 1:
        raise ValueError(f"lipschitz must be in (0, 1), got {lipschitz}")


def _no_geometric_sum(lipschitz, first_step, n):
    _check_l(lipschitz)
    return lipschitz**n * first_step


def _a_posteriori_power(lipschitz, first_step, n):
    _check_l(lipschitz)
    return lipschitz ** (n + 1) / (1 - lipschitz) * first_step


def _no_check(lipschitz, first_step, n):
    return lipschitz**n / (1 - lipschitz) * first_step


def _tail_sum(lipschitz, first_step, n):
    _check_l(lipschitz)
    # sum_{k >= n} L^k |x_1 - x_0| in closed form
    return first_step * math.exp(n * math.log(lipschitz)) / (1 - lipschitz)


@exercise(
    statement=(
        "banach_bound(lipschitz, first_step, n) returns Banach's a-priori "
        "bound on the error |x* - x_n| after n fixed-point steps of a "
        "contraction with constant L = lipschitz, given the length first_step "
        "of the first step |x_1 - x_0| (a float). It raises ValueError unless "
        "0 < L < 1: without a contraction there is no bound."
    ),
    cases=_banach_cases,
    equation="eq-ir-banach",
    kind="derive",
    section="invertible_resnet/inverse",
    outputs=("bound",),
    hint=(
        "The error after n steps is at most the sum of all the later steps, "
        "and the steps shrink geometrically from step n on: sum that geometric "
        "tail."
    ),
    wrong={
        "L^n without the geometric sum 1 / (1 - L)": _no_geometric_sum,
        "L^(n + 1) instead of L^n": _a_posteriori_power,
        "no error for L >= 1": _no_check,
    },
    alternatives=(_tail_sum,),
)
def banach_bound(lipschitz, first_step, n):
    """The bound of equation eq-ir-banach, which the inverse page draws."""
    _check_l(lipschitz)
    return lipschitz**n / (1 - lipschitz) * first_step


# --- logdet ------------------------------------------------------------------


def _linear(J):
    """``g(x) = x J^T``, whose Jacobian is ``J`` everywhere."""
    return lambda x: x @ J.T


def _hutchinson_cases(rng):
    signs = (torch.randint(0, 2, (200, 5), generator=rng) * 2 - 1).double()
    return [
        Case(
            "one Gaussian probe", (_with_norm(rng, 3, 3, 0.8), randn(rng, 1, 3))
        ),
        Case(
            "four Gaussian probes",
            (_with_norm(rng, 4, 4, 0.9), randn(rng, 4, 4)),
        ),
        Case("200 sign probes", (_with_norm(rng, 5, 5, 0.5), signs)),
    ]


def _sum_not_mean(A, V):
    return ((V @ A) * V).sum()


def _all_pairs(A, V):
    return (V @ A @ V.T).mean()


def _unit_probes(A, V):
    U = F.normalize(V, dim=1)
    return ((U @ A) * U).sum(dim=1).mean()


def _einsum(A, V):
    return torch.einsum("si,ij,sj->s", V, A, V).mean()


@exercise(
    statement=(
        "hutchinson_trace(A, V) returns Hutchinson's estimate of tr(A) for a "
        "square A (d, d) with spectral norm below 1, like the Jacobian of a "
        "block, from the probes in the rows of V (s, d), without a Python loop "
        "over the rows (a 0-d tensor)."
    ),
    cases=_hutchinson_cases,
    equation="eq-ir-hutchinson",
    kind="implement",
    section="invertible_resnet/logdet",
    outputs=("trace",),
    hint=(
        "One probe v gives one number v^T A v; the estimate averages them over "
        "the probes, as they are: no cross terms between probes, no rescaling."
    ),
    wrong={
        "a sum over the probes instead of a mean": _sum_not_mean,
        "the mean of V A V^T, cross terms included": _all_pairs,
        "probes normalized to unit length": _unit_probes,
    },
    alternatives=(_einsum,),
)
def hutchinson_trace(A, V):
    """The first of :func:`nnbook.invertible.trace_terms`, averaged.

    ``g(x) = x A^T`` has the Jacobian ``A`` at every ``x``. ``trace_terms``
    takes it for a block's branch, so ``A`` is a contraction in every case.
    """
    x = torch.zeros_like(V)
    (samples,) = trace_terms(_linear(A), x, V, n_terms=1)
    return samples.mean()


def _series_cases(rng):
    return [
        Case("one term, 2 x 2", (_with_norm(rng, 2, 2, 0.5), 1)),
        Case("two terms, 3 x 3", (_with_norm(rng, 3, 3, 0.5), 2)),
        Case("ten terms, norm 0.9", (_with_norm(rng, 3, 3, 0.9), 10)),
        Case("fifty terms, norm 0.5", (_with_norm(rng, 2, 2, 0.5), 50)),
    ]


def _no_alternating_sign(J, n):
    powers = [torch.linalg.matrix_power(J, k) for k in range(1, n + 1)]
    return sum(torch.trace(P) / k for k, P in enumerate(powers, start=1))


def _denominator_off_by_one(J, n):
    powers = [torch.linalg.matrix_power(J, k) for k in range(1, n + 1)]
    return sum(
        (-1) ** (k + 1) / (k + 1) * torch.trace(P)
        for k, P in enumerate(powers, start=1)
    )


def _sign_starts_negative(J, n):
    powers = [torch.linalg.matrix_power(J, k) for k in range(1, n + 1)]
    return sum(
        (-1) ** k / k * torch.trace(P) for k, P in enumerate(powers, start=1)
    )


def _by_eigenvalues(J, n):
    lam = torch.linalg.eigvals(J)
    total = torch.zeros((), dtype=lam.dtype)
    power = torch.ones_like(lam)
    for k in range(1, n + 1):
        power = power * lam
        total = total + (-1) ** (k + 1) / k * power.sum()
    return total.real


@exercise(
    statement=(
        "logdet_series(J, n) returns the power series of log det(I + J) for a "
        "square J (d, d) with |J|_2 < 1, cut after its first n terms, with the "
        "traces computed exactly (a 0-d tensor)."
    ),
    cases=_series_cases,
    equation="eq-ir-logdet-series",
    kind="derive",
    section="invertible_resnet/logdet",
    outputs=("series",),
    hint=(
        "Write log det(I + J) as tr log(I + J), then expand log(1 + t) in "
        "powers of t: which sign does the term in t^k carry, and what divides "
        "it?"
    ),
    wrong={
        "the alternating sign missing": _no_alternating_sign,
        "k + 1 instead of k in the denominator": _denominator_off_by_one,
        "the signs start negative": _sign_starts_negative,
    },
    alternatives=(_by_eigenvalues,),
)
def logdet_series(J, n):
    """:func:`series_from_traces` on the exact traces of ``J``.

    The traces come from :func:`trace_terms` with the basis vectors as probes:
    row i gives the diagonal entry i of each power; the rows sum to the trace.
    """
    eye = torch.eye(len(J), dtype=J.dtype)
    terms = trace_terms(_linear(J), torch.zeros_like(eye), eye, n_terms=n)
    return series_from_traces(torch.stack([t.sum() for t in terms]))


# --- unbiased ----------------------------------------------------------------


def _roulette_cases(rng):
    traces = randn(rng, 8, 3) * (0.6 ** torch.arange(1, 9.0))[:, None]
    return [
        Case(
            "no extra term drawn", (traces[:4], 0), {"p": 0.5, "exact_terms": 2}
        ),
        Case(
            "three extra terms, p = 0.5",
            (traces, 3),
            {"p": 0.5, "exact_terms": 2},
        ),
        Case(
            "five extra terms, p = 0.3",
            (traces, 5),
            {"p": 0.3, "exact_terms": 2},
        ),
        Case(
            "one row, no exact terms",
            (traces[:, :1], 4),
            {"p": 0.6, "exact_terms": 0},
        ),
    ]


def _no_reweighting(traces, n_extra, p=0.5, exact_terms=2):
    n = exact_terms + n_extra
    return sum((-1) ** (k + 1) / k * traces[k - 1] for k in range(1, n + 1))


def _survival_off_by_one(traces, n_extra, p=0.5, exact_terms=2):
    n = exact_terms + n_extra
    total = 0.0
    for k in range(1, n + 1):
        survival = 1.0 if k <= exact_terms else (1 - p) ** (k - exact_terms + 1)
        total = total + (-1) ** (k + 1) / k * traces[k - 1] / survival
    return total


def _exact_terms_reweighted(traces, n_extra, p=0.5, exact_terms=2):
    n = exact_terms + n_extra
    return sum(
        (-1) ** (k + 1) / k * traces[k - 1] / (1 - p) ** k
        for k in range(1, n + 1)
    )


def _without_exact_terms(traces, n_extra, p=0.5, exact_terms=2):
    total = 0.0
    for k in range(1, n_extra + 1):
        survival = 1.0 if k <= exact_terms else (1 - p) ** (k - exact_terms)
        total = total + (-1) ** (k + 1) / k * traces[k - 1] / survival
    return total


def _roulette_vectorized(traces, n_extra, p=0.5, exact_terms=2):
    n = exact_terms + n_extra
    k = torch.arange(1, n + 1, dtype=traces.dtype)
    extra = torch.clamp(k - exact_terms, min=0)
    weight = (-1) ** (k + 1) / (k * (1 - p) ** extra)
    return weight @ traces[:n]


@exercise(
    statement=(
        "roulette_estimate(traces, n_extra, p=0.5, exact_terms=2) returns the "
        "Russian-roulette estimate of log det(I + J) for each of the n columns "
        "of traces (K, n), whose row k - 1 holds Hutchinson samples of "
        "tr(J^k). The series is cut after N = exact_terms + n_extra terms, "
        "where n_extra, the drawn number of extra terms, is geometric on {0, "
        "1, ...} with P(n_extra >= j) = (1 - p)^j. Returns a tensor (n,)."
    ),
    cases=_roulette_cases,
    equation="eq-ir-roulette",
    kind="implement",
    section="invertible_resnet/unbiased",
    outputs=("estimate",),
    hint=(
        "Each kept term of the series is divided by the probability that it is "
        "kept. Which draws of n_extra keep term k? Count carefully at the "
        "first extra term, and remember that the exact terms are always kept."
    ),
    wrong={
        "the kept terms not reweighted": _no_reweighting,
        "survival off by one: P(N > k) for P(N >= k)": _survival_off_by_one,
        "the exact terms reweighted too": _exact_terms_reweighted,
        "only n_extra terms in all": _without_exact_terms,
    },
    alternatives=(_roulette_vectorized,),
)
def roulette_estimate(traces, n_extra, p=0.5, exact_terms=2):
    """:func:`roulette_from_traces`: the sum russian_roulette_logdet forms."""
    return roulette_from_traces(traces, n_extra, p=p, exact_terms=exact_terms)


def _undercharge_cases(rng):
    return [
        Case(
            "the cheater's eigenvalue, two terms",
            (torch.tensor([-0.97], dtype=torch.float64), 2),
        ),
        Case(
            "eigenvalues across (-0.98, 0.98), two terms",
            (torch.linspace(-0.98, 0.98, 9, dtype=torch.float64), 2),
        ),
        Case(
            "near -1, five terms",
            (torch.tensor([-0.9, -0.95, -0.98], dtype=torch.float64), 5),
        ),
        Case(
            "one term only",
            (torch.tensor([-0.5, 0.5], dtype=torch.float64), 1),
        ),
        Case(
            "random eigenvalues in (-0.98, 0.98), ten terms",
            ((rand(rng, 6) * 2 - 1) * 0.98, 10),
        ),
    ]


def _sign_flipped(lam, n_terms):
    series = sum((-1) ** k / k * lam**k for k in range(1, n_terms + 1))
    return series - torch.log1p(lam)


def _no_division_by_k(lam, n_terms):
    series = sum((-1) ** (k + 1) * lam**k for k in range(1, n_terms + 1))
    return series - torch.log1p(lam)


def _one_term_short(lam, n_terms):
    series = sum((-1) ** (k + 1) / k * lam**k for k in range(1, n_terms))
    return series - torch.log1p(lam)


def _the_other_way_round(lam, n_terms):
    series = sum((-1) ** (k + 1) / k * lam**k for k in range(1, n_terms + 1))
    return torch.log1p(lam) - series


def _undercharge_by_running_power(lam, n_terms):
    series, power = torch.zeros_like(lam), torch.ones_like(lam)
    for k in range(1, n_terms + 1):
        power = power * lam  # lam^k
        series = series + (-1) ** (k + 1) * power / k
    return series - torch.log(1 + lam)


@exercise(
    statement=(
        "truncation_undercharge(lam, n_terms) returns, for each real "
        "eigenvalue in lam (n,), with -1 < lam < 1, how much the power series "
        "of log(1 + lam) cut after n_terms terms exceeds the true log(1 + "
        "lam): the log-determinant a block with that eigenvalue is not "
        "charged for. Returns a tensor (n,)."
    ),
    cases=_undercharge_cases,
    equation="eq-ir-logdet-series",
    kind="implement",
    section="invertible_resnet/unbiased",
    outputs=("undercharge",),
    hint=(
        "The series of a 1 x 1 Jacobian: tr(J^k) = lam^k. Term k has the sign "
        "(-1)^(k+1) and the weight 1/k. Subtract the true value, not the "
        "other way round: near lam = -1 the answer is large and positive."
    ),
    wrong={
        "the signs flipped, (-1)^k": _sign_flipped,
        "no division by k": _no_division_by_k,
        "one term short, k < n_terms": _one_term_short,
        "true value minus the series": _the_other_way_round,
    },
    alternatives=(_undercharge_by_running_power,),
)
def truncation_undercharge(lam, n_terms):
    """:func:`series_from_traces` on 1 x 1 Jacobians, less the true value."""
    powers = torch.stack([lam**k for k in range(1, n_terms + 1)])  # tr(J^k)
    return series_from_traces(powers) - torch.log1p(lam)


# --- variance ----------------------------------------------------------------


def _hutchinson_variance_cases(rng):
    return [
        Case(
            "a non-symmetric 3 x 3 matrix, Gaussian probes",
            (randn(rng, 3, 3), "gaussian"),
        ),
        Case(
            "a non-symmetric 5 x 5 matrix, random signs",
            (randn(rng, 5, 5), "rademacher"),
        ),
        Case(
            "J^3 of a Jacobian with norm 0.9, Gaussian probes",
            (
                torch.linalg.matrix_power(_with_norm(rng, 4, 4, 0.9), 3),
                "gaussian",
            ),
        ),
        Case(
            "an antisymmetric matrix: no variance at all",
            (
                torch.tensor([[0.0, 2.0], [-2.0, 0.0]], dtype=torch.float64),
                "gaussian",
            ),
        ),
        Case(
            "an upper-triangular matrix, random signs",
            (torch.triu(randn(rng, 4, 4)), "rademacher"),
        ),
    ]


def _symmetric_formula(A, probe):
    variance = 2 * (A**2).sum()
    if probe == "rademacher":
        variance = variance - 2 * (A.diagonal() ** 2).sum()
    return variance


def _diagonal_kept(A, probe):
    return (A**2).sum() + torch.trace(A @ A)


def _diagonal_once(A, probe):
    variance = (A**2).sum() + torch.trace(A @ A)
    if probe == "rademacher":
        variance = variance - (A.diagonal() ** 2).sum()
    return variance


def _transpose_product(A, probe):
    variance = (A**2).sum() + torch.trace(A @ A.T)
    if probe == "rademacher":
        variance = variance - 2 * (A.diagonal() ** 2).sum()
    return variance


def _by_symmetric_part(A, probe):
    S = (A + A.T) / 2
    off = S - torch.diag(S.diagonal()) if probe == "rademacher" else S
    return 2 * (off**2).sum()


@exercise(
    statement=(
        "hutchinson_variance_of(A, probe) returns the variance of one "
        "Hutchinson sample v^T A v of tr(A), for a square matrix A (d, d) that "
        "need not be symmetric, and probes v that are standard Gaussian "
        "(probe = "
        "'gaussian') or independent random signs +-1 (probe = 'rademacher'); a "
        "0-d tensor."
    ),
    cases=_hutchinson_variance_cases,
    equation="eq-ir-hutchinson-variance",
    kind="derive",
    section="invertible_resnet/variance",
    outputs=("variance",),
    hint=(
        "A quadratic form cannot tell A from its transpose: which matrix does "
        "v^T A v really depend on? For that matrix, diagonalize (Gaussian) or "
        "expand the sum over pairs i, j (signs, where v_i^2 = 1)."
    ),
    wrong={
        "the symmetric formula 2 |A|_F^2 for a non-symmetric A": (
            _symmetric_formula
        ),
        "the diagonal kept for random signs": _diagonal_kept,
        "the diagonal taken out once, not twice": _diagonal_once,
        "tr(A A^T) for tr(A^2)": _transpose_product,
    },
    alternatives=(_by_symmetric_part,),
)
def hutchinson_variance_of(A, probe):
    """:func:`hutchinson_variance`, equation eq-ir-hutchinson-variance."""
    return hutchinson_variance(A, probe)


def _roulette_variance_cases(rng):
    k = torch.arange(1, 13, dtype=torch.float64)
    return [
        Case(
            "a geometric series, p = 0.5, two exact terms",
            (0.5**k,),
            {"p": 0.5, "exact_terms": 2},
        ),
        Case(
            "the log-det terms of rho = 0.6, p = 0.5",
            (-(0.6**k) / k,),
            {"p": 0.5, "exact_terms": 2},
        ),
        Case(
            "random terms, p = 0.3, no exact term",
            (randn(rng, 12) * 0.7**k,),
            {"p": 0.3, "exact_terms": 0},
        ),
        Case(
            "four terms, p = 0.8, one exact term",
            (randn(rng, 4),),
            {"p": 0.8, "exact_terms": 1},
        ),
    ]


def _no_cross_terms(deltas, p=0.5, exact_terms=2):
    q = (1 - p) ** torch.clamp(
        torch.arange(1, len(deltas) + 1) - exact_terms, min=0
    )
    return (deltas**2 * (1 / q - 1)).sum()


def _second_moment(deltas, p=0.5, exact_terms=2):
    tails = deltas.flip(0).cumsum(0).flip(0)
    q = (1 - p) ** torch.clamp(
        torch.arange(1, len(deltas) + 1) - exact_terms, min=0
    )
    step = 1 / q - torch.cat([torch.ones(1, dtype=q.dtype), 1 / q[:-1]])
    return (step * tails**2).sum() + deltas.sum() ** 2


def _max_for_min(deltas, p=0.5, exact_terms=2):
    K = len(deltas)
    q = (1 - p) ** torch.clamp(torch.arange(1, K + 1) - exact_terms, min=0)
    j, k = torch.meshgrid(torch.arange(K), torch.arange(K), indexing="ij")
    return (deltas[j] * deltas[k] * (1 / q[torch.maximum(j, k)] - 1)).sum()


def _exact_terms_random(deltas, p=0.5, exact_terms=2):
    K = len(deltas)
    q = (1 - p) ** torch.arange(1, K + 1)
    j, k = torch.meshgrid(torch.arange(K), torch.arange(K), indexing="ij")
    return (deltas[j] * deltas[k] * (1 / q[torch.minimum(j, k)] - 1)).sum()


def _double_sum(deltas, p=0.5, exact_terms=2):
    K = len(deltas)
    q = (1 - p) ** torch.clamp(torch.arange(1, K + 1) - exact_terms, min=0)
    j, k = torch.meshgrid(torch.arange(K), torch.arange(K), indexing="ij")
    return (deltas[j] * deltas[k] * (1 / q[torch.minimum(j, k)] - 1)).sum()


@exercise(
    statement=(
        "roulette_variance_of(deltas, p=0.5, exact_terms=2) returns the "
        "variance of the Russian-roulette estimate sum_{k <= N} deltas[k - 1] "
        "/ P(N >= k) of the sum of the K fixed numbers deltas (K,), where N = "
        "exact_terms + M, M geometric on {0, 1, ...} with P(M >= j) = (1 - "
        "p)^j, and terms past K "
        "count as zero; a 0-d tensor."
    ),
    cases=_roulette_variance_cases,
    equation="eq-ir-roulette-variance",
    kind="derive",
    section="invertible_resnet/variance",
    outputs=("variance",),
    hint=(
        "Write the estimate as a sum of indicators 1{N >= k} times fixed "
        "weights. What is the expectation of 1{N >= j} 1{N >= k}? Then "
        "subtract the square "
        "of the mean, which is the plain sum."
    ),
    wrong={
        "the cross terms between j and k forgotten": _no_cross_terms,
        "the second moment, the mean not subtracted": _second_moment,
        "P(N >= max(j, k)) where the min belongs": _max_for_min,
        "the exact terms treated as random": _exact_terms_random,
    },
    alternatives=(_double_sum,),
)
def roulette_variance_of(deltas, p=0.5, exact_terms=2):
    """:func:`roulette_variance`, equation eq-ir-roulette-variance."""
    return roulette_variance(deltas, p=p, exact_terms=exact_terms)


# --- diagnostics -------------------------------------------------------------


def _ratio_cases(rng):
    W = randn(rng, 5, 4)
    sigma = torch.linalg.matrix_norm(W, 2).item()
    return [
        Case("an estimate 1 % below sigma_1", (W, 0.99 * sigma, 0.9)),
        Case("an exact estimate", (W, sigma, 0.9)),
        Case("a weight below c, left alone", (0.1 * W / sigma, 0.1, 0.9)),
        Case(
            "a stale estimate far below, c = 0.5",
            (randn(rng, 3, 6), 0.8, 0.5),
        ),
    ]


def _ratio_from_estimate(W, sigma_hat, coeff):
    return min(sigma_hat, coeff) / coeff


def _ratio_frobenius(W, sigma_hat, coeff):
    used = W / max(1.0, sigma_hat / coeff)
    return torch.linalg.matrix_norm(used).item() / coeff


def _ratio_always_rescaled(W, sigma_hat, coeff):
    used = W * coeff / sigma_hat
    return torch.linalg.matrix_norm(used, 2).item() / coeff


def _ratio_by_svd(W, sigma_hat, coeff):
    sigma = torch.linalg.svdvals(W)[0].item()
    return sigma / max(coeff, sigma_hat)


@exercise(
    statement=(
        "sigma_ratio(W, sigma_hat, coeff) returns sigma_1 / c for the weight "
        "(m, n) that a spectrally normalized layer with bound coeff = c uses "
        "when its power-iteration estimate of W's spectral norm is sigma_hat: "
        "the exact largest singular value of that weight, divided by c (a "
        "float)."
    ),
    cases=_ratio_cases,
    equation="eq-ir-spectral",
    kind="implement",
    section="invertible_resnet/diagnostics",
    outputs=("ratio",),
    hint=(
        "First build the weight the layer uses from the estimate, then "
        "measure it exactly: the estimate may lag behind the weight."
    ),
    wrong={
        "the ratio read off the estimate, not measured": _ratio_from_estimate,
        "the Frobenius norm instead of the spectral norm": _ratio_frobenius,
        "the weight rescaled even when the estimate is below c": (
            _ratio_always_rescaled
        ),
    },
    alternatives=(_ratio_by_svd,),
)
def sigma_ratio(W, sigma_hat, coeff):
    """:func:`nnbook.invertible.sigma_ratios` of a layer with that estimate."""
    return sigma_ratios(_layer_with_estimate(W, sigma_hat, coeff)).item()


# --- density -----------------------------------------------------------------


def _density_cases(rng):
    return [
        Case(
            "one point, d = 2", (randn(rng, 1, 2), _with_norm(rng, 2, 2, 0.5))
        ),
        Case(
            "five points, d = 2", (randn(rng, 5, 2), _with_norm(rng, 2, 2, 0.9))
        ),
        Case(
            "four points, d = 3",
            (randn(rng, 4, 3, scale=2.0), _with_norm(rng, 3, 3, 0.8)),
        ),
    ]


def _jacobians(x, W):
    slope = 1 - torch.tanh(x @ W.T) ** 2  # (n, d)
    return torch.eye(len(W), dtype=W.dtype) + slope[:, :, None] * W


def _gaussian(z):
    d = z.shape[1]
    return -0.5 * (z**2).sum(dim=1) - 0.5 * d * math.log(2 * math.pi)


def _logdet_subtracted(x, W):
    z = x + torch.tanh(x @ W.T)
    return _gaussian(z) - torch.linalg.slogdet(_jacobians(x, W))[1]


def _identity_forgotten(x, W):
    z = x + torch.tanh(x @ W.T)
    J_g = _jacobians(x, W) - torch.eye(len(W), dtype=W.dtype)
    return _gaussian(z) + torch.linalg.slogdet(J_g)[1]


def _base_at_x(x, W):
    return _gaussian(x) + torch.linalg.slogdet(_jacobians(x, W))[1]


def _constant_once(x, W):
    z = x + torch.tanh(x @ W.T)
    base = -0.5 * (z**2).sum(dim=1) - 0.5 * math.log(2 * math.pi)
    return base + torch.linalg.slogdet(_jacobians(x, W))[1]


def _with_distributions(x, W):
    z = x + torch.tanh(x @ W.T)
    normal = torch.distributions.Normal(0.0, 1.0)
    logdet = torch.stack([torch.logdet(J) for J in _jacobians(x, W)])
    return normal.log_prob(z).sum(dim=1) + logdet


@exercise(
    statement=(
        "flow_log_prob(x, W) returns log p(x) for every row of x (n, d) under "
        "the flow z = f(x) = x + tanh(x W^T), |W|_2 < 1, with a standard "
        "Gaussian base distribution on z (a tensor (n,))."
    ),
    cases=_density_cases,
    equation="eq-ir-change-of-variables",
    kind="implement",
    section="invertible_resnet/density",
    outputs=("log_p",),
    hint=(
        "Evaluate the Gaussian at f(x), not at x. A map that squeezes volume "
        "concentrates probability: which sign must log|det J_f| then carry? "
        "And J_f includes the identity of the skip connection."
    ),
    wrong={
        "the log-determinant subtracted": _logdet_subtracted,
        "the identity of the block forgotten in J_f": _identity_forgotten,
        "the base density evaluated at x": _base_at_x,
        "the Gaussian's constant counted once, not d times": _constant_once,
    },
    alternatives=(_with_distributions,),
)
def flow_log_prob(x, W):
    """The change of variables, as ``_Flow.log_prob`` computes it, exactly."""
    g = _TanhBranch(W)
    z = x + g(x)
    return (standard_normal_log_prob(z) + exact_logdet(g, x)).detach()


def _lu_cases(rng):
    def factors(d, scale):
        perm = torch.eye(d, dtype=torch.float64)[
            torch.randperm(d, generator=rng)
        ]
        lower = randn(rng, d, d)
        upper = randn(rng, d, d)
        log_scale = randn(rng, d, scale=scale)
        sign = torch.where(randn(rng, d) > 0, 1.0, -1.0).double()
        return perm, lower, upper, log_scale, sign

    return [
        Case("three points, d = 2", (randn(rng, 3, 2), *factors(2, 0.5))),
        Case("five points, d = 3", (randn(rng, 5, 3), *factors(3, 1.0))),
        Case(
            "one point, d = 4, large scales",
            (randn(rng, 1, 4), *factors(4, 2.0)),
        ),
    ]


def _lu_weight(perm, lower, upper, log_scale, sign):
    eye = torch.eye(len(log_scale), dtype=log_scale.dtype)
    unit_lower = torch.tril(lower, -1) + eye
    upper = torch.triu(upper, 1) + torch.diag(sign * torch.exp(log_scale))
    return perm @ unit_lower @ upper


def _lower_diagonal_kept(x, perm, lower, upper, log_scale, sign):
    upper_full = torch.triu(upper, 1) + torch.diag(sign * torch.exp(log_scale))
    W = perm @ torch.tril(lower) @ upper_full
    return x @ W.T, log_scale.sum().expand(len(x))


def _scales_not_logged(x, perm, lower, upper, log_scale, sign):
    W = _lu_weight(perm, lower, upper, log_scale, sign)
    return x @ W.T, torch.exp(log_scale).sum().expand(len(x))


def _matrix_not_transposed(x, perm, lower, upper, log_scale, sign):
    W = _lu_weight(perm, lower, upper, log_scale, sign)
    return x @ W, log_scale.sum().expand(len(x))


def _by_slogdet(x, perm, lower, upper, log_scale, sign):
    W = _lu_weight(perm, lower, upper, log_scale, sign)
    return x @ W.T, torch.linalg.slogdet(W)[1].expand(len(x))


@exercise(
    statement=(
        "lu_mixing(x, perm, lower, upper, log_scale, sign) returns (y, "
        "logdet): y = x W^T for every row of x (n, d), with W = P L (U + "
        "diag(sign * exp(log_scale))), P = perm, L the unit lower triangle of "
        "lower (its diagonal replaced by ones), U the strict upper triangle of "
        "upper; and logdet = log|det W| for every row (a tensor (n,))."
    ),
    cases=_lu_cases,
    equation="eq-ir-lu-mixing",
    kind="implement",
    section="invertible_resnet/density",
    outputs=("y", "logdet"),
    hint=(
        "The determinant of a product is the product of the determinants. "
        "What is the determinant of a permutation, up to its sign, and of a "
        "triangular matrix? Only the diagonal of the last factor is free."
    ),
    wrong={
        "the diagonal of lower kept: L not unit triangular": (
            _lower_diagonal_kept
        ),
        "the scales summed instead of the log-scales": _scales_not_logged,
        "x W instead of x W^T": _matrix_not_transposed,
    },
    alternatives=(_by_slogdet,),
)
def lu_mixing(x, perm, lower, upper, log_scale, sign):
    """:class:`nnbook.invertible.InvertibleLinear` with these factors."""
    with torch.random.fork_rng(devices=[]):  # its initial rotation is drawn
        mixing = InvertibleLinear(len(log_scale)).to(x.dtype)
    with torch.no_grad():
        mixing.perm.copy_(perm)
        mixing.sign.copy_(sign)
        mixing.lower.copy_(lower)
        mixing.upper.copy_(upper)
        mixing.log_scale.copy_(log_scale)
        y, logdet = mixing(x)
    return y, logdet


# --- classification ----------------------------------------------------------


def _bounds_cases(rng):
    return [
        Case("c = 0.9, four blocks", (0.9, 4)),
        Case("c = 0.5, three blocks", (0.5, 3)),
        Case("c = 0.7, one block", (0.7, 1)),
        Case("c = 0.99, ten blocks", (0.99, 10)),
    ]


def _one_layer_per_branch(coeff, n_blocks):
    return (1 - coeff) ** n_blocks, (1 + coeff) ** n_blocks


def _skip_forgotten(coeff, n_blocks):
    L = coeff**3
    return (1 - L) ** n_blocks, L**n_blocks


def _one_block_only(coeff, n_blocks):
    L = coeff**3
    return 1 - L, 1 + L


def _by_logs(coeff, n_blocks):
    L = coeff**3
    return math.exp(n_blocks * math.log1p(-L)), math.exp(
        n_blocks * math.log1p(L)
    )


@exercise(
    statement=(
        "feature_distance_bounds(coeff, n_blocks) returns (lower, upper): for "
        "a DenseIResNetClassifier with spectral-norm bound c = coeff and "
        "n_blocks blocks, any two different images a, b have features whose "
        "distance, "
        "divided by |a - b|, lies between lower and upper (the best bounds the "
        "Lipschitz bounds of the blocks give; two floats)."
    ),
    cases=_bounds_cases,
    equation="eq-ir-feature-bounds",
    kind="derive",
    section="invertible_resnet/classification",
    outputs=("lower", "upper"),
    hint=(
        "How many spectrally normalized linear layers does each branch have? "
        "A block x + g(x) can stretch a distance by at most 1 + Lip(g) and "
        "shrink it by at most 1 - Lip(g)."
    ),
    wrong={
        "Lip(g) = c, as if a branch had one layer": _one_layer_per_branch,
        "the skip connection forgotten in the upper bound": _skip_forgotten,
        "one block's bounds, not the composition": _one_block_only,
    },
    alternatives=(_by_logs,),
)
def feature_distance_bounds(coeff, n_blocks):
    """:meth:`DenseIResNetClassifier.distance_bounds`, from its own blocks."""
    with torch.random.fork_rng(
        devices=[]
    ):  # building the layers draws initial weights
        net = DenseIResNetClassifier(1, 2, coeff, hidden=1, n_blocks=n_blocks)
    return net.distance_bounds()


def _iterations_cases(rng):
    return [
        Case("a trained block's bound, c = 0.9", (0.729, 1.0, 1e-10)),
        Case("c = 0.5, three layers", (0.125, 1.0, 1e-10)),
        Case("L = 0.9, a short first step", (0.9, 0.01, 1e-6)),
        Case("L = 0.5, tolerance 1e-3", (0.5, 1.0, 1e-3)),
        Case("already within the tolerance", (0.3, 1e-12, 1e-10)),
        Case("bad input: L = 1, no contraction", (1.0, 1.0, 1e-10)),
        Case("bad input: tol = 0", (0.5, 1.0, 0.0)),
    ]


def _check_tol(tol):
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")


def _no_geometric_sum_steps(lipschitz, first_step, tol):
    _check_l(lipschitz)
    _check_tol(tol)
    n = 0
    while lipschitz**n * first_step >= tol:
        n += 1
    return n


def _floor_not_ceil(lipschitz, first_step, tol):
    _check_l(lipschitz)
    _check_tol(tol)
    ratio = tol * (1 - lipschitz) / first_step
    return max(0, math.floor(math.log(ratio) / math.log(lipschitz)))


def _by_logs_steps(lipschitz, first_step, tol):
    _check_l(lipschitz)
    _check_tol(tol)
    ratio = tol * (1 - lipschitz) / first_step
    return max(0, math.floor(math.log(ratio) / math.log(lipschitz)) + 1)


@exercise(
    statement=(
        "banach_iterations(lipschitz, first_step, tol) returns the smallest "
        "number n of fixed-point steps after which Banach's a-priori bound on "
        "the error |x* - x_n| is below tol, for a contraction with constant "
        "L = lipschitz whose first step |x_1 - x_0| has length first_step (an "
        "int). It raises ValueError unless 0 < L < 1 and tol > 0."
    ),
    cases=_iterations_cases,
    equation="eq-ir-banach",
    kind="derive",
    section="invertible_resnet/classification",
    outputs=("n",),
    hint=(
        "Write the a-priori bound after n steps, set it below tol and solve "
        "for n with logarithms; dividing by log L, which is negative, turns "
        "the inequality around. n is a whole number of steps."
    ),
    wrong={
        "L^n |x_1 - x_0| without the factor 1 / (1 - L)": (
            _no_geometric_sum_steps
        ),
        "rounded down: the bound is still above tol": _floor_not_ceil,
    },
    alternatives=(_by_logs_steps,),
)
def banach_iterations(lipschitz, first_step, tol):
    """The first n at which :func:`banach_bound` falls below ``tol``."""
    _check_l(lipschitz)
    _check_tol(tol)
    n = 0
    while banach_bound.reference(lipschitz, first_step, n) >= tol:
        n += 1
    return n
