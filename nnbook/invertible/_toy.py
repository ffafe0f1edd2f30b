"""The 2-D density experiment: an i-ResNet and a coupling flow of equal size, trained alike, scored against the entropy.

Both flows see the same number of steps and the same stream of fresh batches from the
true density (:func:`nnbook.invertible.toy2d`), so neither can overfit a training set, and
both are scored by the test negative log-likelihood minus the data's entropy
(:func:`nnbook.invertible.toy2d_entropy`): their KL divergence from the truth, in nats, by
equation :eq:`eq-ir-nll-bound`.
"""

from __future__ import annotations

import math
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
from nnbook.invertible._logdet import roulette_from_traces

__all__ = [
    "DENSITY_LR",
    "DENSITY_LR_GRID",
    "DENSITY_LR_SWEEP",
    "FLOW_MODELS",
    "DensityExperiment",
    "FlowComparison",
    "compare_flows",
    "make_density_flows",
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


#: The flows of the fair comparison, by label, as :func:`make_density_flows` builds them.
FLOW_MODELS = ("i-ResNet", "i-ResNet (roulette)", "RealNVP", "Glow-like")


class _ExactTraceRoulette:
    """A log-det estimator ``(block, z) -> (y, logdet)``: the Russian roulette on exact traces.

    The block's 2 x 2 Jacobian is carried through its layers, so
    :math:`\\operatorname{tr}(J_g^k)` is exact; only the number of terms is random, one
    geometric draw per call from ``generator``, with :math:`P(N \\ge j) = (1 - p)^j`
    (:func:`nnbook.invertible.roulette_from_traces`). The estimate and its gradient are
    unbiased, without Hutchinson noise.
    """

    def __init__(self, generator, p=0.2, exact_terms=2):
        self.generator, self.p, self.exact_terms = generator, p, exact_terms

    def __call__(self, block, z):
        y, jac = block.forward_and_jacobian(z)
        jac_g = jac - torch.eye(jac.shape[-1], dtype=jac.dtype)
        u = torch.rand((), generator=self.generator, dtype=torch.float64).item()
        n_extra = int(np.floor(np.log(u) / np.log(1 - self.p)))
        n_terms = self.exact_terms + n_extra
        if jac.shape[-1] == 2:  # Cayley-Hamilton: t_k = T t_(k-1) - D t_(k-2)
            trace = jac_g[:, 0, 0] + jac_g[:, 1, 1]
            det = (
                jac_g[:, 0, 0] * jac_g[:, 1, 1]
                - jac_g[:, 0, 1] * jac_g[:, 1, 0]
            )
            traces = [2 * torch.ones_like(trace), trace]
            while len(traces) <= n_terms:
                traces.append(trace * traces[-1] - det * traces[-2])
            traces = traces[1:]
        else:
            power, traces = jac_g, []
            for _ in range(n_terms):
                traces.append(torch.diagonal(power, dim1=1, dim2=2).sum(-1))
                power = power @ jac_g
        logdet = roulette_from_traces(
            torch.stack(traces[:n_terms]),
            n_extra,
            p=self.p,
            exact_terms=self.exact_terms,
        )
        return y, logdet


@contract(seed=Int(low=0))
def make_density_flows(seed=0):
    """The four flows of the fair comparison, by label (``FLOW_MODELS``), in float64.

    Every flow has 4 steps, each with an :class:`~nnbook.invertible.ActNorm` in front:

    - ``"i-ResNet"``: 4 residual blocks 2-32-32-2 (c = 0.99, LipSwish), exact log-det;
    - ``"i-ResNet (roulette)"``: the same, trained with the Russian roulette on exact
      traces (p = 0.2, 2 exact terms, an unbiased log-det); evaluated exactly;
    - ``"RealNVP"``: 4 affine couplings 2-31-31-4 with alternating masks;
    - ``"Glow-like"``: the same couplings, each after a learned, LU-parametrized
      :class:`~nnbook.invertible.InvertibleLinear` (Glow's 1 x 1 convolution in 2-D).

    Their parameter counts agree to within 2 %. Torch's global generator is seeded with
    ``seed`` again before each flow is built, so the comparisons are paired: the two
    i-ResNets start from the same weights, and the Glow-like flow's couplings start from
    RealNVP's (its mixings are drawn after them). The roulette draws its numbers of
    terms from ``seed + 3``.
    """
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    iresnet = {"n_blocks": 4, "hidden": 32, "layers": 3, "coeff": 0.99}
    builders = {
        "i-ResNet": lambda: IResNetFlow(2, actnorm=True, **iresnet),
        "i-ResNet (roulette)": lambda: IResNetFlow(
            2,
            actnorm=True,
            logdet=_ExactTraceRoulette(torch.Generator().manual_seed(seed + 3)),
            **iresnet,
        ),
        "RealNVP": lambda: AffineCouplingFlow(
            2, n_layers=4, hidden=31, actnorm=True
        ),
        "Glow-like": lambda: AffineCouplingFlow(
            2, n_layers=4, hidden=31, actnorm=True, mixing=True
        ),
    }
    flows = {}
    try:
        for label, build in builders.items():
            torch.manual_seed(seed)  # paired: every flow from the same draw
            flows[label] = build()
        return flows
    finally:
        torch.set_default_dtype(default)


#: The learning rates the sweep of ``tools/density_lr_sweep.py`` tried for every flow.
DENSITY_LR_GRID = (3e-3, 1e-2, 3e-2)

#: The gaps to the entropy (nats) that sweep measured, at one seed (500) used by no
#: page, as ``{steps: {label: {lr: (8 Gaussians, checkerboard, moons, spirals)}}}``.
DENSITY_LR_SWEEP = {
    150: {
        "i-ResNet": {
            0.003: (1.43, 1.02, 1.37, 1.19),
            0.01: (1.43, 1.02, 1.3, 1.18),
            0.03: (1.38, 1.02, 1.22, 1.16),
        },
        "RealNVP": {
            0.003: (0.77, 0.74, 0.98, 1.01),
            0.01: (0.58, 0.5, 0.39, 0.83),
            0.03: (0.64, 0.84, 0.63, 0.85),
        },
        "Glow-like": {
            0.003: (0.7, 0.61, 0.81, 0.86),
            0.01: (0.56, 0.56, 0.53, 0.81),
            0.03: (0.74, 0.63, 0.71, 0.87),
        },
    },
    500: {
        "i-ResNet": {
            0.003: (0.94, 0.96, 1.21, 1.15),
            0.01: (0.38, 0.66, 0.73, 0.96),
            0.03: (0.24, 0.67, 0.57, 0.82),
        },
        "RealNVP": {
            0.003: (0.52, 0.42, 0.32, 0.75),
            0.01: (0.43, 0.34, 0.2, 0.74),
            0.03: (0.45, 0.49, 0.27, 0.76),
        },
        "Glow-like": {
            0.003: (0.45, 0.45, 0.37, 0.78),
            0.01: (0.39, 0.42, 0.25, 0.74),
            0.03: (0.45, 0.55, 0.39, 0.84),
        },
    },
}

#: Adam's initial learning rate for each flow of :func:`compare_flows`: of
#: ``DENSITY_LR_GRID``, the one with the smallest gap averaged over the four densities
#: after 500 steps in ``DENSITY_LR_SWEEP``. The roulette-trained i-ResNet uses the
#: exact one's, so that the two differ only in the estimator.
DENSITY_LR = {
    "i-ResNet": 3e-2,
    "i-ResNet (roulette)": 3e-2,
    "RealNVP": 1e-2,
    "Glow-like": 1e-2,
}


def _gaussian_gap(name, test, seed, entropy):
    """The gap of the best single Gaussian: mean and covariance fitted to fresh points.

    The fit uses ``len(test)`` points drawn from ``seed + 4``; the Gaussian's NLL on
    ``test`` minus ``entropy`` is returned. It is where every flow of the comparison
    roughly starts, since each begins with an ActNorm near a Gaussian.
    """
    fit = data.toy2d(
        name, len(test), generator=torch.Generator().manual_seed(seed + 4)
    )
    mean = fit.mean(dim=0)
    centred = fit - mean
    cov = centred.T @ centred / len(fit)
    diff = test - mean
    solved = torch.linalg.solve(cov, diff.T).T
    nll = 0.5 * (
        (diff * solved).sum(dim=1)
        + torch.logdet(cov)
        + test.shape[1] * math.log(2 * math.pi)
    )
    return nll.mean().item() - entropy


@dataclass
class FlowComparison:
    """Several flows trained on one density at several seeds, scored against the entropy.

    ``flows`` holds the flows trained at the first seed (for the figures); ``nll`` and
    ``gap`` map each label to one value per seed, in the order of ``seeds``;
    ``curves`` maps each label to an array (seeds, steps // window): the training loss
    averaged over windows of ``window`` steps. Every batch is fresh from the true
    density, so a window's mean loss estimates the model's expected NLL at that point of
    training (for the roulette-trained flow, with its unbiased log-det estimate).
    ``seconds`` is each label's CPU time of training, summed over the seeds; ``lr``
    the learning rate each label was trained with; ``baseline`` the gap of the best
    single Gaussian at each seed, a reference no flow should stay above;
    ``nonfinite`` the number of training steps, over all seeds, whose loss was not
    finite (a batch point where the model's log-determinant was undefined). They are
    left out of their window's mean. ``steps`` is the number of training steps of each
    flow at each seed (None in a comparison built without it).

    A density page reads its claims off the comparison with :meth:`plateau`,
    :meth:`last_fall`, :meth:`paired_table` and :meth:`glue_texts`.
    """

    name: str
    seeds: tuple
    flows: dict
    entropy: float
    nll: dict
    gap: dict
    curves: dict
    seconds: dict
    window: int
    lr: dict
    baseline: list
    nonfinite: dict
    steps: int | None = None

    def paired(self, label, other):
        """``(mean, low, high)`` of ``label``'s gap minus ``other``'s, seed by seed."""
        diffs = np.subtract(self.gap[label], self.gap[other])
        return float(diffs.mean()), float(diffs.min()), float(diffs.max())

    @property
    def seed(self):
        """The first seed, whose samples :func:`plot_toy_row` draws from ``seed + 2``."""
        return self.seeds[0]

    def stats(self, label):
        """``(mean, low, high)`` of ``label``'s gap over the seeds."""
        gaps = np.asarray(self.gap[label])
        return float(gaps.mean()), float(gaps.min()), float(gaps.max())

    def table(self, digits=2):
        """The gap of every flow as text: mean and range over the seeds, one line each.

        Each flow's line names its learning rate; a last line gives the gap of the
        best single Gaussian (``baseline``), the reference every flow starts near.

        Returns
        -------
        str
            A header, one line per flow and the single-Gaussian line, without a final
            newline.
        """
        if isinstance(digits, bool) or not isinstance(digits, int):
            raise TypeError(
                f"digits must be an int, got {type(digits).__name__}"
            )
        if digits < 0:
            raise ValueError(f"digits must be at least 0, got {digits}")
        lines = [
            f"H(p) = {self.entropy:.3f} nats; gap to it over {len(self.seeds)} seeds:"
        ]
        rows = [
            (f"{label} (lr {self.lr[label]:g})", self.gap[label])
            for label in self.gap
        ]
        rows.append(("single Gaussian", self.baseline))
        for label, gaps in rows:
            gaps = np.asarray(gaps)
            lines.append(
                f"{label:30s} mean {gaps.mean():.{digits}f}  "
                f"range {gaps.min():.{digits}f} to {gaps.max():.{digits}f} nats"
            )
        return "\n".join(lines)

    def _label(self, label, argument="label"):
        """``label`` checked: a str naming one of the compared flows."""
        if not isinstance(label, str):
            raise TypeError(
                f"{argument} must be a str naming a flow of the comparison, "
                f"got {type(label).__name__}"
            )
        if label not in self.gap:
            raise ValueError(
                f"{argument} must be one of {tuple(self.gap)}, got {label!r}"
            )
        return label

    def _pairs(self, pairs):
        """``pairs`` checked: a list of ``(label, other)``, two different flows each."""
        if not isinstance(pairs, tuple | list):
            raise TypeError(
                "pairs must be a list of (label, other) tuples, "
                f"got {type(pairs).__name__}"
            )
        checked = []
        for pair in pairs:
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise TypeError(
                    f"pairs must hold (label, other) tuples, got {pair!r}"
                )
            label = self._label(pair[0], "each label in pairs")
            other = self._label(pair[1], "each label in pairs")
            if label == other:
                raise ValueError(
                    f"pairs must compare two different flows, got {pair!r}"
                )
            checked.append((label, other))
        return checked

    def plateau(self, label, margin=0.1):
        """The steps before ``label``'s mean learning curve leaves the single-Gaussian line.

        The curve is the training loss averaged over the seeds, minus the entropy, one
        point per window of ``window`` steps; the line is the gap of the best single
        Gaussian averaged over the seeds (``baseline``). The plateau ends at the first
        window whose mean lies more than ``margin`` nats below that line.

        Parameters
        ----------
        label : str
            A flow of the comparison.
        margin : float, default 0.1
            How far below the line, in nats, the curve must get; at least 0.

        Returns
        -------
        int or None
            The number of steps up to the end of that window: a multiple of
            ``window``. None if the curve never gets that far below the line.

        Raises
        ------
        TypeError, ValueError
            If ``label`` names no flow of the comparison, or ``margin`` is not a
            finite number of at least 0.
        """
        label = self._label(label)
        _validate.number("margin", margin, low=0)
        if math.isinf(margin):
            raise ValueError(f"margin must be finite, got {margin}")
        curve = self.curves[label].mean(axis=0) - self.entropy
        below = curve < np.mean(self.baseline) - margin
        if not below.any():
            return None
        return self.window * (int(np.argmax(below)) + 1)

    def last_fall(self, label, steps=100):
        """How far ``label``'s mean learning curve fell over its last ``steps`` steps.

        The curve is the training loss averaged over the seeds, one point per window of
        ``window`` steps; the fall is its last point's drop below the point ``steps``
        steps earlier, in nats. A flow still learning falls by more than a flow whose
        curve has flattened.

        Parameters
        ----------
        label : str
            A flow of the comparison.
        steps : int, default 100
            A positive multiple of ``window``, shorter than the curve.

        Returns
        -------
        float
            The earlier point minus the last one (NaN if a window had no finite loss).

        Raises
        ------
        TypeError, ValueError
            If ``label`` names no flow of the comparison, or ``steps`` is not a
            positive multiple of ``window`` within the curve.
        """
        label = self._label(label)
        _validate.number("steps", steps, low=1, integer=True)
        curve = self.curves[label].mean(axis=0)
        if steps % self.window:
            raise ValueError(
                f"steps must be a multiple of window = {self.window}, got {steps}"
            )
        if steps // self.window >= len(curve):
            raise ValueError(
                f"steps must be below the curve's {len(curve) * self.window} "
                f"steps, got {steps}"
            )
        return float(curve[-1 - steps // self.window] - curve[-1])

    def paired_table(self, pairs):
        """The paired differences of ``pairs`` as text, one line per pair.

        Each line gives, for ``(label, other)``, the mean and the range over the seeds
        of ``label``'s gap minus ``other``'s, taken seed by seed (:meth:`paired`),
        with a sign and two decimals.

        Parameters
        ----------
        pairs : list of tuple
            ``(label, other)`` pairs of two different flows of the comparison.

        Returns
        -------
        str
            One line per pair, without a final newline.

        Raises
        ------
        TypeError, ValueError
            If ``pairs`` is not a list of such pairs.
        """
        lines = []
        for label, other in self._pairs(pairs):
            mean, low, high = self.paired(label, other)
            lines.append(
                f"{label} minus {other}, seed by seed: mean {mean:+.2f}, "
                f"range {low:+.2f} to {high:+.2f} nats"
            )
        return "\n".join(lines)

    def glue_texts(self, pairs=()):
        """The numbers a density page glues, as texts by glue key.

        Every key ends in the density's name, so that another page can cite it as
        ``page.ipynb::key``: ``gap-<flow>-<name>`` per flow and ``gap-base-<name>``
        for the single Gaussian give the mean gap and its range over the seeds
        (``"0.31 (0.22 to 0.36)"``); ``diff-<flow>-<other>-<name>`` per pair the
        paired difference, with signs; ``entropy-<name>`` the entropy with three
        decimals; ``steps-<name>`` the training steps. The flows are keyed
        ``iresnet``, ``roulette``, ``realnvp`` and ``glow``.

        Parameters
        ----------
        pairs : list of tuple, default ()
            ``(label, other)`` pairs of two different flows of the comparison, as
            given to :meth:`paired_table`.

        Returns
        -------
        dict
            Glue key to text, in the order above.

        Raises
        ------
        TypeError, ValueError
            If ``pairs`` is not a list of such pairs.
        """
        pairs = self._pairs(pairs)
        name, texts = self.name, {}
        for label in self.gap:
            texts[f"gap-{_GLUE_KEYS[label]}-{name}"] = _spread(
                *self.stats(label)
            )
        base = self.baseline
        texts[f"gap-base-{name}"] = _spread(
            sum(base) / len(base), min(base), max(base)
        )
        for label, other in pairs:
            key = f"diff-{_GLUE_KEYS[label]}-{_GLUE_KEYS[other]}-{name}"
            texts[key] = _spread(*self.paired(label, other), sign="+")
        texts[f"entropy-{name}"] = f"{self.entropy:.3f}"
        steps = self.steps
        if steps is None:  # built without it: the steps the curves cover
            steps = self.window * next(iter(self.curves.values())).shape[1]
        texts[f"steps-{name}"] = str(steps)
        return texts


#: The short name of each flow in a glue key.
_GLUE_KEYS = {
    "i-ResNet": "iresnet",
    "i-ResNet (roulette)": "roulette",
    "RealNVP": "realnvp",
    "Glow-like": "glow",
}


def _spread(mean, low, high, sign=""):
    """``"mean (low to high)"`` with two decimals, and ``sign`` as a format flag."""
    return f"{mean:{sign}.2f} ({low:{sign}.2f} to {high:{sign}.2f})"


@contract(
    "eq-ir-nll-bound",
    name=Choice(*data.TOY2D),
    steps=Int(low=1),
    batch_size=Int(low=2),
    lr=Real(low=0, low_open=True, optional=True),
    n_test=Int(low=1),
    window=Int(low=1),
)
def compare_flows(
    name,
    *,
    models=("i-ResNet", "RealNVP", "Glow-like"),
    seeds=(0, 1, 2),
    steps=500,
    batch_size=128,
    lr=None,
    n_test=10_000,
    window=25,
):
    """Train the flows ``models`` of :func:`make_density_flows` on ``name`` at every seed, and score them.

    At each seed every flow is built from the same draw of torch's generator
    (:func:`make_density_flows`), sees the same stream of ``steps`` fresh batches
    (seeded by the seed) and is scored on the same ``n_test`` held-out points
    (``seed + 1``); all are trained by :func:`fit_flow` (Adam, the learning rate
    decayed to 0 on a cosine), each with its own learning rate ``DENSITY_LR[label]``
    unless ``lr`` sets one for all. A roulette-trained flow is scored with
    its exact log-det. The gap of the test NLL to the entropy bounds the KL divergence
    from the truth, by equation :eq:`eq-ir-nll-bound`. A page passes
    ``seeds=[nnbook.seed(k) for k in range(3)]``.

    Parameters
    ----------
    name : {"8gaussians", "checkerboard", "moons", "spirals"}
    models : tuple of str
        Labels from ``FLOW_MODELS``.
    seeds : tuple of int
        At least one non-negative seed.
    steps, batch_size : int
    lr : float, optional
        One learning rate for every flow; left out, each flow's ``DENSITY_LR``.
    n_test : int
    window : int
        Steps per point of the learning curves; at most ``steps``.

    Returns
    -------
    FlowComparison

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed, before any training.
    """
    models, seeds = _check_labels(models), _check_seeds(seeds)
    if window > steps:
        raise ValueError(
            f"window must be at most steps = {steps}, got {window}"
        )
    entropy = data.toy2d_entropy(name)
    nll = {label: [] for label in models}
    curves = {label: [] for label in models}
    seconds = dict.fromkeys(models, 0.0)
    rates = {label: DENSITY_LR[label] if lr is None else lr for label in models}
    baseline = []
    nonfinite = dict.fromkeys(models, 0)
    kept = None
    for seed in seeds:
        every = make_density_flows(seed)
        flows = {label: every[label] for label in models}
        test = data.toy2d(
            name, n_test, generator=torch.Generator().manual_seed(seed + 1)
        )
        baseline.append(_gaussian_gap(name, test, seed, entropy))
        for label, flow in flows.items():
            batches = torch.Generator().manual_seed(seed)
            start = time.process_time()
            losses = fit_flow(
                flow,
                lambda g=batches: data.toy2d(name, batch_size, generator=g),
                steps,
                lr=rates[label],
            )
            seconds[label] += time.process_time() - start
            if callable(flow.logdet if isinstance(flow, IResNetFlow) else None):
                flow.logdet = (
                    "exact"  # scored, and drawn, with the exact log-det
                )
            with torch.no_grad():
                nll[label].append(-flow.log_prob(test).mean().item())
            usable = steps // window * window
            windows = losses[:usable].reshape(-1, window)
            nonfinite[label] += int((~torch.isfinite(windows)).sum())
            curves[label].append(torch.nanmean(windows, dim=1).numpy())
        if kept is None:
            kept = flows
    gap = {
        label: [v - entropy for v in values] for label, values in nll.items()
    }
    return FlowComparison(
        name,
        seeds,
        kept,
        entropy,
        nll,
        gap,
        {label: np.stack(c) for label, c in curves.items()},
        seconds,
        window,
        rates,
        baseline,
        nonfinite,
        steps,
    )


def _check_labels(models):
    if not isinstance(models, tuple | list) or not all(
        isinstance(m, str) for m in models
    ):
        raise TypeError(
            f"models must be a tuple of labels from {FLOW_MODELS}, got {models!r}"
        )
    if not models or len(set(models)) != len(models):
        raise ValueError(
            f"models must hold distinct labels, at least one, got {models!r}"
        )
    for label in models:
        if label not in FLOW_MODELS:
            raise ValueError(
                f"models must hold labels from {FLOW_MODELS}, got {label!r}"
            )
    return tuple(models)


def _check_seeds(seeds):
    if not isinstance(seeds, tuple | list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in seeds
    ):
        raise TypeError(f"seeds must be a tuple of ints, got {seeds!r}")
    if not seeds or min(seeds) < 0:
        raise ValueError(
            f"seeds must hold at least one seed, none negative, got {seeds!r}"
        )
    return tuple(seeds)


#: Half the width of the plotted square, per dataset.
PLOT_LIMITS = {
    "8gaussians": 4.0,
    "checkerboard": 2.5,
    "moons": 2.6,
    "spirals": 3.7,
}


@contract(result=Instance(ToyResult | FlowComparison), n_samples=Int(low=1))
def plot_toy_row(axes, result, *, n_samples=1000):
    """1 + 2 m panels for m flows: the true density, each flow's density (one colour scale), and samples from each."""
    count = 1 + 2 * len(result.flows)
    if not isinstance(axes, list | tuple | np.ndarray):
        raise TypeError(
            f"axes must be a list of {count} matplotlib Axes, "
            f"got {type(axes).__name__}"
        )
    if len(axes) != count:
        raise ValueError(f"axes must hold {count} Axes, got {len(axes)}")
    lim = PLOT_LIMITS[result.name]
    panels = [("data", lambda x: data.toy2d_log_density(result.name, x))]
    panels += [(label, flow.log_prob) for label, flow in result.flows.items()]
    densities = [
        (label, log_density_grid(log_prob, lim=lim, n=100)[1].exp())
        for label, log_prob in panels
    ]
    top = max(density.max().item() for _, density in densities)
    m = len(result.flows)
    for ax, (label, density) in zip(axes[: 1 + m], densities, strict=True):
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
    for ax, (label, flow) in zip(
        axes[1 + m :], result.flows.items(), strict=True
    ):
        samples = flow.sample(
            n_samples, generator=torch.Generator().manual_seed(result.seed + 2)
        )
        ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.5)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        ax.set_title(f"{label} samples (inverse)", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
