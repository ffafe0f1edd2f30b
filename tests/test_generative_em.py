"""Semi-supervised EM (nnbook.generative._em) against scikit-learn and the supervised fits."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from helpers import close_figures, randn  # noqa: F401
from sklearn.mixture import GaussianMixture

from nnbook.generative import (
    GaussianBayes,
    GaussianNaiveBayes,
    SemiSupervisedGaussian,
    em_m_step,
    em_objective,
    em_responsibilities,
)
from nnbook.plot.generative_em import draw_label_curves, draw_partially_labelled

pytestmark = pytest.mark.gd

SKLEARN = {"full": "full", "shared": "tied", "diagonal": "diag"}


def _three_blobs(n=90, seed=0):
    """Three Gaussian clusters in 2-D with different shapes; labels 0, 1, 2 in turn."""
    y = torch.arange(n) % 3
    centres = torch.tensor([[0.0, 0.0], [4.0, 1.0], [1.0, 4.0]], dtype=torch.float64)
    scales = torch.tensor([[1.0, 0.4], [0.6, 1.2], [0.8, 0.8]], dtype=torch.float64)
    return centres[y] + scales[y] * randn(n, 2, seed=seed), y


def _start(X, K=3):
    """Priors, means and covariances to start EM from: equal, spread points, identity."""
    F = X.shape[1]
    idx = torch.linspace(0, len(X) - 1, K).long()
    eye = torch.eye(F, dtype=torch.float64).expand(K, F, F).clone()
    return torch.full((K,), 1 / K, dtype=torch.float64), X[idx].clone(), eye


def _precisions(cov, covariance):
    prec = torch.linalg.inv(cov).numpy()
    if covariance == "shared":
        return prec[0]
    if covariance == "diagonal":
        return np.stack([np.diag(p) for p in prec])
    return prec


@pytest.mark.parametrize("covariance", ["full", "shared", "diagonal"])
def test_without_labels_it_takes_the_steps_of_sklearns_gaussian_mixture(covariance):
    X, _ = _three_blobs()
    start = _start(X)
    ours = SemiSupervisedGaussian(3, covariance=covariance, max_iter=12, tol=0.0)
    ours.fit(X, torch.full((len(X),), -1), init=start)
    theirs = GaussianMixture(
        3,
        covariance_type=SKLEARN[covariance],
        weights_init=start[0].numpy(),
        means_init=start[1].numpy(),
        precisions_init=_precisions(start[2], covariance),
        max_iter=12,
        tol=1e-300,
        reg_covar=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no convergence in 12 rounds
        theirs.fit(X.numpy())
    assert ours.n_iter_ == 12
    np.testing.assert_allclose(ours.class_prior_.numpy(), theirs.weights_, atol=1e-12)
    np.testing.assert_allclose(ours.means_.numpy(), theirs.means_, atol=1e-12)
    cov = ours.covariance_.numpy()
    expected = theirs.covariances_
    if covariance == "shared":
        expected = np.broadcast_to(expected, cov.shape)
    elif covariance == "diagonal":
        expected = np.stack([np.diag(v) for v in expected])
    np.testing.assert_allclose(cov, expected, atol=1e-12)
    # the posterior of the final model, as scikit-learn computes it
    np.testing.assert_allclose(
        ours.predict_proba(X).numpy(), theirs.predict_proba(X.numpy()), atol=1e-10
    )


@pytest.mark.parametrize("covariance", ["full", "shared"])
def test_with_every_label_it_is_the_supervised_gaussian_bayes_fit(covariance):
    X, y = _three_blobs()
    ours = SemiSupervisedGaussian(3, covariance=covariance).fit(X, y)
    theirs = GaussianBayes(covariance=covariance).fit(X, y)
    torch.testing.assert_close(ours.class_prior_, theirs.class_prior_)
    torch.testing.assert_close(ours.means_, theirs.means_)
    torch.testing.assert_close(ours.covariance_, theirs.covariance_)
    torch.testing.assert_close(ours.predict_proba(X), theirs.predict_proba(X))
    assert ours.n_iter_ == 1  # one M-step changes nothing: the objective is flat


def test_with_every_label_the_diagonal_model_is_gaussian_naive_bayes():
    X, y = _three_blobs()
    ours = SemiSupervisedGaussian(3, covariance="diagonal").fit(X, y)
    theirs = GaussianNaiveBayes(var_smoothing=0.0).fit(X, y)
    torch.testing.assert_close(ours.means_, theirs.theta_)
    torch.testing.assert_close(ours.covariance_.diagonal(dim1=1, dim2=2), theirs.var_)
    torch.testing.assert_close(ours.predict_proba(X), theirs.predict_proba(X))


@pytest.mark.parametrize("covariance", ["full", "shared", "diagonal"])
@pytest.mark.parametrize(("reg", "lam"), [(0.0, 1.0), (0.5, 1.0), (0.3, 0.2)])
@pytest.mark.parametrize("seed", range(4))
def test_the_objective_never_decreases(covariance, reg, lam, seed):
    X, y = _three_blobs(120, seed=seed)
    y_shown = torch.full_like(y, -1)
    y_shown[:9] = y[:9]  # three labels per class
    model = SemiSupervisedGaussian(
        3, covariance=covariance, reg=reg, lam=lam, max_iter=60, tol=0.0
    ).fit(X, y_shown)
    objective = np.array(model.objective_)
    assert len(objective) == model.n_iter_ + 1
    assert (np.diff(objective) >= -1e-10 * np.abs(objective[:-1])).all()
    assert objective[-1] > objective[0]


def test_responsibilities_are_the_posterior_on_unlabelled_points_and_labels_elsewhere():
    X, y = _three_blobs()
    y_shown = y.clone()
    y_shown[3:] = -1
    model = SemiSupervisedGaussian(3, reg=0.1, max_iter=5).fit(X, y_shown)
    R = model.responsibilities_
    torch.testing.assert_close(R[3:], model.predict_proba(X[3:]))
    torch.testing.assert_close(R[:3], torch.eye(3, dtype=torch.float64)[y[:3]])
    torch.testing.assert_close(R.sum(dim=1), torch.ones(len(X), dtype=torch.float64))


def test_the_e_step_is_the_posterior_computed_with_bayes_rule():
    log_joint = randn(5, 3, seed=4)
    y = torch.tensor([-1, 2, -1, 0, -1])
    R = em_responsibilities(log_joint, y)
    joint = log_joint.exp()
    torch.testing.assert_close(R[0], joint[0] / joint[0].sum())
    torch.testing.assert_close(R[1], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))


def test_the_m_step_with_one_hot_weights_is_the_supervised_fit():
    X, y = _three_blobs()
    R = torch.nn.functional.one_hot(y).double()
    prior, means, cov = em_m_step(X, R, covariance="full", reg=0.0)
    model = GaussianBayes().fit(X, y)
    torch.testing.assert_close(prior, model.class_prior_)
    torch.testing.assert_close(means, model.means_)
    torch.testing.assert_close(cov, model.covariance_)


def test_the_m_step_prior_is_the_maximum_of_the_penalised_likelihood():
    """d/dSigma of sum_i r_i log N(x_i; mu, Sigma) - reg/2 tr(Sigma^-1) is 0 there (autograd)."""
    X = randn(20, 2, seed=5)
    r = torch.rand(20, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    _, means, cov = em_m_step(X, r[:, None], reg=0.7)
    sigma = cov[0].clone().requires_grad_()
    normal = torch.distributions.MultivariateNormal(means[0], covariance_matrix=sigma)
    value = (r * normal.log_prob(X)).sum() - 0.35 * torch.linalg.inv(sigma).trace()
    (grad,) = torch.autograd.grad(value, sigma)
    assert grad.abs().max() < 1e-10


def test_the_objective_is_the_likelihood_of_pairs_and_of_inputs():
    X, y = _three_blobs(30)
    model = GaussianBayes().fit(X, y)
    y_shown = y.clone()
    y_shown[10:] = -1
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(model.class_prior_),
        torch.distributions.MultivariateNormal(model.means_, model.covariance_),
    )
    labelled = (
        torch.distributions.MultivariateNormal(
            model.means_[y[:10]], model.covariance_[y[:10]]
        ).log_prob(X[:10])
        + model.class_prior_[y[:10]].log()
    )
    expected = labelled.sum() + 0.4 * mixture.log_prob(X[10:]).sum()
    torch.testing.assert_close(em_objective(model.log_joint(X), y_shown, lam=0.4), expected)


def test_lam_zero_ignores_the_unlabelled_points():
    X, y = _three_blobs()
    y_shown = torch.full_like(y, -1)
    y_shown[:30] = y[:30]
    ours = SemiSupervisedGaussian(3, lam=0.0).fit(X, y_shown)
    theirs = GaussianBayes().fit(X[:30], y[:30])
    torch.testing.assert_close(ours.means_, theirs.means_)
    torch.testing.assert_close(ours.covariance_, theirs.covariance_)


def test_bad_inputs_are_refused_with_messages():
    X, y = _three_blobs()
    model = SemiSupervisedGaussian(3)
    with pytest.raises(ValueError, match=r"y must hold labels in 0\.\.2 or -1"):
        model.fit(X, torch.full_like(y, 3))
    with pytest.raises(TypeError, match="y must hold integer labels, got dtype"):
        model.fit(X, y.double())
    with pytest.raises(ValueError, match=r"y must have shape \(90,\) like X's rows"):
        model.fit(X, y[:5])
    with pytest.raises(ValueError, match=r"classes \[2\] have none; or pass init"):
        model.fit(X, torch.where(y == 2, -1, y))
    with pytest.raises(ValueError, match="X must be finite"):
        model.fit(torch.full_like(X, float("nan")), y)
    with pytest.raises(ValueError, match=r"init's means must have shape \(3, 2\)"):
        model.fit(X, y, init=(torch.ones(3) / 3, torch.zeros(2, 2), torch.eye(2).expand(3, 2, 2)))
    with pytest.raises(ValueError, match="init must be a tuple"):
        model.fit(X, y, init=(torch.ones(3),))
    with pytest.raises(ValueError, match="raise reg"):
        SemiSupervisedGaussian(3, reg=0.0).fit(X, torch.tensor([0, 1, 2] + [-1] * 87))
    with pytest.raises(ValueError, match="R must be non-negative"):
        em_m_step(X, -torch.ones(90, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="class 1 has 0"):
        em_m_step(X, torch.eye(3, dtype=torch.float64)[torch.zeros(90, dtype=torch.long) * 2])
    with pytest.raises(ValueError, match="log_joint must be finite"):
        em_responsibilities(torch.full((2, 3), float("nan"), dtype=torch.float64), y[:2])
    with pytest.raises(ValueError, match="log_joint must be finite"):
        em_objective(torch.full((2, 3), float("nan"), dtype=torch.float64), y[:2])


def test_draw_partially_labelled_draws_points_and_one_boundary_per_model():
    gx, gy = np.meshgrid(np.linspace(-3, 3, 20), np.linspace(-2, 2, 15))
    X = randn(30, 2, seed=7)
    y = torch.tensor([0, 1] + [-1] * 28)
    p = 1 / (1 + np.exp(-gx))
    _, ax = plt.subplots()
    out = draw_partially_labelled(gx, gy, X, y, {"a": p, "b": 1 - p}, ax)
    assert out is ax
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["unlabelled", "labelled, class 0", "labelled, class 1", "a", "b"]
    with pytest.raises(ValueError, match="y must hold -1, 0 or 1"):
        draw_partially_labelled(gx, gy, X, torch.full((30,), 2), {}, ax)
    with pytest.raises(ValueError, match=r"boundaries\['a'\] must have shape"):
        draw_partially_labelled(gx, gy, X, y, {"a": p[1:]}, ax)
    with pytest.raises(TypeError, match="boundaries must be a mapping"):
        draw_partially_labelled(gx, gy, X, y, [p], ax)


def test_draw_label_curves_draws_a_mean_line_and_a_band_per_method():
    acc = {"a": np.array([[0.5, 0.7], [0.6, 0.8]]), "b": np.array([[0.4, 0.9], [0.4, 0.9]])}
    _, ax = plt.subplots()
    draw_label_curves([1, 10], acc, ax)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [55.0, 75.0])
    assert len(ax.collections) == 2
    with pytest.raises(ValueError, match=r"accuracies\['a'\] must have shape \(splits, 3\)"):
        draw_label_curves([1, 2, 3], acc, ax)
    with pytest.raises(ValueError, match="counts must be a non-empty list"):
        draw_label_curves([0, 1], acc, ax)
    with pytest.raises(TypeError, match="accuracies must be a mapping"):
        draw_label_curves([1, 10], [1], ax)
