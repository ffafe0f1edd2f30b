"""Samples and references for the contracts of nnbook.generative's mode-coverage measures."""

import numpy as np
import torch
from helpers import randn

from nnbook.generative import _modes as modes

CENTRES = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
#: Two points near each centre and two far from all of them.
POINTS = torch.cat(
    [
        CENTRES.repeat_interleave(2, dim=0) + 0.1 * randn(6, 2, seed=1),
        torch.tensor([[1.5, 1.5], [-2.0, -2.0]], dtype=torch.float64),
    ]
)


def _assign_by_numpy(x, centres, radius):
    """Nearest centre by an explicit loop over the centres, -1 beyond ``radius``."""
    x, centres = x.numpy(), centres.numpy()
    distance = np.stack([np.sqrt(((x - c) ** 2).sum(axis=1)) for c in centres], axis=1)
    nearest = distance.argmin(axis=1)
    return torch.from_numpy(np.where(distance.min(axis=1) <= radius, nearest, -1))


def _shares_by_counting(labels, n_modes):
    labels = labels.tolist()
    return torch.tensor(
        [labels.count(j) / len(labels) for j in range(n_modes)], dtype=torch.float64
    )


def _total_variation(shares):
    q = shares.numpy() / shares.numpy().sum()
    return torch.tensor(0.5 * np.abs(q - 1 / len(q)).sum(), dtype=shares.dtype)


def _jacobian_norm_by_autograd(generator, z):
    rows = [torch.autograd.functional.jacobian(generator, point[None, :]) for point in z]
    return torch.stack([j.flatten().norm() for j in rows])


def _generator():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)
    ).double()


G = "nnbook.generative."
SAMPLES = {
    G + "assign_modes": lambda: ((POINTS, CENTRES), {"radius": 0.5}),
    G + "mode_shares": lambda: ((torch.tensor([0, 0, 1, -1, 2, 0]), 4), {}),
    G + "mode_imbalance": lambda: ((torch.tensor([0.3, 0.1, 0.0, 0.2], dtype=torch.float64),), {}),
    G + "mode_coverage": lambda: ((POINTS, CENTRES), {"radius": 0.5}),
    G + "jacobian_norm": lambda: ((_generator(), randn(4, 2, seed=3)), {}),
}

REFERENCES = {
    G + "assign_modes": _assign_by_numpy,
    G + "mode_shares": _shares_by_counting,
    G + "mode_imbalance": _total_variation,
    G + "mode_coverage": lambda x, centres, radius: _shares_by_counting(
        _assign_by_numpy(x, centres, radius), len(centres)
    ),
    G + "jacobian_norm": _jacobian_norm_by_autograd,
}

# a quick self-check of the fixed points, so that a wrong sample fails here
assert modes.assign_modes(POINTS, CENTRES, radius=0.5).tolist() == [0, 0, 1, 1, 2, 2, -1, -1]
