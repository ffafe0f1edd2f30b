"""The 2-D density experiment: an i-ResNet and a coupling flow of equal size, trained alike, scored against the entropy.

Both flows see the same number of steps and the same stream of fresh batches from the
true density (:func:`nnbook.data.toy2d`), so neither can overfit a training set, and
both are scored by the test negative log-likelihood minus the data's entropy
(:func:`nnbook.data.toy2d_entropy`): their KL divergence from the truth, in nats, by
equation :eq:`eq-ir-nll-bound`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from nnbook import data
from nnbook.invertible.flows import (
    AffineCouplingFlow,
    IResNetFlow,
    fit_flow,
    log_density_grid,
)

__all__ = ["ToyResult", "make_toy_flows", "plot_toy_row", "run_toy"]


def make_toy_flows(seed=0):
    """``{"i-ResNet": ..., "coupling": ...}``: 8 blocks (2-64-64-2, c = 0.99, ActNorm), 8 couplings (2-64-64-4).

    Both in float64. ``seed`` seeds torch's global generator, which draws the initial weights.
    """
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(
        torch.float64
    )  # the initial weights are drawn in float64 too
    try:
        return {
            "i-ResNet": IResNetFlow(
                2, n_blocks=8, hidden=64, layers=3, coeff=0.99, actnorm=True
            ),
            "coupling": AffineCouplingFlow(2, n_layers=8, hidden=64),
        }
    finally:
        torch.set_default_dtype(default)


@dataclass
class ToyResult:
    """The trained flows (float64), the data's entropy, and per flow: test NLL, gap to the entropy, training time.

    The training time is in CPU seconds of this process: the time the training takes on
    one core, which other programs running at the same time do not inflate.

    ``seed`` is the seed the run drew from; :func:`plot_toy_row` draws its samples from ``seed + 2``.
    """

    name: str
    seed: int
    flows: dict
    entropy: float
    nll: dict
    gap: dict
    seconds: dict


def run_toy(
    name, *, steps=1000, batch_size=256, lr=5e-3, n_test=10_000, seed=0
):
    """Train both flows of :func:`make_toy_flows` on ``name`` and score them on ``n_test`` held-out points.

    Everything is computed in float64: the kernels of another CPU round differently, and
    training amplifies that, but not up to the printed digits. ``seed`` draws the initial
    weights and the stream of training batches (the same stream for both flows);
    ``seed + 1`` draws the test points. A notebook passes ``seed=nnbook.seed(k)``.
    """
    flows = make_toy_flows(seed)
    test = data.toy2d(
        name, n_test, generator=torch.Generator().manual_seed(seed + 1)
    )
    entropy = data.toy2d_entropy(name)
    nll, gap, seconds = {}, {}, {}
    for label, flow in flows.items():
        batches = torch.Generator().manual_seed(
            seed
        )  # the same stream of batches for both flows
        start = time.process_time()
        fit_flow(
            flow,
            lambda g=batches: data.toy2d(name, batch_size, generator=g),
            steps,
            lr=lr,
        )
        seconds[label] = time.process_time() - start
        with torch.no_grad():
            nll[label] = -flow.log_prob(test).mean().item()
        gap[label] = nll[label] - entropy
    return ToyResult(name, seed, flows, entropy, nll, gap, seconds)


#: Half the width of the plotted square, per dataset.
PLOT_LIMITS = {
    "8gaussians": 4.0,
    "checkerboard": 2.5,
    "moons": 2.6,
    "spirals": 3.7,
}


def plot_toy_row(axes, result, *, n_samples=1000):
    """Five panels: the true density, both models' densities (same colour scale), and samples from each."""
    lim = PLOT_LIMITS[result.name]
    panels = [("data", lambda x: data.toy2d_log_density(result.name, x))]
    panels += [(label, flow.log_prob) for label, flow in result.flows.items()]
    densities = [
        (label, log_density_grid(log_prob, lim=lim, n=100)[1].exp())
        for label, log_prob in panels
    ]
    top = max(density.max().item() for _, density in densities)
    for ax, (label, density) in zip(axes[:3], densities, strict=True):
        ax.imshow(
            density.numpy(),
            origin="lower",
            extent=(-lim, lim, -lim, lim),
            cmap="magma",
            vmin=0,
            vmax=top,
        )
        ax.set_title(
            f"{result.name}: true density"
            if label == "data"
            else f"{label} density",
            fontsize=9,
        )
    for ax, (label, flow) in zip(axes[3:], result.flows.items(), strict=True):
        samples = flow.sample(
            n_samples, generator=torch.Generator().manual_seed(result.seed + 2)
        )
        ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.5)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        ax.set_title(f"{label} samples (inverse)", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
