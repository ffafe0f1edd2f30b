"""The one module of helpers shared by the test files (tests/test_*.py, tests/contracts_*.py).

What belongs here: scaffolding that more than one test file needs and that says nothing
about the code under test, such as seeded random tensors and generators, the hypothesis
strategies for shapes and seeds, assert-close-against-torch comparisons, fixtures that
clean up after a test, and the samples of calls that the contract tests feed to nnbook.
A helper that only one file uses stays in that file. Helpers draw exactly what their
callers drew before they were shared, so moving a test onto them keeps its values.
Import them by module name: ``from helpers import randn``.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

#: A mini-batch shape (T_mb, F) small enough for fast property tests.
batch_shapes = st.tuples(st.integers(1, 7), st.integers(1, 7))
#: Seeds for randn and generator in property tests.
seeds = st.integers(0, 2**16)


def generator(seed=0):
    """A CPU torch.Generator seeded with seed."""
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed=0, scale=1.0):
    """Seeded float64 normal values, times scale."""
    return scale * torch.randn(*shape, generator=generator(seed), dtype=torch.float64)


def assert_all_close(ours, theirs, **tolerances):
    """torch.testing.assert_close on each pair of two equally long sequences of tensors."""
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, **tolerances)


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure after each test of a file that imports this fixture."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def batch_norm_against_torch(forward, backward, shape, training, seed):
    """Compare a batch-norm pair with F.batch_norm and autograd: outputs, running statistics, gradients."""
    C = shape[1]
    a = randn(*shape, seed=seed, scale=2).requires_grad_()
    gamma = (1 + randn(C, seed=seed + 1) / 3).requires_grad_()
    beta = randn(C, seed=seed + 2).requires_grad_()
    rm, rv = randn(C, seed=seed + 3), 1 + randn(C, seed=seed + 4).abs()
    rm_t, rv_t = rm.clone(), rv.clone()
    dout = randn(*shape, seed=seed + 5)
    out, cache = forward(
        a.detach(), gamma.detach(), beta.detach(), rm, rv, training=training, momentum=0.2
    )
    out_t = F.batch_norm(a, rm_t, rv_t, gamma, beta, training=training, momentum=0.2)
    out_t.backward(dout)
    torch.testing.assert_close(out, out_t.detach())
    torch.testing.assert_close(rm, rm_t)
    torch.testing.assert_close(rv, rv_t)
    assert_all_close(backward(dout, cache), (a.grad, gamma.grad, beta.grad))


def from_forward(forward, *args, **kwargs):
    """A backward call: an upstream gradient shaped like the output, and the cache."""

    def sample():
        out, cache = forward(*args, **kwargs)
        return (torch.ones_like(out), cache), {}

    return sample


def cache_only(forward, *args):
    """A backward call that takes only the cache of a forward call."""

    def sample():
        return (forward(*args)[1],), {}

    return sample
