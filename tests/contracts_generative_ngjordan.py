"""Samples and references for the contract of the paired difference of learning curves."""

import torch
from helpers import randn
from scipy import stats

SAMPLES = {
    "nnbook.generative.paired_difference": lambda: (
        (randn(6, 3, seed=1), randn(6, 3, seed=2)),
        {"ratio": 0.0},
    ),
}


def _by_scipy(errors_a, errors_b, ratio):
    """The mean difference (the first output), as scipy's paired t-test computes it.

    The t statistic is the mean over its standard error; the standard error itself is
    checked in tests/test_generative_curves.py.
    """
    result = stats.ttest_rel(errors_a.numpy(), errors_b.numpy(), axis=0)
    d = (errors_a - errors_b).numpy()
    se = d.std(axis=0, ddof=1) / d.shape[0] ** 0.5
    return torch.from_numpy(result.statistic * se)


#: The reference each function is compared with, given the same call.
REFERENCES = {"nnbook.generative.paired_difference": _by_scipy}
