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
"""

from __future__ import annotations

import torch

__all__ = [
    "exact_logdet",
    "neumann_gradient_surrogate",
    "power_series_logdet",
    "russian_roulette_logdet",
    "trace_terms",
]


def _check(g, x):
    if x.ndim != 2:
        raise ValueError(
            f"x must have shape (batch, dim), got {tuple(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or inf")


def exact_logdet(g, x):
    """``log|det(I + J_g(x))|`` for every row of ``x`` (n, d), from the full Jacobian: small d only."""
    _check(g, x)
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


def trace_terms(g, x, v, n_terms, create_graph=False, out=None):
    """``[v^T J v, v^T J^2 v, ..., v^T J^n v]`` per row of ``x``, by ``n`` vector-Jacobian products.

    Each is a Hutchinson sample of ``tr(J^k)`` when ``v`` has mean 0 and identity covariance.
    ``out`` is ``g(x)`` when the caller has computed it already (``x`` then requires grad).
    """
    if out is not None and not x.requires_grad:
        raise ValueError("x must require grad when out = g(x) is given")
    x = x if x.requires_grad else x.detach().requires_grad_()
    with torch.enable_grad():
        out = g(x) if out is None else out
        w, terms = v, []
        for _ in range(n_terms):
            w = torch.autograd.grad(
                out, x, w, create_graph=create_graph, retain_graph=True
            )[0]
            terms.append((w * v).sum(dim=1))
    return terms


def _probe(x, generator, kind):
    if kind == "gaussian":
        return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(
            x.device
        )
    if kind == "rademacher":
        return (
            (torch.randint(0, 2, x.shape, generator=generator) * 2 - 1)
            .to(x.dtype)
            .to(x.device)
        )
    raise ValueError(f"probe must be 'gaussian' or 'rademacher', got {kind!r}")


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

    Biased: the truncation error is not zero in expectation. ``out`` is passed on to
    :func:`trace_terms`.
    """
    _check(g, x)
    total = 0.0
    for _ in range(n_samples):
        v = _probe(x, generator, probe)
        terms = trace_terms(g, x, v, n_terms, create_graph, out)
        total = total + sum(
            (-1) ** (k + 1) / k * t for k, t in enumerate(terms, start=1)
        )
    return total / n_samples


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
    expectation over :math:`N` is the whole series (equation :eq:`eq-ir-roulette`).
    The expected number of terms is ``exact_terms + (1 - p) / p``. ``out`` is passed on
    to :func:`trace_terms`. Returns ``(estimate per row, number of terms used)``.
    """
    _check(g, x)
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
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


def neumann_gradient_surrogate(
    g, x, n_terms=10, *, probe="gaussian", generator=None
):
    r"""A scalar per row whose *gradient* estimates that of ``log det(I + J)``; its value is not the log-det.

    :math:`\nabla_\theta \log\det(I + J) = \operatorname{tr}\bigl((I + J)^{-1} \partial_\theta J\bigr)`, and
    :math:`(I + J)^{-1} = \sum_k (-J)^k` (a Neumann series). The surrogate is
    :math:`w^\top J v` with :math:`w^\top = v^\top \sum_{k < n} (-J)^k` computed without a graph,
    so memory does not grow with the number of terms (equation :eq:`eq-ir-neumann`).
    """
    _check(g, x)
    v = _probe(x, generator, probe)
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
