r"""Training flows with one log-determinant estimator and scoring them with another.

In two dimensions a block carries its exact :math:`2 \times 2` Jacobian
(:meth:`nnbook.invertible.InvertibleResidualBlock.forward_and_jacobian`), so the traces
:math:`\operatorname{tr}(J^k)` of the power series (equation :eq:`eq-ir-logdet-series`)
are exact and cheap. The estimators built here use them: a truncated series and a
Russian roulette (equation :eq:`eq-ir-roulette`) without Hutchinson's noise, so that
what is compared is truncation bias against an unbiased random truncation and nothing
else. :func:`train_flow` trains a flow with any estimator and records the negative
log-likelihood of held-out points with the exact log-determinant.
"""

from __future__ import annotations

import torch
from torch import nn

from nnbook.contract import Instance, Int, Real, Tensor, contract
from nnbook.invertible._flows import ActNorm
from nnbook.invertible._logdet import roulette_from_traces, series_from_traces

__all__ = [
    "block_jacobians",
    "estimator_nll",
    "exact_nll",
    "exact_trace_roulette",
    "exact_trace_series",
    "jacobian_traces",
    "train_flow",
]


@contract("eq-ir-logdet-series", J=Tensor("N", "D", "D"), n_terms=Int(low=1))
def jacobian_traces(J, n_terms):
    r"""The exact traces :math:`\operatorname{tr}(J^k)`, :math:`k = 1, \dots, n`, of a batch of matrices.

    The traces of the power series of :math:`\log\det(I + J)`. Implements
    :eq:`eq-ir-logdet-series`.

    Parameters
    ----------
    J : torch.Tensor
        Shape (N, D, D): one square matrix per row, such as :math:`J_g(x)`.
    n_terms : int
        The number of powers :math:`n`.

    Returns
    -------
    torch.Tensor
        Shape (n_terms, N): row :math:`k - 1` holds :math:`\operatorname{tr}(J^k)`.

    Notes
    -----
    .. math::
        t_k = \operatorname{tr}(J^k) = \sum_i \lambda_i^k ,

    computed by :math:`k` matrix products, :math:`J^k = J^{k-1} J`.
    """
    if not torch.isfinite(J).all():
        raise ValueError("J contains NaN or inf")
    power, traces = J, []
    for k in range(n_terms):
        if k > 0:
            power = power @ J  # J^(k+1), (N, D, D)
        traces.append(power.diagonal(dim1=1, dim2=2).sum(dim=1))
    return torch.stack(traces)


@contract("eq-ir-logdet-series", n_terms=Int(low=1))
def exact_trace_series(n_terms):
    r"""An estimator for :class:`nnbook.invertible.IResNetFlow` that truncates the series, with exact traces.

    Implements :eq:`eq-ir-logdet-series`.

    Parameters
    ----------
    n_terms : int
        The number of terms kept.

    Returns
    -------
    callable
        ``estimator(block, z) -> (y, logdet)``: the block's output (N, D) and the
        truncated series (N,), with :math:`J = J_g(z)` carried through the block.

    Notes
    -----
    .. math::
        \log\det(I + J) \approx \sum_{k=1}^{n} \frac{(-1)^{k+1}}{k} \operatorname{tr}(J^k) .

    Deterministic and biased: what the truncation leaves out is not charged.
    """

    def estimator(block, z):
        y, jac = block.forward_and_jacobian(z)
        J = jac - torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
        return y, series_from_traces(jacobian_traces(J, n_terms))

    return estimator


@contract(
    "eq-ir-roulette",
    p=Real(low=0, high=1, low_open=True, high_open=True),
    exact_terms=Int(low=0),
    generator=Instance(torch.Generator, optional=True),
)
def exact_trace_roulette(p=0.5, exact_terms=2, generator=None):
    r"""An estimator for :class:`nnbook.invertible.IResNetFlow`: the Russian roulette on exact traces.

    Implements :eq:`eq-ir-roulette`.

    Parameters
    ----------
    p : float, default 0.5
        The stopping probability. With :math:`m` = ``exact_terms``, the total number
        of terms :math:`N` is :math:`m` plus a geometric number of extra terms,
        :math:`P(N - m \ge j) = (1 - p)^j` for :math:`j = 0, 1, \dots`, at an expected
        cost of :math:`m + (1 - p)/p` terms.
    exact_terms : int, default 2
        The terms :math:`m` always kept.
    generator : torch.Generator, optional
        The source of the draws of :math:`N`, one per call, shared by the batch.

    Returns
    -------
    callable
        ``estimator(block, z) -> (y, logdet)``: the block's output (N, D) and an
        unbiased estimate of :math:`\log\det(I + J_g(z))` (N,).

    Notes
    -----
    .. math::
        \begin{aligned}
        \log\det(I + J)
        &= \mathbb{E}_N\Bigl[\sum_{k=1}^{N}
        \frac{(-1)^{k+1}}{k} \frac{\operatorname{tr}(J^k)}{P(N \ge k)}\Bigr], \\
        P(N \ge k) &= (1 - p)^{\max(k - m, 0)} .
        \end{aligned}

    Unbiased when the series converges absolutely (spectral radius of :math:`J`
    below 1), since every :math:`P(N \ge k)` is positive. The traces are exact, so
    the only randomness is :math:`N`; Hutchinson's estimator of the traces, which
    the Residual Flows paper also uses, would add its own.
    """

    def estimator(block, z):
        u = torch.rand(1, generator=generator, dtype=torch.float64).item()
        n_extra = int(
            torch.log(torch.tensor(u)) // torch.log(torch.tensor(1 - p))
        )  # N - m, with P(n_extra >= j) = (1 - p)^j
        y, jac = block.forward_and_jacobian(z)
        J = jac - torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
        traces = jacobian_traces(J, max(exact_terms + n_extra, 1))
        return y, roulette_from_traces(
            traces, n_extra, p=p, exact_terms=exact_terms
        )

    return estimator


def _layers(flow):
    """The flow's (ActNorm or identity, block) pairs, in order."""
    return zip(flow.norms, flow.blocks, strict=True)


@contract(flow=Instance(nn.Module), x=Tensor("N", "D"))
@torch.no_grad()
def block_jacobians(flow, x):
    r"""The Jacobians :math:`J_g` of every block of an i-ResNet flow, at the points each block sees.

    Parameters
    ----------
    flow : torch.nn.Module
        An :class:`nnbook.invertible.IResNetFlow` (its ``norms`` and ``blocks``).
    x : torch.Tensor
        Shape (N, D): the flow's inputs.

    Returns
    -------
    torch.Tensor
        Shape (n_blocks, N, D, D): :math:`J_{g_b}(z_b)`, where :math:`z_b` is the input
        of block :math:`b` (after its ActNorm, if any) when the flow maps ``x``
        (:func:`nnbook.invertible.block_inputs` returns these points).
    """
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    z, jacobians = x, []
    for norm, block in _layers(flow):
        if isinstance(norm, ActNorm):
            z = norm(z)[0]
        z, jac = block.forward_and_jacobian(z)
        jacobians.append(jac - eye)
    return torch.stack(jacobians)


@contract(flow=Instance(nn.Module), x=Tensor("N", "D"))
@torch.no_grad()
def exact_nll(flow, x):
    r"""The mean negative log-likelihood of ``x`` under ``flow``, with exact log-determinants.

    Whatever estimator the flow trains with, the score uses the exact one
    (the flow's ``logdet`` is set to ``"exact"`` for the call and then restored), in
    eval mode.

    Parameters
    ----------
    flow : torch.nn.Module
        An :class:`nnbook.invertible.IResNetFlow`.
    x : torch.Tensor
        Shape (N, D): held-out points.

    Returns
    -------
    float

    Notes
    -----
    .. math::
        \mathrm{NLL} = -\frac{1}{N} \sum_{n} \Bigl[\log \mathcal{N}\bigl(f(x_n); 0, I\bigr)
        + \log\det J_f(x_n)\Bigr] .
    """
    was_training, estimator = flow.training, flow.logdet
    flow.eval()
    flow.logdet = "exact"
    try:
        return -flow.log_prob(x).mean().item()
    finally:
        flow.logdet = estimator
        flow.train(was_training)


@contract(flow=Instance(nn.Module), x=Tensor("N", "D"), draws=Int(low=1))
@torch.no_grad()
def estimator_nll(flow, x, draws=1):
    r"""The mean negative log-likelihood of ``x`` as the flow's own estimator reports it.

    The counterpart of :func:`exact_nll`: the flow keeps its log-determinant estimator
    (a truncated series, a roulette, or ``"exact"``), in eval mode. The difference
    ``exact_nll(flow, x) - estimator_nll(flow, x)`` is the log-determinant the
    estimator fails to charge, summed over the blocks and averaged over the points.

    Parameters
    ----------
    flow : torch.nn.Module
        An :class:`nnbook.invertible.IResNetFlow`.
    x : torch.Tensor
        Shape (N, D): the points.
    draws : int, default 1
        For a random estimator, the number of independent calls averaged; each call
        draws afresh (a roulette draws one :math:`N` per block and call).

    Returns
    -------
    float

    Notes
    -----
    .. math::
        \widehat{\mathrm{NLL}} = -\frac{1}{S} \sum_{s=1}^{S} \frac{1}{N} \sum_{n}
        \Bigl[\log \mathcal{N}\bigl(f(x_n); 0, I\bigr)
        + \widehat{\log\det}_s J_f(x_n)\Bigr] .
    """
    was_training = flow.training
    flow.eval()
    try:
        total = sum(-flow.log_prob(x).mean().item() for _ in range(draws))
        return total / draws
    finally:
        flow.train(was_training)


@contract(
    flow=Instance(nn.Module),
    steps=Int(low=1),
    test=Tensor("M", "D"),
    lr=Real(low=0, low_open=True),
    every=Int(low=1),
)
def train_flow(flow, sample_batch, steps, *, test, lr=3e-3, every=100):
    r"""Adam on the flow's own loss; record that loss and the exact test NLL every ``every`` steps.

    Parameters
    ----------
    flow : torch.nn.Module
        A flow with ``log_prob``, trained with the log-determinant estimator it holds.
    sample_batch : callable
        ``sample_batch()`` returns the next training batch (B, D).
    steps : int
        Adam updates, at a constant learning rate.
    test : torch.Tensor
        Shape (M, D): held-out points, scored with :func:`exact_nll`.
    lr : float, default 3e-3
    every : int, default 100
        The record interval; step 0, before training, is recorded too.

    Returns
    -------
    dict
        ``"step"``, ``"train"`` and ``"test"``: lists of equal length. ``"train"`` is
        the loss :math:`-\frac{1}{B}\sum \log \hat p(x)` as the estimator reports it on
        the batch of that step (at step 0, on a fresh batch), ``"test"`` the exact
        test NLL. The flow is left in eval mode.

    Notes
    -----
    .. math::
        \theta \leftarrow \mathrm{Adam}\Bigl(\nabla_\theta \,
        -\frac{1}{B} \sum_{b} \log \hat p_\theta(x_b)\Bigr) .
    """
    if not callable(sample_batch):
        raise TypeError(
            f"sample_batch must be callable, got {type(sample_batch).__name__}"
        )
    optimizer = torch.optim.Adam(flow.parameters(), lr=lr)
    history = {"step": [], "train": [], "test": []}
    flow.train()
    for step in range(steps + 1):
        loss = -flow.log_prob(sample_batch()).mean()
        if step % every == 0 or step == steps:
            history["step"].append(step)
            history["train"].append(loss.item())
            history["test"].append(exact_nll(flow, test))
        if step == steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    flow.eval()
    return history
