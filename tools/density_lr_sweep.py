"""Choose the learning rate of each flow of the density pages, on a seed no page uses.

Trains every flow of ``nnbook.invertible.compare_flows`` on each of the four 2-D
densities, at each learning rate of ``DENSITY_LR_GRID`` and at two budgets (150 and
500 steps), at the single seed 500, and prints the gaps as the dict
``DENSITY_LR_SWEEP`` of ``nnbook/invertible/_toy.py``, then the learning rate with the
smallest gap averaged over the densities at 500 steps: ``DENSITY_LR``. It takes a few
CPU minutes, which is why the pages and the tests read the recorded constants instead.

Usage: python tools/density_lr_sweep.py [--jobs N]
"""

import argparse
import itertools
from multiprocessing import Pool

import numpy as np
import torch

from nnbook import data
from nnbook.invertible import DENSITY_LR_GRID, compare_flows

SEED = 500
BUDGETS = (150, 500)
MODELS = ("i-ResNet", "RealNVP", "Glow-like")


def one(job):
    name, label, lr, steps = job
    torch.set_num_threads(1)
    result = compare_flows(name, models=(label,), seeds=(SEED,), steps=steps, lr=lr)
    return job, result.gap[label][0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1)
    jobs = list(itertools.product(data.TOY2D, MODELS, DENSITY_LR_GRID, BUDGETS))
    with Pool(parser.parse_args().jobs) as pool:
        gaps = dict(pool.map(one, jobs))
    sweep = {
        steps: {
            label: {
                lr: tuple(round(gaps[name, label, lr, steps], 2) for name in data.TOY2D)
                for lr in DENSITY_LR_GRID
            }
            for label in MODELS
        }
        for steps in BUDGETS
    }
    print("DENSITY_LR_SWEEP =", sweep)
    best = {
        label: min(DENSITY_LR_GRID, key=lambda lr: np.mean(sweep[500][label][lr]))
        for label in MODELS
    }
    print("DENSITY_LR =", best)


if __name__ == "__main__":
    main()
