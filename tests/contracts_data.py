"""Samples and references for the contracts of the data, training, report, estimator
and hardware modules (nnbook.data, nnbook.train, nnbook.report, nnbook.generative,
nnbook.hardware.measure, nnbook.hardware.parallel, nnbook.hardware.prefetch)."""

import math

import pytest
import torch
import torch.distributed as dist
from helpers import randn
from sklearn.metrics import accuracy_score

from nnbook.hardware import parallel


def _group():
    """A gloo process group of one process, this one, kept in memory (no files, no ports)."""
    if not dist.is_initialized():
        dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)


def _in_group(*args, **kwargs):
    def sample():
        _group()
        return args, kwargs

    return sample


def _cuda_only(*args, **kwargs):
    def sample():
        if not torch.cuda.is_available():
            pytest.skip("needs a GPU")
        return args, kwargs

    return sample


def _fit_call():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2).double()
    X = randn(8, 3, seed=1)
    y = (X[:, 0] > 0).long()
    return (net, X, y), {"epochs": 1, "batch_size": 4, "progress": False}


def _predict_call():
    torch.manual_seed(0)
    return (torch.nn.Linear(3, 2).double(), randn(5, 3, seed=1)), {}


def _windows(series, length):
    n = len(series) - length
    return torch.stack([series[t : t + length] for t in range(n)])


def _eight_gaussians_log_density(name, x):
    """The mixture of 8 Gaussians written with torch.distributions."""
    assert name == "8gaussians"
    angle = torch.arange(8, dtype=x.dtype) * math.pi / 4
    centres = 2 * math.sqrt(2) * torch.stack([angle.cos(), angle.sin()], dim=1)
    sd = torch.full_like(centres, 0.5 / math.sqrt(2))
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.ones(8, dtype=x.dtype)),
        torch.distributions.Independent(torch.distributions.Normal(centres, sd), 1),
    )
    return mixture.log_prob(x)


def _shown(x):
    """A function whose source the display functions read."""
    return x + 1


def _minimize_call():
    w = randn(3, seed=2).requires_grad_()
    return ((lambda: (w * w).sum(), torch.optim.SGD([w], lr=0.1), 2), {})


M = "nnbook.hardware.measure."
P = "nnbook.hardware.parallel."

SAMPLES = {
    "nnbook.data.windows": lambda: ((randn(7, seed=1), 3), {}),
    # float64 whatever the call: there is no float input to follow
    "nnbook.data.weight_and_foot": lambda: ((5,), {"seed": 1}),
    "nnbook.train.predict": _predict_call,
    "nnbook.train.fit": _fit_call,
    "nnbook.train.minimize": _minimize_call,
    "nnbook.data.noisy_sine": lambda: ((5,), {"noise": 0.1, "seed": 1}),
    # a closed form in float64, from numbers: no tensor input sets its dtype
    "nnbook.optim.momentum_matrix": lambda: ((0.1, 0.9, 2.0), {"nesterov": True}),
    "nnbook.optim.heavy_ball_parameters": lambda: ((1.0, 10.0), {}),
    "nnbook.fnn.interpolant": lambda: (
        (
            torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64),
            torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64),
        ),
        {},
    ),
    "nnbook.train.EarlyStopping.__init__": lambda: (
        (torch.nn.Linear(3, 2),),
        {"patience": 2, "min_delta": 0.01},
    ),
    "nnbook.report.below": lambda: ((3e-13, 1e-12), {}),
    "nnbook.report.between": lambda: ((0.5, 0.25, 0.75), {}),
    "nnbook.report.human": lambda: ((12345.0,), {}),
    "nnbook.display.show": lambda: ((_shown,), {"docstring": True}),
    "nnbook.display.source": lambda: ((_shown,), {}),
    "nnbook.report.spread": lambda: (([0.5, 0.25, 0.75],), {"fmt": ".2f", "unit": " s"}),
    "nnbook.generative.check_X": lambda: ((randn(4, 3, seed=1),), {}),
    "nnbook.generative.check_Xy": lambda: (
        (randn(6, 2, seed=1), torch.tensor([0, 1, 0, 1, 2, 2])),
        {},
    ),
    M + "timed": lambda: ((lambda: None,), {"repeats": 1}),
    M + "matmul_sweep": lambda: (([4, 8],), {"repeats": 1}),
    M + "cache_sweep": lambda: (([64, 256],), {"min_bytes_touched": 1024}),
    M + "threads_throughput": lambda: (([1],), {"n": 8, "repeats": 1}),
    M + "host_to_device": _cuda_only(1024, pinned=True, repeats=1),
    P + "run": lambda: ((parallel.allreduce_sum, 1), {}),
    P + "allreduce_sum": _in_group(0, 1),
    P + "ddp_train": _in_group(0, 1, steps=2, batch_size=4),
    P + "single_process_train": lambda: ((), {"steps": 2, "batch_size": 4}),
    # one item and the end fit in the queue: the thread finishes on its own
    "nnbook.hardware.prefetch.Prefetcher.__init__": lambda: ((range(1),), {}),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    "nnbook.data.windows": _windows,
    "nnbook.invertible.toy2d_log_density": _eight_gaussians_log_density,
    "nnbook.train.accuracy": lambda logits, y: accuracy_score(y, logits.argmax(dim=1)),
}
