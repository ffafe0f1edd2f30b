"""nnbook.invertible._training and nnbook.plot.invertible_training, in float64."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import close_figures, generator, randn  # noqa: E402, F401

from nnbook.invertible import (  # noqa: E402
    InvertibleResidualBlock,
    IResNetFlow,
    block_inputs,
    block_jacobians,
    estimator_nll,
    exact_logdet,
    exact_nll,
    exact_trace_roulette,
    exact_trace_series,
    jacobian_traces,
    mlp_block,
    train_flow,
)
from nnbook.plot.invertible_training import (  # noqa: E402
    draw_charge_against_logdet,
    draw_estimator_histories,
    draw_jacobian_eigenvalues,
    draw_truncation_errors,
)

pytestmark = pytest.mark.invertible


def _block(coeff=0.97, seed=0, hidden=16):
    """A float64 block in eval mode whose Jacobian is far from the identity."""
    torch.manual_seed(seed)
    g = mlp_block(2, hidden, coeff=coeff, layers=2).double()
    with torch.no_grad():  # a rank-one weight, so the bound is nearly reached
        u = randn(hidden, 1, seed=seed + 1)
        g[0].weight.copy_(u @ randn(1, 2, seed=seed + 2))
        g[2].weight.copy_(-randn(2, 1, seed=seed + 3) @ u.T)
    block = InvertibleResidualBlock(g)
    for _ in range(50):  # let the power iteration converge
        block.train()(randn(4, 2))
    return block.eval()


def _flow(logdet="exact", seed=0):
    torch.manual_seed(seed)
    return IResNetFlow(
        2, n_blocks=2, hidden=8, coeff=0.9, layers=2, actnorm=True, logdet=logdet
    ).double()


# jacobian_traces


def test_jacobian_traces_are_sums_of_powers_of_the_eigenvalues():
    J = randn(5, 3, 3, seed=4)
    eigenvalues = torch.linalg.eigvals(J)
    expected = torch.stack([(eigenvalues**k).sum(dim=1).real for k in range(1, 7)])
    torch.testing.assert_close(jacobian_traces(J, 6), expected)


def test_jacobian_traces_refuse_a_matrix_that_is_not_square():
    with pytest.raises(ValueError, match="J"):
        jacobian_traces(randn(4, 2, 3), 2)


def test_jacobian_traces_refuse_nan():
    J = randn(2, 2, 2)
    J[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="J"):
        jacobian_traces(J, 2)


def test_jacobian_traces_refuse_zero_terms():
    with pytest.raises(ValueError, match="n_terms"):
        jacobian_traces(randn(2, 2, 2), 0)


# exact_trace_series


def test_the_series_estimator_converges_to_exact_logdet():
    block, x = _block(), randn(20, 2, seed=5)
    y, logdet = exact_trace_series(400)(block, x)
    torch.testing.assert_close(y, block(x))
    reference = exact_logdet(block.g, x)
    assert reference.abs().max() > 0.3  # far from the identity
    torch.testing.assert_close(logdet, reference, rtol=1e-9, atol=1e-9)


def test_the_series_estimator_of_two_terms_is_tr_j_minus_tr_j2_over_two():
    block, x = _block(), randn(6, 2, seed=6)
    J = torch.stack(
        [torch.autograd.functional.jacobian(lambda r: block.g(r[None])[0], row) for row in x]
    )
    expected = torch.einsum("nii->n", J) - torch.einsum("nij,nji->n", J, J) / 2
    torch.testing.assert_close(exact_trace_series(2)(block, x)[1], expected)


def test_the_series_estimator_gradient_agrees_with_finite_differences():
    block, x = _block(coeff=0.8), randn(3, 2, seed=7)
    x.requires_grad_()
    estimator = exact_trace_series(3)
    assert torch.autograd.gradcheck(lambda r: estimator(block, r)[1], (x,))


def test_the_series_estimator_refuses_zero_terms():
    with pytest.raises(ValueError, match="n_terms"):
        exact_trace_series(0)


# exact_trace_roulette


def test_the_roulette_is_unbiased_on_a_hard_block():
    block, x = _block(), randn(4, 2, seed=8)
    reference = exact_logdet(block.g, x)
    assert reference.abs().max() > 0.3
    estimator = exact_trace_roulette(p=0.2, generator=generator(3))
    draws = torch.stack([estimator(block, x)[1] for _ in range(4000)])
    error = draws.std(dim=0) / len(draws) ** 0.5
    assert ((draws.mean(dim=0) - reference).abs() < 4 * error).all()


def test_the_roulette_with_a_certain_stop_is_the_truncated_series():
    block, x = _block(), randn(4, 2, seed=9)
    # p close to 1: N = 0 almost surely, the roulette keeps exact_terms terms
    estimator = exact_trace_roulette(p=1 - 1e-12, exact_terms=3, generator=generator(0))
    torch.testing.assert_close(estimator(block, x)[1], exact_trace_series(3)(block, x)[1])


def test_the_roulette_draws_are_reproducible_with_a_generator():
    block, x = _block(), randn(4, 2, seed=9)
    a = [exact_trace_roulette(generator=generator(5))(block, x)[1] for _ in range(2)]
    torch.testing.assert_close(a[0], a[1])


@pytest.mark.parametrize("p", [0.0, 1.0, float("nan")])
def test_the_roulette_refuses_a_stopping_probability_outside_0_1(p):
    with pytest.raises(ValueError, match="p"):
        exact_trace_roulette(p=p)


def test_the_roulette_refuses_a_generator_of_the_wrong_type():
    with pytest.raises(TypeError, match="generator"):
        exact_trace_roulette(generator=3)


# block_jacobians, exact_nll


def test_block_jacobians_agree_with_autograd():
    flow, x = _flow().eval(), randn(5, 2, seed=10)
    flow.train().log_prob(x)  # initializes ActNorm
    flow.eval()
    J = block_jacobians(flow, x)
    assert J.shape == (2, 5, 2, 2)
    z = x
    for b, (norm, block) in enumerate(zip(flow.norms, flow.blocks, strict=True)):
        z = norm(z)[0]
        expected = torch.stack(
            [
                torch.autograd.functional.jacobian(lambda r, g=block.g: g(r[None])[0], row)
                for row in z
            ]
        )
        torch.testing.assert_close(J[b], expected)
        z = block(z)


def test_exact_nll_agrees_with_autograd_change_of_variables():
    flow, x = _flow(exact_trace_series(1)), randn(6, 2, seed=11)
    flow.train().log_prob(x)  # initializes ActNorm
    flow.eval()
    rows = [
        torch.autograd.functional.jacobian(lambda r: flow.forward_and_logdet(r[None])[0][0], row)
        for row in x
    ]
    z = flow.forward_and_logdet(x)[0]
    logdet = torch.stack([torch.linalg.slogdet(J)[1] for J in rows])
    normal = torch.distributions.Normal(0.0, 1.0)
    expected = -(normal.log_prob(z).sum(dim=1) + logdet).mean().item()
    assert exact_nll(flow, x) == pytest.approx(expected, abs=1e-10)
    assert callable(flow.logdet)  # the estimator is restored
    assert not flow.training


def test_exact_nll_refuses_a_flow_that_is_not_a_module():
    with pytest.raises(TypeError, match="flow"):
        exact_nll("flow", randn(3, 2))


def test_block_jacobians_are_taken_at_the_block_inputs():
    flow, x = _flow(), randn(5, 2, seed=12)
    flow.train().log_prob(x)  # initializes ActNorm
    flow.eval()
    J = block_jacobians(flow, x)
    for b, (block, z) in enumerate(zip(flow.blocks, block_inputs(flow, x), strict=True)):
        expected = block.forward_and_jacobian(z)[1] - torch.eye(2, dtype=z.dtype)
        torch.testing.assert_close(J[b], expected)


# estimator_nll


def test_estimator_nll_of_a_one_term_series_charges_the_trace():
    flow, x = _flow(exact_trace_series(1)), randn(6, 2, seed=13)
    flow.train().log_prob(x)  # initializes ActNorm
    flow.eval()
    z, expected_logdet = x, torch.zeros(6, dtype=torch.float64)
    for norm, block in zip(flow.norms, flow.blocks, strict=True):
        z, logdet = norm(z)
        expected_logdet += logdet
        J = torch.stack(
            [
                torch.autograd.functional.jacobian(lambda r, g=block.g: g(r[None])[0], row)
                for row in z
            ]
        )
        expected_logdet += torch.einsum("nii->n", J)  # one term: tr(J_g)
        z = block(z)
    normal = torch.distributions.Normal(0.0, 1.0)
    expected = -(normal.log_prob(z).sum(dim=1) + expected_logdet).mean().item()
    assert estimator_nll(flow, x) == pytest.approx(expected, abs=1e-10)
    assert not flow.training


def test_estimator_nll_with_the_exact_logdet_is_exact_nll():
    flow, x = _flow(), randn(6, 2, seed=14)
    flow.train().log_prob(x)
    flow.eval()
    assert estimator_nll(flow, x) == pytest.approx(exact_nll(flow, x), abs=1e-12)


def test_estimator_nll_of_the_roulette_averages_to_exact_nll():
    flow, x = _flow(exact_trace_roulette(p=0.3, generator=generator(4))), randn(6, 2, seed=15)
    flow.train().log_prob(x)
    flow.eval()
    one = [estimator_nll(flow, x) for _ in range(3)]
    assert len(set(one)) > 1  # each call draws afresh
    assert estimator_nll(flow, x, draws=400) == pytest.approx(exact_nll(flow, x), abs=0.02)


def test_estimator_nll_refuses_zero_draws():
    with pytest.raises(ValueError, match="draws"):
        estimator_nll(_flow(), randn(3, 2), 0)


# train_flow


def test_train_flow_records_every_k_steps_and_lowers_the_test_nll():
    flow = _flow()
    data = generator(0)
    history = train_flow(
        flow,
        lambda: 0.5 * torch.randn(64, 2, generator=data, dtype=torch.float64) + 1,
        60,
        test=randn(200, 2, seed=1) * 0.5 + 1,
        lr=1e-2,
        every=20,
    )
    assert history["step"] == [0, 20, 40, 60]
    assert len(history["train"]) == len(history["test"]) == 4
    assert history["test"][-1] < history["test"][0]
    assert not flow.training


def test_train_flow_records_the_last_step():
    history = train_flow(_flow(), lambda: randn(8, 2), 5, test=randn(4, 2), every=3)
    assert history["step"] == [0, 3, 5]


def test_train_flow_refuses_a_sample_batch_that_is_not_callable():
    with pytest.raises(TypeError, match="sample_batch"):
        train_flow(_flow(), randn(8, 2), 5, test=randn(4, 2))


def test_train_flow_refuses_zero_steps():
    with pytest.raises(ValueError, match="steps"):
        train_flow(_flow(), lambda: randn(8, 2), 0, test=randn(4, 2))


# plots


def _history(offset):
    return {
        "step": [0, 10, 20],
        "train": [3.0 - offset, 2.0, 1.0],
        "test": [3.0, 2.5, 2.4 + offset],
    }


def test_estimator_histories_draw_one_line_per_estimator_in_each_panel():
    fig = draw_estimator_histories(
        {"exact": [_history(0), _history(0.1)], "2 terms": [_history(0.2)]}, 1.5
    )
    left, right = fig.axes
    assert len(left.get_lines()) == len(right.get_lines()) == 3  # two estimators, the entropy
    assert [t.get_text() for t in right.get_legend().get_texts()] == [
        "exact",
        "2 terms",
        "entropy of the data",
    ]


def test_estimator_histories_refuse_bad_input():
    with pytest.raises(TypeError, match="runs"):
        draw_estimator_histories([], 1.0)
    with pytest.raises(ValueError, match="runs"):
        draw_estimator_histories({}, 1.0)
    with pytest.raises(ValueError, match="runs"):
        draw_estimator_histories({"a": []}, 1.0)
    with pytest.raises(ValueError, match="keys"):
        draw_estimator_histories({"a": [{"step": [0]}]}, 1.0)
    with pytest.raises(TypeError, match="entropy"):
        draw_estimator_histories({"a": [_history(0)]}, "1")


def test_jacobian_eigenvalues_draw_both_circles_and_one_cloud_per_block():
    eigenvalues = torch.complex(randn(3, 10, 2), randn(3, 10, 2, seed=1)) * 0.3
    fig = draw_jacobian_eigenvalues(eigenvalues, 0.98)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2
    assert len(ax.collections) == 3
    radius = max(abs(x) for x in ax.get_lines()[1].get_xdata())
    assert radius == pytest.approx(0.98)


def test_jacobian_eigenvalues_refuse_bad_input():
    with pytest.raises(TypeError, match="eigenvalues"):
        draw_jacobian_eigenvalues([1, 2], 0.9)
    with pytest.raises(ValueError, match="eigenvalues"):
        draw_jacobian_eigenvalues(randn(3, 2), 0.9)
    with pytest.raises(ValueError, match="bound"):
        draw_jacobian_eigenvalues(randn(1, 3, 2), 0.0)
    with pytest.raises(TypeError, match="bound"):
        draw_jacobian_eigenvalues(randn(1, 3, 2), "0.9")


def test_charge_against_logdet_draws_one_cloud_per_block_and_the_diagonal():
    fig = draw_charge_against_logdet(randn(2, 7), randn(2, 7, seed=1))
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    assert len(ax.get_lines()) == 1


def test_charge_against_logdet_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="charged"):
        draw_charge_against_logdet(randn(2, 7), randn(2, 6))
    with pytest.raises(TypeError, match="exact"):
        draw_charge_against_logdet(None, randn(2, 6))


def test_truncation_errors_draw_one_line_per_curve_on_a_log_scale():
    fig = draw_truncation_errors({"a": ([1, 2, 3], [1.0, 0.1, 0.01]), "b": ([1, 2], [0.5, 0.4])})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 2


def test_truncation_errors_refuse_bad_input():
    with pytest.raises(TypeError, match="errors"):
        draw_truncation_errors({"a": [1, 2, 3]})
    with pytest.raises(ValueError, match="errors"):
        draw_truncation_errors({"a": ([1, 2], [1.0])})
    with pytest.raises(ValueError, match="errors"):
        draw_truncation_errors({})
