r"""Semi-supervised learning of a generative classifier by expectation-maximization.

A generative classifier models :math:`p(x, y) = p(y)\, p(x \mid y)`, so an unlabelled
point still has a likelihood under it, :math:`p(x) = \sum_k p(y = k)\, p(x \mid y = k)`,
and that likelihood depends on the same parameters. Maximising the likelihood of the
labelled pairs and of the unlabelled points together (equation
:eq:`eq-gd-em-objective`) is done by the EM algorithm: the E-step
(:func:`em_responsibilities`) fills in each missing label with the posterior of the
current model, and the M-step (:func:`em_m_step`) refits the Gaussians with those
weights. :class:`SemiSupervisedGaussian` alternates the two.

Labels are integers ``0 .. K-1``; ``-1`` marks an unlabelled point.
"""

from __future__ import annotations

import torch

from nnbook.contract import Choice, Instance, Int, Real, Tensor, contract
from nnbook.generative._bayes import GaussianBayes
from nnbook.generative._estimator import check_X

__all__ = [
    "SemiSupervisedGaussian",
    "em_m_step",
    "em_objective",
    "em_responsibilities",
]

UNLABELLED = -1


def _finite(name, x):
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got NaN or inf")


@contract(
    "eq-gd-em-estep",
    log_joint=Tensor("n", "K"),
    y=Tensor("n", dtype="int", low=-1, high="K"),
)
def em_responsibilities(log_joint, y):
    r"""The E-step: the weight :math:`r_{ik}` of each point in each class.

    Implements :eq:`eq-gd-em-estep`.

    Parameters
    ----------
    log_joint : torch.Tensor
        Shape (n, K): :math:`\log p(y = k) + \log p(x_i \mid y = k)` under the current
        parameters, for example the ``log_joint`` of a fitted :class:`GaussianBayes`.
    y : torch.Tensor
        Shape (n,), integer labels in ``0 .. K-1``, or ``-1`` for an unlabelled point.

    Returns
    -------
    torch.Tensor
        Shape (n, K); every row sums to 1. A labelled row is the one-hot vector of its
        label; an unlabelled row is the posterior :math:`p(y = k \mid x_i)`.

    Notes
    -----
    .. math::
        r_{ik} = \begin{cases}
        [\, y_i = k \,] & \text{$x_i$ labelled,} \\
        \dfrac{\pi_k\, p(x_i \mid \theta_k)}{\sum_j \pi_j\, p(x_i \mid \theta_j)}
        & \text{$x_i$ unlabelled.}
        \end{cases}
    """
    _finite("log_joint", log_joint)
    labelled = y >= 0
    posterior = torch.softmax(log_joint, dim=1)  # (n, K)
    one_hot = torch.nn.functional.one_hot(
        y.long().clamp(min=0), log_joint.shape[1]
    )
    return torch.where(
        labelled[:, None], one_hot.to(log_joint.dtype), posterior
    )


@contract(
    "eq-gd-em-mstep",
    X=Tensor("n", "F"),
    R=Tensor("n", "K"),
    covariance=Choice("full", "shared", "diagonal"),
    reg=Real(low=0),
)
def em_m_step(X, R, *, covariance="full", reg=0.0):
    r"""The M-step: priors, means and covariances from weighted points.

    Implements :eq:`eq-gd-em-mstep`.

    Parameters
    ----------
    X : torch.Tensor
        Shape (n, F), the points, labelled and unlabelled.
    R : torch.Tensor
        Shape (n, K), non-negative weights :math:`w_i r_{ik}`: the E-step's
        responsibilities times the weight of each point (1 for a labelled point,
        :math:`\lambda` for an unlabelled one).
    covariance : str, default "full"
        ``"full"`` (one covariance per class), ``"shared"`` (one for all classes) or
        ``"diagonal"`` (one diagonal covariance per class: naive Bayes).
    reg : float, default 0.0
        :math:`\epsilon`, added to the diagonal of every scatter matrix before it is
        divided by the class's weight. It is the maximum a posteriori estimate under
        the improper prior :math:`\propto \exp(-\frac{\epsilon}{2} \operatorname{tr}
        \Sigma_k^{-1})`, which keeps a covariance fitted to a few points invertible
        and lets EM still increase its objective in every round. ``reg=0`` is maximum
        likelihood, as scikit-learn's ``GaussianMixture`` with ``reg_covar=0``.

    Returns
    -------
    prior : torch.Tensor
        Shape (K,), :math:`\pi_k`.
    means : torch.Tensor
        Shape (K, F), :math:`\mu_k`.
    cov : torch.Tensor
        Shape (K, F, F), :math:`\Sigma_k` (equal matrices when shared, diagonal ones
        when diagonal).

    Notes
    -----
    .. math::
        \begin{aligned}
        N_k &= \sum_i w_i r_{ik}, \qquad
        \pi_k = \frac{N_k}{\sum_j N_j}, \\
        \mu_k &= \frac{1}{N_k} \sum_i w_i r_{ik}\, x_i, \\
        \Sigma_k &= \frac{1}{N_k} \Bigl( \sum_i w_i r_{ik}\,
        (x_i - \mu_k)(x_i - \mu_k)^\top
        + \epsilon I \Bigr) .
        \end{aligned}

    Shared, the scatter matrices of all classes are summed and divided by
    :math:`\sum_j N_j`; diagonal, the off-diagonal entries are set to 0.
    """
    _finite("X", X)
    _finite("R", R)
    if (R < 0).any():
        raise ValueError(
            f"R must be non-negative, got a minimum of {R.min().item():.3g}"
        )
    N = R.sum(dim=0)  # (K,)
    if (N <= 0).any():
        k = int((N <= 0).nonzero()[0])
        raise ValueError(
            f"R must give every class a positive total weight, class {k} has 0"
        )
    prior = N / N.sum()
    means = R.T @ X / N[:, None]  # (K, F)
    centred = X[None] - means[:, None]  # (K, n, F)
    scatter = torch.einsum("nk,kni,knj->kij", R, centred, centred)  # (K, F, F)
    F = X.shape[1]
    eye = reg * torch.eye(F, dtype=X.dtype)
    if covariance == "shared":
        cov = ((scatter.sum(dim=0) + eye) / N.sum()).expand(len(N), F, F)
    else:
        cov = (scatter + eye) / N[:, None, None]
        if covariance == "diagonal":
            cov = torch.diag_embed(cov.diagonal(dim1=1, dim2=2))
    return prior, means, cov


@contract(
    "eq-gd-em-objective",
    log_joint=Tensor("n", "K"),
    y=Tensor("n", dtype="int", low=-1, high="K"),
    lam=Real(low=0),
)
def em_objective(log_joint, y, *, lam=1.0):
    r"""The log-likelihood of the labelled pairs plus that of the unlabelled points.

    Implements :eq:`eq-gd-em-objective`.

    Parameters
    ----------
    log_joint : torch.Tensor
        Shape (n, K): :math:`\log p(x_i, y = k)` under the current parameters.
    y : torch.Tensor
        Shape (n,), labels in ``0 .. K-1``, or ``-1`` for an unlabelled point.
    lam : float, default 1.0
        The weight :math:`\lambda` of the unlabelled points.

    Returns
    -------
    torch.Tensor
        A scalar, the sum over the points (not the mean).

    Notes
    -----
    .. math::
        \ell(\theta) = \sum_{i \in L} \log p(x_i, y_i)
        + \lambda \sum_{i \in U} \log \sum_k p(x_i, y = k) .
    """
    _finite("log_joint", log_joint)
    labelled = y >= 0
    joint = log_joint[labelled].gather(1, y[labelled][:, None]).sum()
    marginal = torch.logsumexp(log_joint[~labelled], dim=1).sum()
    return joint + lam * marginal


class SemiSupervisedGaussian(GaussianBayes):
    r"""A Gaussian Bayes classifier fitted by EM to labelled and unlabelled points.

    Labels ``y = -1`` mark the unlabelled points. Starting from the fit to the
    labelled points alone (or from ``init``), it alternates
    :func:`em_responsibilities` and :func:`em_m_step`; each round cannot lower
    :func:`em_objective`. It predicts, scores and samples as :class:`GaussianBayes`.

    Parameters
    ----------
    n_classes : int
        :math:`K`; labels run over ``0 .. K-1``.
    covariance : str, default "full"
        ``"full"``, ``"shared"`` or ``"diagonal"``, as in :func:`em_m_step`.
    reg : float, default 0.0
        :math:`\epsilon` of :func:`em_m_step`: a weak prior on the covariances. The
        objective then gains the term :math:`-\frac{\epsilon}{2} \sum_k
        \operatorname{tr} \Sigma_k^{-1}` (once for a shared covariance).
    lam : float, default 1.0
        The weight :math:`\lambda` of the unlabelled points in the objective and in the
        M-step (the EM-:math:`\lambda` of Nigam et al., 2000). ``lam=0`` ignores them:
        the supervised fit.
    max_iter : int, default 100
        The most EM rounds.
    tol : float, default 1e-8
        Stop when the objective per point rises by less than ``tol``.

    Attributes
    ----------
    classes_, class_prior_ : torch.Tensor
        Shape (K,).
    means_ : torch.Tensor
        Shape (K, F).
    covariance_ : torch.Tensor
        Shape (K, F, F).
    objective_ : list
        :func:`em_objective`, with the prior's term, of the starting parameters and
        after every round; it never decreases.
    n_iter_ : int
        The number of rounds run.
    responsibilities_ : torch.Tensor
        Shape (n, K), the E-step under the final parameters.
    """

    @contract(
        n_classes=Int(low=1),
        covariance=Choice("full", "shared", "diagonal"),
        reg=Real(low=0),
        lam=Real(low=0),
        max_iter=Int(low=0),
        tol=Real(low=0),
    )
    def __init__(
        self,
        n_classes,
        *,
        covariance="full",
        reg=0.0,
        lam=1.0,
        max_iter=100,
        tol=1e-8,
    ):
        self.n_classes = n_classes
        self.covariance = covariance
        self.reg = reg
        self.lam = lam
        self.max_iter = max_iter
        self.tol = tol

    def _set(self, prior, means, cov):
        self.class_prior_, self.means_ = prior, means
        self.covariance_ = cov.clone()
        self._cholesky, info = torch.linalg.cholesky_ex(cov)
        if info.any():
            raise ValueError(
                "a class covariance matrix is singular: raise reg, for example "
                f"reg=1e-3, got {self.reg}"
            )

    @contract(init=Instance(tuple, optional=True))
    def fit(self, X, y, *, init=None):
        """Fit to labelled and unlabelled points (``y = -1``); return self.

        ``init``, a tuple ``(prior, means, cov)`` of shapes (K,), (K, F), (K, F, F),
        replaces the start from the labelled points, which needs a label in every class.
        """
        X = check_X(X)
        y = self._check_y(y, len(X))
        K, labelled = self.n_classes, y >= 0
        self.classes_ = torch.arange(K)
        self.n_features_in_ = X.shape[1]
        if init is None:
            missing = set(range(K)) - set(y[labelled].tolist())
            if missing:
                raise ValueError(
                    f"y must label at least one point of every class to start from, "
                    f"classes {sorted(missing)} have none; or pass init"
                )
            R = em_responsibilities(torch.zeros(len(X), K, dtype=X.dtype), y)
            start = em_m_step(
                X[labelled],
                R[labelled],
                covariance=self.covariance,
                reg=self.reg,
            )
        else:
            start = self._check_init(init, K, X.shape[1], X.dtype)
        self._set(*start)
        weight = torch.where(labelled, 1.0, self.lam).to(X.dtype)[:, None]
        log_joint = self._log_scores(X)
        self.objective_ = [self._objective(log_joint, y)]
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            R = em_responsibilities(log_joint, y)  # E-step
            self._set(
                *em_m_step(
                    X, weight * R, covariance=self.covariance, reg=self.reg
                )
            )  # M-step
            log_joint = self._log_scores(X)
            self.objective_.append(self._objective(log_joint, y))
            self.n_iter_ += 1
            gain = self.objective_[-1] - self.objective_[-2]
            if abs(gain) < self.tol * len(X):
                break
        self.responsibilities_ = em_responsibilities(log_joint, y)
        return self

    def _objective(self, log_joint, y):
        """:func:`em_objective` plus the log-prior of the covariances."""
        cov = (
            self.covariance_[:1]
            if self.covariance == "shared"
            else self.covariance_
        )
        inverse = torch.cholesky_inverse(self._cholesky[: len(cov)])
        penalty = 0.5 * self.reg * inverse.diagonal(dim1=1, dim2=2).sum()
        return (em_objective(log_joint, y, lam=self.lam) - penalty).item()

    def _check_y(self, y, n):
        y = torch.as_tensor(y)
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"y must hold integer labels, got dtype {y.dtype}")
        if y.shape != (n,):
            raise ValueError(
                f"y must have shape ({n},) like X's rows, got {tuple(y.shape)}"
            )
        y = y.long()
        if len(y) and (y.min() < -1 or y.max() >= self.n_classes):
            raise ValueError(
                f"y must hold labels in 0..{self.n_classes - 1} or -1 (unlabelled), "
                f"got values from {int(y.min())} to {int(y.max())}"
            )
        return y

    @staticmethod
    def _check_init(init, K, F, dtype):
        shapes = [(K,), (K, F), (K, F, F)]
        if len(init) != 3:
            raise ValueError(
                f"init must be a tuple (prior, means, cov), got {len(init)} items"
            )
        out = []
        for name, value, shape in zip(
            ("prior", "means", "cov"), init, shapes, strict=True
        ):
            value = torch.as_tensor(value, dtype=dtype)
            if tuple(value.shape) != shape:
                raise ValueError(
                    f"init's {name} must have shape {shape}, got {tuple(value.shape)}"
                )
            out.append(value)
        return out
