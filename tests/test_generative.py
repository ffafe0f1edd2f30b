"""nnbook.generative and nnbook.generative against scikit-learn, autograd and enumeration."""

import itertools
import math

import numpy as np
import pytest
import torch
from sklearn import discriminant_analysis, linear_model, naive_bayes
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.preprocessing import StandardScaler

from nnbook.generative import BernoulliRBM, GaussianBayes, GaussianNaiveBayes, train_gan
from nnbook.generative._discriminative import (
    LogisticRegression,
    SoftmaxRegression,
    logistic_gradient,
)
from nnbook.generative._estimator import NotFittedError

pytestmark = pytest.mark.gd


def _standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("loader", [load_iris, load_wine, load_breast_cancer])
@pytest.mark.parametrize("smoothing", [1e-9, 1e-2])
def test_naive_bayes_matches_sklearn(loader, smoothing):
    X, y = loader(return_X_y=True)
    ours = GaussianNaiveBayes(var_smoothing=smoothing).fit(X, y)
    theirs = naive_bayes.GaussianNB(var_smoothing=smoothing).fit(X, y)
    np.testing.assert_allclose(
        ours.predict_proba(X).numpy(), theirs.predict_proba(X), rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(ours.var_.numpy(), theirs.var_, rtol=1e-12)


def test_pooled_naive_bayes_is_the_closed_form():
    X, y = load_iris(return_X_y=True)
    model = GaussianNaiveBayes(variance="pooled", var_smoothing=0.0).fit(X, y)
    means = np.stack([X[y == k].mean(axis=0) for k in range(3)])
    var = ((X - means[y]) ** 2).mean(axis=0)
    from scipy.stats import norm

    joint = np.log(1 / 3) + norm.logpdf(X[:, None, :], means[None], np.sqrt(var)).sum(axis=2)
    expected = joint - np.logaddexp.reduce(joint, axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_log_proba(X).numpy(), expected, atol=1e-10)


@pytest.mark.parametrize("loader", [load_iris, load_wine])
@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_gaussian_bayes_matches_qda_and_lda(loader, reg):
    X, y = loader(return_X_y=True)
    qda = discriminant_analysis.QuadraticDiscriminantAnalysis(reg_param=reg).fit(X, y)
    ours = GaussianBayes(reg=reg).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X).numpy(), qda.predict_proba(X), atol=1e-8)
    shared = GaussianBayes(covariance="shared").fit(X, y)
    for solver in ("svd", "lsqr"):
        lda = discriminant_analysis.LinearDiscriminantAnalysis(solver=solver).fit(X, y)
        np.testing.assert_allclose(shared.predict_proba(X).numpy(), lda.predict_proba(X), atol=1e-8)


def test_shared_covariance_gives_linear_log_odds():
    X, y = load_breast_cancer(return_X_y=True)
    model = GaussianBayes(covariance="shared", reg=1e-3).fit(X, y)
    log_odds = lambda Z: np.diff(model.predict_log_proba(Z).numpy(), axis=1)[:, 0]  # noqa: E731
    a, b = X[0], X[1]
    mid = log_odds(np.stack([a, b, 0.3 * a + 0.7 * b]))
    assert mid[2] == pytest.approx(0.3 * mid[0] + 0.7 * mid[1], rel=1e-8)
    quadratic = GaussianBayes(reg=1e-3).fit(X, y)
    q = np.diff(quadratic.predict_log_proba(np.stack([a, b, 0.3 * a + 0.7 * b])).numpy(), axis=1)[
        :, 0
    ]
    assert abs(q[2] - (0.3 * q[0] + 0.7 * q[1])) > 1e-3


@pytest.mark.parametrize("C", [0.1, 1.0, 100.0])
def test_logistic_regression_matches_sklearn(C):
    X, y = _standardized(load_breast_cancer)
    ours = LogisticRegression(C=C).fit(X, y)
    theirs = linear_model.LogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_.numpy(), theirs.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_.numpy(), theirs.intercept_, atol=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X).numpy(), theirs.predict_proba(X), atol=1e-5)


def test_gradient_descent_reaches_the_newton_solution():
    X, y = _standardized(load_breast_cancer)
    newton = LogisticRegression(C=0.1).fit(X, y)
    gd = LogisticRegression(C=0.1, solver="gd", lr=1.0, max_iter=5000, tol=1e-7).fit(X, y)
    np.testing.assert_allclose(gd.coef_.numpy(), newton.coef_.numpy(), atol=1e-4)
    assert gd.loss_curve_[-1] >= newton.loss_curve_[-1] - 1e-9
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(newton.loss_curve_))


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_softmax_regression_matches_sklearn(loader):
    X, y = _standardized(loader)
    ours = SoftmaxRegression(C=1.0).fit(X, y)
    theirs = linear_model.LogisticRegression(C=1.0, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_.numpy(), theirs.coef_, atol=1e-4)
    np.testing.assert_allclose(
        ours.intercept_.numpy(), theirs.intercept_ - theirs.intercept_.mean(), atol=1e-4
    )
    np.testing.assert_allclose(ours.predict_proba(X).numpy(), theirs.predict_proba(X), atol=1e-5)


def test_logistic_gradient_matches_autograd():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 4, generator=g, dtype=torch.float64)
    y = (torch.rand(20, generator=g) < 0.5).double()
    w = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    z = X @ w + b
    loss = (torch.nn.functional.softplus(z) - y * z).sum() + (w**2).sum() / (2 * 2.0)
    loss.backward()
    dw, db = logistic_gradient(X, y, w.detach(), b.detach(), C=2.0)
    torch.testing.assert_close(dw, w.grad)
    torch.testing.assert_close(db, b.grad)


@pytest.mark.parametrize(
    "model",
    [
        GaussianNaiveBayes(),
        GaussianNaiveBayes(variance="pooled"),
        GaussianBayes(),
        GaussianBayes(covariance="shared"),
        SoftmaxRegression(),
    ],  # fmt: skip
)
def test_log_of_predict_proba_is_predict_log_proba(model):
    X, y = _standardized(load_iris)
    model.fit(X, y)
    torch.testing.assert_close(model.predict_proba(X).log(), model.predict_log_proba(X))
    torch.testing.assert_close(
        model.predict_proba(X).sum(dim=1), torch.ones(len(X), dtype=torch.float64)
    )


def test_generative_models_sample_their_own_distribution():
    X, y = load_iris(return_X_y=True)
    for model in (GaussianNaiveBayes(), GaussianBayes()):
        model.fit(X, y)
        Xs, ys = model.sample(30_000, generator=torch.Generator().manual_seed(0))
        refit = type(model)(
            **({"variance": "per_class"} if isinstance(model, GaussianNaiveBayes) else {})
        ).fit(Xs, ys)
        means = refit.theta_ if isinstance(model, GaussianNaiveBayes) else refit.means_
        expected = model.theta_ if isinstance(model, GaussianNaiveBayes) else model.means_
        torch.testing.assert_close(means, expected, atol=0.03, rtol=0)


# -- the RBM, against brute-force enumeration -------------------------------------------------


def _tiny_rbm(V=5, H=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = (torch.rand(40, V, generator=g) < 0.4).double()
    rbm = BernoulliRBM(H, epochs=1, seed=seed).fit(X)
    rbm.W_ = torch.randn(H, V, generator=g, dtype=torch.float64)  # weights far from zero
    rbm.b_, rbm.c_ = (
        torch.randn(V, generator=g, dtype=torch.float64),
        torch.randn(H, generator=g, dtype=torch.float64),
    )
    return rbm, X


def _states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def test_rbm_conditionals_free_energy_and_partition_match_enumeration():
    rbm, _ = _tiny_rbm()
    vs, hs = _states(5), _states(3)
    energies = torch.stack([rbm.energy(vs, h.expand(len(vs), -1)) for h in hs], dim=1)  # (2^V, 2^H)
    torch.testing.assert_close(rbm.free_energy(vs), -torch.logsumexp(-energies, dim=1))
    weights = torch.softmax(-energies, dim=1)  # p(h | v) over every h
    torch.testing.assert_close(rbm.h_given_v(vs), weights @ hs)
    weights_v = torch.softmax(-energies, dim=0)  # p(v | h)
    torch.testing.assert_close(rbm.v_given_h(hs), weights_v.T @ vs)
    log_z = torch.logsumexp(-energies.flatten(), dim=0)
    torch.testing.assert_close(rbm.log_partition(), log_z)
    wide, _ = _tiny_rbm(V=3, H=6)  # enumerates the visible side instead
    energies = torch.stack([wide.energy(_states(3), h.expand(8, -1)) for h in _states(6)], dim=1)
    torch.testing.assert_close(wide.log_partition(), torch.logsumexp(-energies.flatten(), dim=0))


def test_cd_training_increases_the_exact_likelihood():
    g = torch.Generator().manual_seed(1)
    prototypes = torch.tensor([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=torch.float64)
    X = prototypes[torch.randint(0, 2, (200,), generator=g)]
    X = torch.where(torch.rand(X.shape, generator=g) < 0.05, 1 - X, X)  # 5 % of bits flipped
    rbm = BernoulliRBM(4, lr=0.1, epochs=1, batch_size=10).fit(X)
    before = rbm.log_likelihood(X)
    for _ in range(30):
        rbm.partial_fit(X)
    assert rbm.log_likelihood(X) > before + 1.0
    assert rbm.log_likelihood(X) > 6 * math.log(0.5) + 1.0  # far better than independent coins


def test_gan_moves_samples_to_the_data():
    torch.manual_seed(0)
    generator = torch.nn.Linear(1, 1)
    discriminator = torch.nn.Sequential(
        torch.nn.Linear(1, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1)
    )
    history = train_gan(generator, discriminator, lambda n, g: 3 + 0.5 * torch.randn(n, 1, generator=g),
                        latent_dim=1, steps=600, lr=0.01)  # fmt: skip
    samples = generator(torch.randn(5000, 1)).detach()
    assert abs(samples.mean().item() - 3) < 0.3
    assert len(history["generator"]) == 600


def _small_gan(seed):
    torch.manual_seed(seed)
    generator = torch.nn.Linear(1, 1).double()
    discriminator = torch.nn.Sequential(
        torch.nn.Linear(1, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1)
    ).double()
    return generator, discriminator


def test_gan_trains_in_the_dtype_of_the_networks():
    generator, discriminator = _small_gan(0)
    real = lambda n, g: 3 + 0.5 * torch.randn(n, 1, generator=g)  # noqa: E731 - float32, cast
    history = train_gan(generator, discriminator, real, latent_dim=1, steps=600, lr=0.01)
    assert generator.weight.dtype == discriminator[0].weight.dtype == torch.float64
    samples = generator(torch.randn(5000, 1, dtype=torch.float64)).detach()
    assert abs(samples.mean().item() - 3) < 0.3
    again = train_gan(*_small_gan(0), real, latent_dim=1, steps=600, lr=0.01)
    assert again == history  # the seed fixes the noise and the real batches


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", [GaussianNaiveBayes(), GaussianBayes(), LogisticRegression(), SoftmaxRegression()]
)
def test_bad_input(model):
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(
        NotFittedError,
        match=rf"this {type(model).__name__} is not fitted yet: call fit\(X, y\) first",
    ):
        model.predict(X)
    with pytest.raises(ValueError, match=r"y must contain at least 2 classes, got 1: \[0\]"):
        model.fit(X[:10], np.zeros(10))
    Xnan = X.copy()
    Xnan[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"X must be finite, but rows \[3\] contain NaN or inf"):
        model.fit(Xnan, y)
    model.fit(StandardScaler().fit_transform(X), y)
    with pytest.raises(ValueError, match=r"X must have shape \(n, F=30\), got \(569, 29\)"):
        model.predict(X[:, :29])
    with pytest.raises(ValueError, match=r"y must have shape \(n=569,\), got \(568,\)"):
        model.fit(X, y[:-1])


def test_bad_settings():
    with pytest.raises(
        ValueError, match=r"variance must be one of per_class, pooled, got 'shared'"
    ):
        GaussianNaiveBayes(variance="shared")
    with pytest.raises(ValueError, match=r"covariance must be one of full, shared, got 'diag'"):
        GaussianBayes(covariance="diag")
    with pytest.raises(
        ValueError, match=r"y must contain exactly 2 classes for LogisticRegression, got 3"
    ):
        LogisticRegression().fit(*load_iris(return_X_y=True))
    with pytest.raises(ValueError, match=r"C must be in \(0, inf\], got 0"):
        LogisticRegression(C=0)
    with pytest.raises(ValueError, match=r"a class covariance matrix is singular"):
        GaussianBayes().fit(np.eye(4)[:, :3].repeat(2, axis=0), [0, 0, 0, 0, 1, 1, 1, 1])
    with pytest.warns(RuntimeWarning, match=r"did not converge in 3 iterations"):
        LogisticRegression(solver="gd", max_iter=3).fit(*_standardized(load_breast_cancer))


def test_rbm_bad_input():
    with pytest.raises(
        ValueError,
        match=r"X must be binary \(0 or 1\) for a Bernoulli RBM, got values such as \[0.5",
    ):
        BernoulliRBM(3).fit(np.full((4, 5), 0.5))
    rbm = BernoulliRBM(3, epochs=1).fit(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"X must have shape \(n, F=5\), got \(2, 6\)"):
        rbm.transform(np.ones((2, 6)))
    with pytest.raises(NotFittedError, match=r"this BernoulliRBM is not fitted yet"):
        BernoulliRBM(3).sample(2)
    big = BernoulliRBM(30, epochs=1).fit(np.ones((2, 40)))
    with pytest.raises(ValueError, match=r"V = 40 and H = 30 are both above 20"):
        big.log_partition()


def test_naive_bayes_without_smoothing_refuses_a_constant_feature():
    from nnbook.generative._bayes import GaussianNaiveBayes

    X = torch.tensor([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0], [1.0, 5.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"feature 0 is constant in class 0, .* got 0"):
        GaussianNaiveBayes(var_smoothing=0).fit(X, y)
    assert torch.isfinite(GaussianNaiveBayes().fit(X, y).predict_proba(X)).all()


def test_checks_the_contracts_cannot_express():
    X = torch.zeros(3, 2, dtype=torch.float64)
    y, w = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"b must be a number or a 0-D tensor, got str"):
        logistic_gradient(X, y, w, "0")
    with pytest.raises(ValueError, match=r"b must be a number or a 0-D tensor, got shape \(2,\)"):
        logistic_gradient(X, y, w, w)
    with pytest.raises(ValueError, match=r"y must have shape \(n=3,\), got \(2,\)"):
        logistic_gradient(X, y[:2], w, 0.0)
    with pytest.raises(TypeError, match=r"sample_real must be callable, got int"):
        train_gan(torch.nn.Linear(1, 1), torch.nn.Linear(1, 1), 3, latent_dim=1, steps=1)
    with pytest.raises(NotFittedError, match=r"this BernoulliRBM is not fitted yet"):
        BernoulliRBM(3).h_given_v(torch.ones(2, 5, dtype=torch.float64))
    rbm = BernoulliRBM(3, epochs=1).fit(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"v must be binary \(0 or 1\) .* for example v > 0.5"):
        rbm.free_energy(torch.full((2, 5), 0.5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"v must have shape \(n, V=5\), got \(2, 6\)"):
        rbm.h_given_v(torch.ones(2, 6, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"v must have dtype torch.float64"):
        rbm.gibbs(torch.ones(2, 5))
