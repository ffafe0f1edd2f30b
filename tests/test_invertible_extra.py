"""nnbook.invertible: the series and the Russian roulette from given traces, in float64."""

import pytest
import torch
from helpers import generator, randn

from nnbook.invertible import _logdet as ld

pytestmark = pytest.mark.invertible


def _contraction(d, norm, seed):
    M = randn(d, d, seed=seed)
    return norm * M / torch.linalg.matrix_norm(M, 2)


def _traces(J, n):
    return torch.stack([torch.trace(torch.linalg.matrix_power(J, k)) for k in range(1, n + 1)])


@pytest.mark.parametrize("norm", [0.3, 0.7])
def test_the_series_converges_to_slogdet(norm):
    J = _contraction(3, norm, seed=1)
    exact = torch.linalg.slogdet(torch.eye(3, dtype=torch.float64) + J)[1]
    assert ld.series_from_traces(_traces(J, 200)).item() == pytest.approx(exact.item(), abs=1e-12)


def test_the_series_of_two_terms_is_t_minus_t_squared_over_two():
    traces = torch.tensor([[0.3, -0.2], [0.5, 0.1]], dtype=torch.float64)
    expected = traces[0] - traces[1] / 2
    torch.testing.assert_close(ld.series_from_traces(traces), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(("p", "exact_terms"), [(0.5, 2), (0.3, 0), (0.8, 1)])
def test_the_roulette_is_unbiased(p, exact_terms):
    """Averaged over N with its geometric probabilities, the estimate is the whole series."""
    J = _contraction(2, 0.6, seed=2)
    n_max = 400
    traces = _traces(J, n_max)
    mean = sum(
        p * (1 - p) ** n * ld.roulette_from_traces(traces, n, p=p, exact_terms=exact_terms)
        for n in range(n_max - exact_terms + 1)
    )
    exact = torch.linalg.slogdet(torch.eye(2, dtype=torch.float64) + J)[1]
    assert mean.item() == pytest.approx(exact.item(), abs=1e-12)


def test_the_roulette_matches_russian_roulette_logdet_on_the_same_draws():
    J = _contraction(3, 0.8, seed=3)
    x = randn(4, 3, seed=4)

    def g(x):
        return x @ J.T

    estimate, n_terms = ld.russian_roulette_logdet(g, x, p=0.4, generator=generator(5))
    # the same draws, in the order russian_roulette_logdet makes them: N first, then the probe
    draws = generator(5)
    torch.rand(1, generator=draws, dtype=torch.float64)
    v = torch.randn(x.shape, generator=draws, dtype=x.dtype)
    traces = torch.stack(ld.trace_terms(g, x, v, n_terms))
    expected = ld.roulette_from_traces(traces, n_terms - 2, p=0.4)
    torch.testing.assert_close(estimate.detach(), expected, rtol=1e-12, atol=1e-12)


def test_the_roulette_rejects_a_draw_longer_than_the_traces():
    with pytest.raises(ValueError, match="n_extra"):
        ld.roulette_from_traces(torch.ones(3, dtype=torch.float64), 2)


def test_the_roulette_rejects_a_probability_outside_0_1():
    with pytest.raises(ValueError, match="p must be"):
        ld.roulette_from_traces(torch.ones(3, dtype=torch.float64), 0, p=1.0)
