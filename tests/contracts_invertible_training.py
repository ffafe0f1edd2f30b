"""Samples and references for the contracts of nnbook.invertible._training."""

import torch
from helpers import generator, randn

from nnbook.invertible import _flows as flows


def _iresnet():
    torch.manual_seed(0)
    return flows.IResNetFlow(2, n_blocks=2, hidden=8, actnorm=True).double().eval()


def _traces(J, n_terms):
    """``tr(J^k)``, k = 1..n, from torch.linalg.matrix_power, per matrix."""
    return torch.stack(
        [
            torch.stack([torch.trace(torch.linalg.matrix_power(m, k)) for m in J])
            for k in range(1, n_terms + 1)
        ]
    )


P = "nnbook.invertible."
SAMPLES = {
    P + "jacobian_traces": lambda: ((0.3 * randn(4, 2, 2), 3), {}),
    P + "exact_trace_series": lambda: ((3,), {}),
    P + "exact_trace_roulette": lambda: ((0.5, 2), {"generator": generator(0)}),
    P + "block_jacobians": lambda: ((_iresnet(), randn(4, 2, seed=1)), {}),
    P + "exact_nll": lambda: ((_iresnet(), randn(4, 2, seed=1)), {}),
    P + "estimator_nll": lambda: ((_iresnet(), randn(4, 2, seed=1), 2), {}),
    P + "train_flow": lambda: (
        (_iresnet(), lambda: randn(8, 2), 2),
        {"test": randn(5, 2, seed=1), "every": 1},
    ),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    P + "jacobian_traces": _traces,
}
