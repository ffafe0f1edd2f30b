r"""Discriminative classifiers: logistic and softmax regression.

They model :math:`p(y \mid x)` directly and never :math:`p(x)`. Both minimize the
cross-entropy of the training labels plus an L2 penalty on the weights (not on the
intercepts), with the same scaling as scikit-learn's ``LogisticRegression``:

.. math::
    J(W, b) = \sum_{i=1}^{n} -\log p(y_i \mid x_i) + \frac{1}{2C} \lVert W \rVert^2

so that a fit with the same ``C`` gives the same coefficients.
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch

from nnbook.contract import Choice, Int, Real, Tensor, contract
from nnbook.generative._estimator import Classifier, check_Xy

__all__ = ["LogisticRegression", "SoftmaxRegression", "logistic_gradient"]


@contract(
    "eq-gd-logistic-gradient",
    X=Tensor("n", "F"),
    y=Tensor("n"),
    w=Tensor("F"),
    C=Real(low=0, low_open=True),
)
def logistic_gradient(X, y, w, b, C=math.inf):
    r"""Gradient of the penalized binary cross-entropy, equation :eq:`eq-gd-logistic-gradient`.

    Parameters
    ----------
    X : Tensor of shape (n, F)
    y : Tensor of shape (n,)
        Labels 0 or 1.
    w : Tensor of shape (F,)
    b : float or Tensor
        The intercept (a 0-D tensor, or a number).
    C : float, default inf
        Inverse penalty strength; ``inf`` means no penalty.

    Returns
    -------
    dw : Tensor of shape (F,)
        :math:`X^\top (p - y) + w / C`, with :math:`p = \sigma(Xw + b)`.
    db : Tensor
        0-D, :math:`\sum_i (p_i - y_i)`.
    """
    if isinstance(b, bool) or not isinstance(b, numbers.Real | torch.Tensor):
        raise TypeError(
            f"b must be a number or a 0-D tensor, got {type(b).__name__}"
        )
    if isinstance(b, torch.Tensor) and b.ndim != 0:
        raise ValueError(
            f"b must be a number or a 0-D tensor, got shape {tuple(b.shape)}"
        )
    residual = torch.sigmoid(X @ w + b) - y
    return X.T @ residual + w / C, residual.sum()


class _Regression(Classifier):
    """Shared settings and the optimization loop of both regressions."""

    @contract(
        C=Real(low=0, low_open=True),
        solver=Choice("newton", "gd"),
        lr=Real(low=0, low_open=True),
        max_iter=Int(low=1),
        tol=Real(low=0),
    )
    def __init__(
        self, *, C=1.0, solver="newton", lr=0.1, max_iter=100, tol=1e-8
    ):
        self.C, self.solver, self.lr = C, solver, lr
        self.max_iter, self.tol = max_iter, tol

    @contract()
    def fit(self, X, y):
        r"""Minimize :math:`J` by Newton's method (IRLS) or gradient descent; return self.

        Newton steps are damped by backtracking until :math:`J` decreases. Gradient
        descent takes steps of ``lr`` times the mean gradient. Iteration stops when the
        largest gradient entry, divided by :math:`n`, is below ``tol``; a
        ``RuntimeWarning`` says when ``max_iter`` ran out first.
        """
        X, y, classes = check_Xy(X, y)
        self._setup(classes)
        Xb = torch.cat(
            [X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1
        )  # intercept as a last column
        theta = torch.zeros(self._n_outputs * Xb.shape[1], dtype=X.dtype)
        penalty = torch.ones_like(theta).reshape(self._n_outputs, -1)
        penalty[:, -1] = 0  # the intercepts are not penalized
        penalty = penalty.flatten() / self.C
        self.loss_curve_ = []
        for iteration in range(1, self.max_iter + 1):
            self.n_iter_ = iteration
            loss, grad, hessian = self._objective(
                Xb, y, theta, penalty, hessian=self.solver == "newton"
            )
            self.loss_curve_.append(loss.item())
            if grad.abs().max() / len(X) < self.tol:
                break
            if self.solver == "gd":
                theta = theta - self.lr * grad / len(X)
                continue
            eye = torch.eye(len(theta), dtype=X.dtype)
            step = torch.linalg.solve(hessian + 1e-10 * eye, grad)
            for _ in range(30):  # backtracking: halve until J decreases
                if self._objective(Xb, y, theta - step, penalty)[0] <= loss:
                    break
                step = step / 2
            theta = theta - step
        else:
            warnings.warn(
                f"{type(self).__name__} did not converge in {self.max_iter} iterations "
                f"(largest mean gradient {grad.abs().max().item() / len(X):.1e}); raise max_iter",
                RuntimeWarning,
                stacklevel=3,  # the caller of fit, past its contract
            )
        coef = theta.reshape(self._n_outputs, -1)
        self.coef_, self.intercept_ = coef[:, :-1].clone(), coef[:, -1].clone()
        self.n_features_in_ = X.shape[1]
        return self


class LogisticRegression(_Regression):
    r"""Binary logistic regression, :math:`p(y = 1 \mid x) = \sigma(w^\top x + b)`.

    Equation :eq:`eq-gd-logistic`.

    Parameters
    ----------
    C : float, default 1.0
        Inverse strength of the L2 penalty on :math:`w`; ``math.inf`` for none.
    solver : str, default "newton"
        ``"newton"``: Newton's method, which for this loss is iteratively reweighted least squares
        (IRLS); ``"gd"``: plain gradient descent.
    lr : float, default 0.1
        Step size of gradient descent, applied to the mean gradient
        :math:`\nabla J / n` (equation :eq:`eq-gd-logistic-gradient` is the sum).
    max_iter : int, default 100
    tol : float, default 1e-8

    Attributes
    ----------
    classes_ : Tensor of shape (2,)
    coef_ : Tensor of shape (1, F)
    intercept_ : Tensor of shape (1,)
    n_iter_ : int
    loss_curve_ : list of float
        :math:`J` at every iteration.
    """

    _n_outputs = 1

    def _setup(self, classes):
        if len(classes) != 2:
            raise ValueError(
                f"y must contain exactly 2 classes for LogisticRegression, got {len(classes)}; "
                "use SoftmaxRegression"
            )
        self.classes_ = classes

    def _objective(self, Xb, y, theta, penalty, hessian=False):
        z = Xb @ theta
        p = torch.sigmoid(z)
        loss = (
            torch.nn.functional.softplus(z).sum()
            - (y * z).sum()
            + 0.5 * (penalty * theta**2).sum()
        )
        grad = Xb.T @ (p - y) + penalty * theta  # eq-gd-logistic-gradient
        H = (
            Xb.T @ (Xb * (p * (1 - p))[:, None]) + torch.diag(penalty)
            if hessian
            else None
        )
        return loss, grad, H

    @contract("eq-gd-logistic")
    def decision_function(self, X):
        r"""The log-odds :math:`w^\top x + b`, shape (n,)."""
        return self._check_X(X) @ self.coef_[0] + self.intercept_[0]

    def _log_scores(self, X):
        z = X @ self.coef_[0] + self.intercept_[0]
        return torch.stack(
            [torch.zeros_like(z), z], dim=1
        )  # softmax of (0, z) is (1 - sigma(z), sigma(z))


class SoftmaxRegression(_Regression):
    r"""Multinomial logistic regression, :math:`p(y = k \mid x) = \operatorname{softmax}(W x + b)_k`.

    Equation :eq:`eq-gd-softmax-regression`. Parameters as :class:`LogisticRegression`;
    ``coef_`` has shape (K, F) and ``intercept_`` (K,). Adding one vector to every row of
    :math:`W` leaves the probabilities unchanged; the penalty picks the solution whose
    rows sum to zero, and the intercepts are centred to sum to zero too, as scikit-learn
    does.
    """

    def _setup(self, classes):
        self.classes_, self._n_outputs = classes, len(classes)

    def _objective(self, Xb, y, theta, penalty, hessian=False):
        K = self._n_outputs
        logits = Xb @ theta.reshape(K, -1).T  # (n, K)
        log_p = torch.log_softmax(logits, dim=1)
        loss = (
            -log_p[torch.arange(len(y)), y].sum()
            + 0.5 * (penalty * theta**2).sum()
        )
        residual = log_p.exp() - torch.nn.functional.one_hot(y, K).double()
        grad = (residual.T @ Xb).flatten() + penalty * theta
        H = None
        if hessian:
            p = log_p.exp()
            A = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # (n, K, K)
            outer = (Xb[:, :, None] * Xb[:, None, :]).reshape(
                len(Xb), -1
            )  # (n, F*F)
            F = Xb.shape[1]
            blocks = (A.reshape(len(Xb), K * K).T @ outer).reshape(
                K, K, F, F
            )  # sum_n A_n[a, b] x x^T
            H = blocks.permute(0, 2, 1, 3).reshape(
                len(theta), len(theta)
            ) + torch.diag(penalty)
        return loss, grad, H

    @contract()
    def fit(self, X, y):
        """Minimize :math:`J` as ``LogisticRegression.fit`` does, then centre the intercepts; return self."""
        super().fit(X, y)
        self.intercept_ -= self.intercept_.mean()
        return self

    def _log_scores(self, X):
        return X @ self.coef_.T + self.intercept_
