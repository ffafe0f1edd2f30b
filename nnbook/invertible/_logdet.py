r"""Estimators of :math:`\log\lvert\det(I + J_g(x))\rvert` for a residual block.

For :math:`\mathrm{Lip}(g) < 1` the eigenvalues of :math:`J = J_g(x)` lie inside the unit
disc, the determinant is positive, and

.. math::
    \log\det(I + J) = \operatorname{tr}\log(I + J)
    = \sum_{k=1}^{\infty} \frac{(-1)^{k+1}}{k} \operatorname{tr}(J^k)

(equation :eq:`eq-ir-logdet-series`). Each trace is estimated with Hutchinson's
:math:`\operatorname{tr}(A) = \mathbb{E}[v^\top A v]`, :math:`\mathbb{E}[v v^\top] = I`
(equation :eq:`eq-ir-hutchinson`), and :math:`v^\top J^k` is computed by :math:`k`
vector-Jacobian products, so :math:`J` is never formed.

The noise of the estimators: the variance of one Hutchinson sample for a non-symmetric
:math:`A` (equation :eq:`eq-ir-hutchinson-variance`), the exact variance of the Russian
roulette for given terms (equation :eq:`eq-ir-roulette-variance`), and the
roulette-weighted Neumann gradient of Residual Flows, unbiased and in constant memory
(equation :eq:`eq-ir-neumann-roulette`).
"""

from __future__ import annotations

import math

import torch

from nnbook.contract import Choice, Flag, Instance, Int, Real, Tensor, contract

__all__ = [
    "exact_logdet",
    "neumann_gradient_surrogate",
    "power_series_logdet",
    "russian_roulette_logdet",
    "trace_terms",
]


#: Where the probes come from.
PROBES = Choice("gaussian", "rademacher")


def _refuse_expansion(g, x):
    """What no spec states: ``g`` is a callable contraction, ``x`` is finite.

    ``g`` is refused where it declares a bound of 1 or more (see
    :func:`_lipschitz_bound`); a ``g`` that declares none is caught by
    :func:`_refuse_growth` as the series runs.
    """
    if not callable(g):
        raise TypeError(f"g must be callable, got {type(g).__name__}")
    bound = _lipschitz_bound(g)
    if bound is not None and bound >= 1:
        raise ValueError(
            f"g must have Lip(g) < 1 for the series to converge; its spectrally "
            f"normalized layers allow up to {bound:.3g}"
        )
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or inf")


def _lipschitz_bound(g):
    """The bound on Lip(g) that ``g`` declares, or None where it declares none.

    A block's ``lipschitz`` attribute, or the product of the coefficients of the
    spectrally normalized layers inside a module. A plain function declares nothing,
    and then nothing stops a series that diverges.
    """
    if isinstance(getattr(g, "lipschitz", None), float | int):
        return float(g.lipschitz)
    if isinstance(g, torch.nn.Module):
        from nnbook.invertible._spectral import (
            SpectralNormConv2d,
            SpectralNormLinear,
        )

        kinds = SpectralNormLinear | SpectralNormConv2d
        coeffs = [m.coeff for m in g.modules() if isinstance(m, kinds)]
        if coeffs:
            return math.prod(coeffs)
    return None


@contract(x=Tensor("N", "D"))
def exact_logdet(g, x):
    """``log|det(I + J_g(x))|`` for every row of ``x`` (n, d), from the full Jacobian: small d only."""
    _refuse_expansion(g, x)
    x = x.detach().requires_grad_() if not x.requires_grad else x
    with torch.enable_grad():
        out = g(x)
        columns = [
            torch.autograd.grad(out[:, i].sum(), x, create_graph=True)[0]
            for i in range(x.shape[1])
        ]
    J = torch.stack(columns, dim=1)  # J[n, i, j] = d g_i / d x_j
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    return torch.linalg.slogdet(eye + J)[1]


@contract(
    "eq-ir-hutchinson",
    x=Tensor("N", "D"),
    v=Tensor(like="x"),
    n_terms=Int(low=1),
    create_graph=Flag(),
    out=Tensor(like="x", optional=True),
)
def trace_terms(g, x, v, n_terms, create_graph=False, out=None):
    """``[v^T J v, v^T J^2 v, ..., v^T J^n v]`` per row of ``x``, by ``n`` vector-Jacobian products.

    Each is a Hutchinson sample of ``tr(J^k)`` when ``v`` has mean 0 and identity covariance.
    Implements :eq:`eq-ir-hutchinson`.
    ``out`` is ``g(x)`` when the caller has computed it already (``x`` then requires grad).
    """
    if not callable(g):
        raise TypeError(f"g must be callable, got {type(g).__name__}")
    if out is not None and not x.requires_grad:
        raise ValueError("x must require grad when out = g(x) is given")
    x = x if x.requires_grad else x.detach().requires_grad_()
    with torch.enable_grad():
        out = g(x) if out is None else out
        w, terms = v, []
        for _ in range(n_terms):
            before = w.detach().norm(dim=1)
            w = torch.autograd.grad(
                out, x, w, create_graph=create_graph, retain_graph=True
            )[0]
            if not create_graph:  # in training, see _refuse_growth
                _refuse_growth(before, w.detach().norm(dim=1))
            terms.append((w * v).sum(dim=1))
    return terms


#: How much a Jacobian may lengthen a vector before the series is refused.
GROWTH_LIMIT = 1.1


def _refuse_growth(before, after):
    """Refuse a ``g`` whose Jacobian clearly lengthens a vector: then Lip(g) > 1.

    Where Lip(g) < 1, every product :math:`w^\top J` is shorter than :math:`w`. A
    spectrally normalized layer during training can exceed its bound by a little,
    since one power-iteration step per update lags behind the weights; that is left
    to the caller. What is refused is a clear expansion, by more than
    :data:`GROWTH_LIMIT`, where the series cannot converge. This is a guard against
    misuse, not a certificate that the series converges. It is not applied while
    training (``create_graph=True``): there a layer can run ahead of its power
    iteration for a few steps, and the estimate is then biased for those steps, but
    stopping the training would help no one.
    """
    grew = after > before * GROWTH_LIMIT
    if grew.any():
        n = int(grew.nonzero()[0, 0])
        ratio = (after[n] / before[n]).item()
        raise ValueError(
            f"g must have Lip(g) < 1 for the series to converge, but its Jacobian "
            f"at row {n} of x lengthens a vector by a factor of {ratio:.3g}"
        )


def _probe(x, generator, kind):
    """A probe shaped like ``x``: Gaussian, or Rademacher (signs +-1)."""
    if kind == "gaussian":
        return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(
            x.device
        )
    return (
        (torch.randint(0, 2, x.shape, generator=generator) * 2 - 1)
        .to(x.dtype)
        .to(x.device)
    )


@contract(
    "eq-ir-logdet-series",
    x=Tensor("N", "D"),
    n_terms=Int(low=1),
    n_samples=Int(low=1),
    probe=PROBES,
    generator=Instance(torch.Generator, optional=True),
    create_graph=Flag(),
    out=Tensor(like="x", optional=True),
)
def power_series_logdet(
    g,
    x,
    n_terms=5,
    *,
    n_samples=1,
    probe="gaussian",
    generator=None,
    create_graph=False,
    out=None,
):
    """The power series truncated after ``n_terms``, traces by Hutchinson with ``n_samples`` probes per row.

    Implements :eq:`eq-ir-logdet-series`. Biased: the truncation error is not zero in
    expectation. ``out`` is passed on to :func:`trace_terms`. ``g`` must be a
    contraction where it declares a bound (see ``_lipschitz_bound``).
    """
    _refuse_expansion(g, x)
    total = 0.0
    for _ in range(n_samples):
        v = _probe(x, generator, probe)
        terms = trace_terms(g, x, v, n_terms, create_graph, out)
        total = total + sum(
            (-1) ** (k + 1) / k * t for k, t in enumerate(terms, start=1)
        )
    return total / n_samples


@contract(
    "eq-ir-roulette",
    x=Tensor("N", "D"),
    p=Real(low=0, high=1, low_open=True, high_open=True),
    exact_terms=Int(low=0),
    probe=PROBES,
    generator=Instance(torch.Generator, optional=True),
    create_graph=Flag(),
    out=Tensor(like="x", optional=True),
)
def russian_roulette_logdet(
    g,
    x,
    *,
    p=0.5,
    exact_terms=2,
    probe="gaussian",
    generator=None,
    create_graph=False,
    out=None,
):
    r"""An unbiased estimate: a random number of terms, each reweighted by its survival probability.

    The series is cut after :math:`n = \text{exact\_terms} + N` terms, :math:`N \sim \mathrm{Geometric}(p)`
    on {0, 1, ...}, and term :math:`k` is divided by :math:`P(n \ge k)`, so that the
    expectation over :math:`N` is the whole series. Implements :eq:`eq-ir-roulette`.
    The expected number of terms is ``exact_terms + (1 - p) / p``. ``out`` is passed on
    to :func:`trace_terms`. Returns ``(estimate per row, number of terms used)``.
    """
    _refuse_expansion(g, x)
    u = torch.rand(1, generator=generator, dtype=torch.float64).item()
    extra = int(
        torch.log(torch.tensor(u)) // torch.log(torch.tensor(1 - p))
    )  # P(extra >= k) = (1 - p)^k
    n_terms = exact_terms + extra
    v = _probe(x, generator, probe)
    terms = trace_terms(g, x, v, max(n_terms, 1), create_graph, out)
    estimate = 0.0
    for k, t in enumerate(terms[:n_terms], start=1):
        survival = (
            1.0 if k <= exact_terms else (1 - p) ** (k - exact_terms)
        )  # P(N >= k - exact_terms)
        estimate = estimate + (-1) ** (k + 1) / k * t / survival
    return estimate, n_terms


@contract(
    "eq-ir-neumann",
    x=Tensor("N", "D"),
    n_terms=Int(low=1),
    probe=PROBES,
    generator=Instance(torch.Generator, optional=True),
    v=Tensor(like="x", optional=True),
)
def neumann_gradient_surrogate(
    g, x, n_terms=10, *, probe="gaussian", generator=None, v=None
):
    r"""A scalar per row whose *gradient* estimates that of ``log det(I + J)``; its value is not the log-det.

    :math:`\nabla_\theta \log\det(I + J) = \operatorname{tr}\bigl((I + J)^{-1} \partial_\theta J\bigr)`, and
    :math:`(I + J)^{-1} = \sum_{k \ge 0} (-J)^k` (a Neumann series). The surrogate is
    :math:`w^\top J v` with

    .. math::
        w^\top = v^\top \sum_{k=0}^{n-1} (-J)^k ,

    :math:`n` = ``n_terms`` terms, computed without a graph, so memory does not grow
    with the number of terms. The series is *truncated*: the expected gradient misses
    :math:`\operatorname{tr}\bigl(\sum_{k \ge n} (-J)^k \partial_\theta J\bigr)` and is
    biased; :func:`roulette_neumann_logdet` reweights it without bias. ``v`` (n, d) is a
    probe to use instead of a random one. Implements :eq:`eq-ir-neumann`.
    """
    _refuse_expansion(g, x)
    v = _probe(x, generator, probe) if v is None else v
    x = x if x.requires_grad else x.detach().requires_grad_()
    with torch.enable_grad():
        out = g(x)
        w, acc = v, v.clone()
        for _ in range(n_terms - 1):
            w = -torch.autograd.grad(out, x, w, retain_graph=True)[0].detach()
            acc = acc + w
        return (
            torch.autograd.grad(out, x, acc.detach(), create_graph=True)[0] * v
        ).sum(dim=1)


@contract("eq-ir-logdet-series", traces=Tensor("K", ...))
def series_from_traces(traces):
    r"""The power series of :math:`\log\det(I + J)` cut after as many terms as ``traces`` has.

    ``traces`` (n_terms, ...) holds :math:`\operatorname{tr}(J^k)`, or Hutchinson samples of
    it, for :math:`k = 1, \dots, n`; returns
    :math:`\sum_{k=1}^{n} \frac{(-1)^{k+1}}{k} \operatorname{tr}(J^k)`, of shape
    ``traces.shape[1:]``. Implements :eq:`eq-ir-logdet-series`.
    """
    k = torch.arange(1, len(traces) + 1, dtype=traces.dtype)
    coefficients = (-1.0) ** (k + 1) / k
    return torch.tensordot(coefficients, traces, dims=1)


@contract(
    "eq-ir-roulette",
    traces=Tensor("K", ...),
    n_extra=Int(low=0),
    p=Real(low=0, high=1, low_open=True, high_open=True),
    exact_terms=Int(low=0),
)
def roulette_from_traces(traces, n_extra, *, p=0.5, exact_terms=2):
    r"""The Russian-roulette estimate of :math:`\log\det(I + J)` for a drawn number of extra terms.

    ``traces`` (K, ...) holds Hutchinson samples of :math:`\operatorname{tr}(J^k)`,
    :math:`k = 1, \dots, K`, with :math:`K \ge` ``exact_terms + n_extra``; ``n_extra`` is
    the draw :math:`N` of a geometric distribution on {0, 1, ...} with
    :math:`P(N \ge j) = (1 - p)^j`. Term :math:`k` of the series is kept when
    :math:`k \le` ``exact_terms + n_extra`` and divided by the probability that it is kept
    (the sum of :func:`russian_roulette_logdet`, which draws :math:`N` and the probe
    itself; this function takes N and the traces as given). Implements
    :eq:`eq-ir-roulette`.
    """
    n_terms = exact_terms + n_extra
    if n_terms > len(traces):
        raise ValueError(
            f"n_extra must leave exact_terms + n_extra <= K = {len(traces)} "
            f"traces, got n_extra = {n_extra}, exact_terms = {exact_terms}"
        )
    k = torch.arange(1, n_terms + 1, dtype=traces.dtype)
    # term k is kept when N >= k - exact_terms
    survival = (1 - p) ** torch.clamp(k - exact_terms, min=0)
    return series_from_traces(traces[:n_terms] / _expand(survival, traces))


def _expand(weights, traces):
    """``weights`` (K,) shaped to divide ``traces`` (K, ...) term by term."""
    return weights.reshape(-1, *([1] * (traces.ndim - 1)))


__all__ += ["roulette_from_traces", "series_from_traces"]


# --- the estimators' variance ------------------------------------------------


@contract(
    "eq-ir-hutchinson-variance",
    A=Tensor(..., "D", "D"),
    probe=PROBES,
)
def hutchinson_variance(A, probe="gaussian"):
    r"""The variance of one Hutchinson sample :math:`v^\top A v` of :math:`\operatorname{tr}(A)`.

    Parameters
    ----------
    A : torch.Tensor
        Square matrices (..., d, d), symmetric or not (such as :math:`J^k`).
    probe : str, default "gaussian"
        ``"gaussian"`` (:math:`v \sim \mathcal{N}(0, I)`) or ``"rademacher"``
        (independent signs :math:`\pm 1`).

    Returns
    -------
    torch.Tensor
        The variance (...,). Only the symmetric part :math:`S = (A + A^\top)/2` enters,
        since :math:`v^\top A v = v^\top S v`:

        .. math::
            \begin{aligned}
            \operatorname{Var}_{\mathcal{N}}(v^\top A v)
            &= \lVert A \rVert_F^2 + \operatorname{tr}(A^2) \\
            &= 2 \lVert S \rVert_F^2, \\
            \operatorname{Var}_{\pm 1}(v^\top A v)
            &= 2 \lVert S \rVert_F^2 \\
            &\quad - 2 \sum_i a_{ii}^2.
            \end{aligned}

    Implements :eq:`eq-ir-hutchinson-variance`.
    """
    _refuse_nan("A", A)
    S = (A + A.transpose(-1, -2)) / 2
    variance = 2 * (S**2).sum(dim=(-2, -1))
    if probe == "rademacher":
        variance = variance - 2 * (A.diagonal(dim1=-2, dim2=-1) ** 2).sum(
            dim=-1
        )
    return variance


def _refuse_nan(name, t):
    """A ValueError naming ``name`` where ``t`` holds NaN or inf."""
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite, got a tensor with NaN or inf")


def _survival(n_terms, p, exact_terms, dtype):
    r""":math:`P(n \ge k)` for :math:`k = 1, \dots, K`: 1 up to ``exact_terms``, then geometric."""
    k = torch.arange(1, n_terms + 1, dtype=dtype)
    return (1 - p) ** torch.clamp(k - exact_terms, min=0)


@contract(
    "eq-ir-roulette-variance",
    deltas=Tensor("K", ...),
    p=Real(low=0, high=1, low_open=True, high_open=True),
    exact_terms=Int(low=0),
)
def roulette_variance(deltas, *, p=0.5, exact_terms=2):
    r"""The exact variance of the Russian-roulette estimate of :math:`\sum_{k \le K} \Delta_k`.

    The estimate is :math:`Z = \sum_{k=1}^{n} \Delta_k / q_k` with :math:`n =` ``exact_terms``
    :math:`+ N`, :math:`N \sim \mathrm{Geometric}(p)` on {0, 1, ...} and
    :math:`q_k = P(n \ge k) = (1 - p)^{\max(0,\, k - m)}`, :math:`m =` ``exact_terms``
    (:func:`roulette_from_traces` with fixed, exact terms). Terms past :math:`K` are taken as
    zero. With the tails :math:`T_k = \sum_{j \ge k} \Delta_j`,

    .. math::
        \operatorname{Var}(Z) = \sum_{j,k} \Delta_j \Delta_k
        \Bigl(\frac{1}{q_{\min(j,k)}} - 1\Bigr)
        = p \sum_{k > m} \frac{T_k^2}{(1 - p)^{k - m}}.

    For the whole series with :math:`\lvert T_k \rvert \sim \rho^k / k` the sum is finite
    when :math:`\rho^2 < 1 - p` and infinite when :math:`\rho^2 > 1 - p`; the truncated
    sum then grows without bound with :math:`K`.

    Parameters
    ----------
    deltas : torch.Tensor
        The terms :math:`\Delta_1, \dots, \Delta_K` (K, ...), fixed numbers (such as
        :math:`\frac{(-1)^{k+1}}{k} \operatorname{tr}(J^k)` from exact traces).
    p : float, default 0.5
        The stopping probability of the geometric draw.
    exact_terms : int, default 2
        The terms always kept.

    Returns
    -------
    torch.Tensor
        The variance, of shape ``deltas.shape[1:]``. Implements :eq:`eq-ir-roulette-variance`.
    """
    _refuse_nan("deltas", deltas)
    tails = deltas.flip(0).cumsum(0).flip(0)  # T_k = sum_{j >= k} Delta_j
    q = _survival(len(deltas), p, exact_terms, deltas.dtype)
    step = 1 / q - torch.cat([torch.ones(1, dtype=q.dtype), 1 / q[:-1]])
    return torch.tensordot(step, tails**2, dims=1)


@contract(
    "eq-ir-neumann-roulette",
    z=Tensor("N", "D"),
    p=Real(low=0, high=1, low_open=True, high_open=True),
    exact_terms=Int(low=1),
    probe=PROBES,
    generator=Instance(torch.Generator, optional=True),
    v=Tensor(like="z", optional=True),
    n_extra=Int(low=0, optional=True),
)
def roulette_neumann_logdet(
    block,
    z,
    *,
    p=0.5,
    exact_terms=2,
    probe="gaussian",
    generator=None,
    v=None,
    n_extra=None,
):
    r"""A block's output and a log-det estimate whose value *and* gradient are unbiased, in constant memory.

    One draw :math:`n =` ``exact_terms`` :math:`+ N`, :math:`N \sim \mathrm{Geometric}(p)`,
    and one probe :math:`v` serve both. The value is the Russian-roulette estimate
    :math:`\sum_{k=1}^{n} \frac{(-1)^{k+1}}{k} v^\top J^k v / q_k` with
    :math:`q_k = P(n \ge k)`. The gradient is that of the surrogate
    :math:`w^\top J v`, where :math:`w^\top` is computed without a graph,

    .. math::
        w^\top = \sum_{k=0}^{n-1} \frac{(-1)^k}{q_{k+1}}\, v^\top J^k ,

    whose expectation over :math:`n` and :math:`v` is
    :math:`\operatorname{tr}\bigl((I + J)^{-1} \partial J\bigr) = \partial \log\det(I + J)`.
    Residual Flows sum :math:`k = 0, \dots, n` with the weights :math:`1 / q_k`; this
    index-shifted form is equally unbiased, pairs each gradient term with the value term
    it differentiates, and needs :math:`v^\top J^k` only up to :math:`k = n - 1`.
    The returned log-det is ``value.detach() + surrogate - surrogate.detach()``: its forward
    value is the roulette estimate, its gradient (with respect to the parameters of
    ``block.g`` and to ``z``) is the roulette-weighted Neumann series. It costs
    :math:`n + 1` vector-Jacobian products, one of them kept for the backward pass.
    Implements :eq:`eq-ir-neumann-roulette`.

    Parameters
    ----------
    block : torch.nn.Module
        An invertible residual block with branch ``block.g``, Lip < 1.
    z : torch.Tensor
        The block's input (n, d).
    p : float, default 0.5
        The stopping probability of the geometric draw.
    exact_terms : int, default 2
        The terms always kept (at least 1).
    probe : str, default "gaussian"
        ``"gaussian"`` or ``"rademacher"``.
    generator : torch.Generator, optional
        The source of the draw and of the probe.
    v : torch.Tensor, optional
        A probe (n, d) to use instead of a random one.
    n_extra : int, optional
        A value of :math:`N` to use instead of a random one.

    Returns
    -------
    tuple
        ``(block output (n, d), log-det estimate (n,))``; pass
        ``lambda block, z: roulette_neumann_logdet(block, z, generator=g)`` as
        ``IResNetFlow(logdet=...)``.
    """
    g = getattr(block, "g", None)
    if not callable(g):
        raise TypeError(
            f"block must have a callable branch g, got {type(block).__name__}"
        )
    _refuse_nan("z", z)
    _refuse_expansion(g, z)
    if n_extra is None:
        u = torch.rand(1, generator=generator, dtype=torch.float64).item()
        n_extra = int(math.log(u) // math.log(1 - p))  # P(N >= j) = (1 - p)^j
    n = exact_terms + n_extra
    q = _survival(n, p, exact_terms, torch.float64).tolist()
    v = _probe(z, generator, probe) if v is None else v
    x = z if z.requires_grad else z.detach().requires_grad_()
    with torch.enable_grad():
        out = g(x)
        w, acc, value = v, v / q[0], 0.0
        for k in range(1, n + 1):
            w = torch.autograd.grad(out, x, w, retain_graph=True)[0].detach()
            value = value + (-1) ** (k + 1) / k * (w * v).sum(dim=1) / q[k - 1]
            if k < n:
                acc = acc + (-1) ** k * w / q[k]
        surrogate = (
            torch.autograd.grad(out, x, acc, create_graph=True)[0] * v
        ).sum(dim=1)
    logdet = value.detach() + surrogate - surrogate.detach()
    return x + out, logdet


__all__ += [
    "hutchinson_variance",
    "roulette_neumann_logdet",
    "roulette_variance",
]
