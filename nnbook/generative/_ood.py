r"""Out-of-distribution detection with a density model, and where likelihoods mislead.

A generative classifier models :math:`p(x, y)`, so it also gives the density of the
input, :math:`p(x) = \sum_k p(x, y = k)` (equation :eq:`eq-gd-marginal-likelihood`). A
low :math:`p(x)` flags an input unlike the training data. A detector is judged by the
area under its ROC curve (equation :eq:`eq-gd-auroc`): the probability that it scores a
random in-distribution input above a random out-of-distribution one.
"""

from __future__ import annotations

import torch

from nnbook.contract import Methods, Tensor, contract

__all__ = ["auroc", "log_marginal_likelihood"]


@contract(
    "eq-gd-marginal-likelihood",
    model=Methods("log_joint"),
    X=Tensor("n", "F"),
    reference="torch.distributions.MixtureSameFamily",
)
def log_marginal_likelihood(model, X):
    r"""The log density of each input under a fitted generative classifier.

    Implements :eq:`eq-gd-marginal-likelihood`.

    Parameters
    ----------
    model : object
        A fitted generative classifier with a ``log_joint(X)`` method that returns
        :math:`\log p(x, y = k)` of shape (n, K), such as
        :class:`nnbook.generative.GaussianBayes` or
        :class:`nnbook.generative.GaussianNaiveBayes`.
    X : torch.Tensor
        Shape (n, F), the inputs.

    Returns
    -------
    torch.Tensor
        Shape (n,), :math:`\log p(x_i)`, the labels summed out.

    Notes
    -----
    .. math::
        \begin{aligned}
        \log p(x) &= \log \sum_{k=1}^{K} p(y = k)\, p(x \mid y = k) \\
        &= \operatorname{logsumexp}_k
        \bigl( \log p(y = k) + \log p(x \mid y = k) \bigr)
        \end{aligned}

    The log-sum-exp subtracts the largest term before exponentiating, so a density far
    below the smallest float (an input far from every class) still has a finite log.
    """
    return torch.logsumexp(model.log_joint(X), dim=1)  # (n,)


@contract(
    "eq-gd-auroc",
    scores_in=Tensor("n"),
    scores_out=Tensor("m"),
    reference="sklearn.metrics.roc_auc_score",
)
def auroc(scores_in, scores_out):
    r"""Area under the ROC curve of a score that should be higher in distribution.

    Implements :eq:`eq-gd-auroc`.

    Parameters
    ----------
    scores_in : torch.Tensor
        Shape (n,), the scores of in-distribution inputs (the positives).
    scores_out : torch.Tensor
        Shape (m,), the scores of out-of-distribution inputs, same dtype.

    Returns
    -------
    torch.Tensor
        0-D, in [0, 1]: the probability that a random in-distribution score beats a
        random out-of-distribution one, ties counted one half. 0.5 is chance; below
        0.5 the score ranks the out-of-distribution inputs *higher*.

    Notes
    -----
    .. math::
        \operatorname{AUROC} = \frac{1}{n m} \sum_{i=1}^{n} \sum_{j=1}^{m}
        \Bigl( [s_i > s'_j] + \tfrac12 [s_i = s'_j] \Bigr)

    This is the Mann-Whitney statistic divided by :math:`nm`. Instead of the
    :math:`nm` comparisons, each :math:`s_i` is located in the sorted
    :math:`s'`: the number of :math:`s'_j` below it and the number equal to it come from
    two binary searches, :math:`O((n + m) \log m)` in all.
    """
    _check_scores(scores_in, scores_out)  # not empty, no NaN; -inf is fine
    ordered = scores_out.sort().values  # (m,)
    below = torch.searchsorted(ordered, scores_in, right=False)  # s'_j < s_i
    below_or_tied = torch.searchsorted(ordered, scores_in, right=True)
    below, tied = below.double(), (below_or_tied - below).double()
    return ((below + 0.5 * tied).mean() / len(scores_out)).to(scores_in.dtype)


def _check_scores(scores_in, scores_out):
    """Refuse empty score sets and NaN scores, naming the argument."""
    if len(scores_in) == 0 or len(scores_out) == 0:
        raise ValueError(
            f"scores_in and scores_out must each hold at least one score, got "
            f"{len(scores_in)} and {len(scores_out)}"
        )
    for name, scores in (("scores_in", scores_in), ("scores_out", scores_out)):
        if scores.isnan().any():
            where = scores.isnan().nonzero().flatten()[:3].tolist()
            raise ValueError(
                f"{name} must not contain NaN, got NaN at positions {where}"
            )
