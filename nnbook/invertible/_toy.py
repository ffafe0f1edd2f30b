"""The 2-D density experiment: an i-ResNet and a coupling flow of equal size, trained alike, scored against the entropy.

Both flows see the same number of steps and the same stream of fresh batches from the
true density (:func:`nnbook.invertible.toy2d`), so neither can overfit a training set, and
both are scored by the test negative log-likelihood minus the data's entropy
(:func:`nnbook.invertible.toy2d_entropy`): their KL divergence from the truth, in nats, by
equation :eq:`eq-ir-nll-bound`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np
import torch

from nnbook import _validate, data, report
from nnbook.contract import Choice, Instance, Int, Real, contract
from nnbook.invertible._flows import (
    AffineCouplingFlow,
    IResNetFlow,
    fit_flow,
    log_density_grid,
)

__all__ = [
    "DensityExperiment",
    "ToyResult",
    "density_experiment",
    "make_toy_flows",
    "plot_toy_row",
    "run_toy",
]


@contract(seed=Int(low=0))
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


@contract(
    "eq-ir-nll-bound",
    name=Choice(*data.TOY2D),
    steps=Int(low=1),
    batch_size=Int(low=2),
    lr=Real(low=0, low_open=True),
    n_test=Int(low=1),
    seed=Int(low=0),
)
def run_toy(
    name, *, steps=1000, batch_size=256, lr=5e-3, n_test=10_000, seed=0
):
    """Train both flows of :func:`make_toy_flows` on ``name`` and score them on ``n_test`` held-out points.

    Everything is computed in float64: the kernels of another CPU round differently, and
    training amplifies that, but not up to the printed digits. ``seed`` draws the initial
    weights and the stream of training batches (the same stream for both flows);
    ``seed + 1`` draws the test points. A notebook passes ``seed=nnbook.seed(k)``.
    A batch holds at least 2 points, as :class:`~nnbook.invertible.ActNorm`
    takes a standard deviation over its first one. Implements :eq:`eq-ir-nll-bound`.
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


@dataclass
class DensityExperiment(ToyResult):
    """A :class:`ToyResult` with the coupling flow's gap as a density page prints it.

    ``coupling`` is that text: the checked range the gap lies in, such as
    ``"between 0.15 and 0.25"``, or its digits when no range was asked for.
    :meth:`summary` gives the lines the page prints.
    """

    coupling: str

    def summary(self):
        """The entropy, the i-ResNet's test NLL and gap, and the coupling flow's gap.

        Returns
        -------
        str
            Three lines, without a final newline.
        """
        nll, gap = self.nll["i-ResNet"], self.gap["i-ResNet"]
        return "\n".join(
            [
                f"H(p) = {self.entropy:.3f} nats",
                f"i-ResNet  test NLL {nll:.3f}, "
                f"gap to the entropy {gap:.3f} nats",
                f"coupling  gap to the entropy {self.coupling} nats",
            ]
        )


def _check_range(coupling_range):
    """``coupling_range`` as ``(low, high)``, or None; refused before any training."""
    if coupling_range is None:
        return None
    if not isinstance(coupling_range, tuple | list):
        raise TypeError(
            "coupling_range must be a pair (low, high) or None, "
            f"got {type(coupling_range).__name__}"
        )
    if len(coupling_range) != 2:
        raise ValueError(
            "coupling_range must hold 2 bounds (low, high), "
            f"got {len(coupling_range)}"
        )
    for bound in coupling_range:
        if bound is not None:
            _validate.number("coupling_range", bound)
    low, high = coupling_range
    if low is None and high is None:
        raise ValueError(
            "coupling_range needs a low bound, a high bound or both, "
            "got (None, None)"
        )
    if low is not None and high is not None and not low < high:
        raise ValueError(
            f"coupling_range must have low below high, got ({low}, {high})"
        )
    return low, high


@contract("eq-ir-nll-bound", **run_toy.contract.specs)
def density_experiment(
    name,
    *,
    coupling_range=None,
    steps=1000,
    batch_size=256,
    lr=5e-3,
    n_test=10_000,
    seed=0,
):
    """The experiment of one density page: both flows trained, scored and summarized.

    Runs :func:`run_toy` with the same arguments, so the draws, and every digit, are
    those of a call to it. The coupling flow's training is chaotic, and the digits of
    its gap depend on the CPU; ``coupling_range`` is the range the gap stays in, which
    the page prints instead, after checking that the gap lies in it
    (:func:`nnbook.report.between`). The gap to the entropy bounds the KL divergence
    from the truth, by equation :eq:`eq-ir-nll-bound`.

    Parameters
    ----------
    name : {"8gaussians", "checkerboard", "moons", "spirals"}
        The density (:func:`nnbook.invertible.toy2d`).
    coupling_range : tuple of (float or None), optional
        ``(low, high)``, the open range the coupling flow's gap must lie in; one of
        them may be None, for a range open on that side. Left out, the gap is
        printed with three decimals, as the i-ResNet's is.
    steps : int, default 1000
        Training steps of each flow.
    batch_size : int, default 256
        Fresh points per step, at least 2.
    lr : float, default 5e-3
        Adam's initial learning rate.
    n_test : int, default 10000
        Held-out points the test NLL is averaged over.
    seed : int, default 0
        Seeds the weights and the batches; ``seed + 1`` the test points. A page
        passes ``seed=nnbook.seed(k)``.

    Returns
    -------
    DensityExperiment
        The trained flows, the entropy, per flow the test NLL, the gap and the CPU
        seconds of training, and the coupling flow's gap as printed text.

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed, before any training.
    AssertionError
        If the coupling flow's gap lies outside ``coupling_range``.
    """
    bounds = _check_range(coupling_range)
    result = run_toy(
        name,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        n_test=n_test,
        seed=seed,
    )
    gap = result.gap["coupling"]
    text = f"{gap:.3f}" if bounds is None else report.between(gap, *bounds)
    parts = {f.name: getattr(result, f.name) for f in fields(result)}
    return DensityExperiment(**parts, coupling=text)


#: Half the width of the plotted square, per dataset.
PLOT_LIMITS = {
    "8gaussians": 4.0,
    "checkerboard": 2.5,
    "moons": 2.6,
    "spirals": 3.7,
}


@contract(result=Instance(ToyResult), n_samples=Int(low=1))
def plot_toy_row(axes, result, *, n_samples=1000):
    """Five panels: the true density, both models' densities (same colour scale), and samples from each."""
    if not isinstance(axes, list | tuple | np.ndarray):
        raise TypeError(
            f"axes must be a list of 5 matplotlib Axes, got {type(axes).__name__}"
        )
    if len(axes) != 5:
        raise ValueError(f"axes must hold 5 Axes, got {len(axes)}")
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
