"""Samples and references for the contracts of nnbook.feedforward."""

import torch
import torch.nn.functional as F
from helpers import cache_only, from_forward, randn

from nnbook import feedforward as ff

A = randn(4, 3, seed=1)


def _mlp_forward():
    from nnbook.feedforward.mlp import MLP

    return (MLP([3, 4, 2], dtype=torch.float64), randn(5, 3)), {}


SAMPLES = {
    "nnbook.feedforward.mlp.MLP.forward": _mlp_forward,
    "nnbook.feedforward.activations.sigmoid_backward": from_forward(ff.sigmoid_forward, A),
    "nnbook.feedforward.activations.tanh_backward": from_forward(ff.tanh_forward, A),
    "nnbook.feedforward.activations.relu_backward": from_forward(ff.relu_forward, A),
    "nnbook.feedforward.activations.leaky_relu_backward": from_forward(ff.leaky_relu_forward, A),
    "nnbook.feedforward.activations.elu_backward": from_forward(ff.elu_forward, A),
    "nnbook.feedforward.linear.linear_backward": from_forward(
        ff.linear_forward, A, randn(2, 3, seed=2), randn(2, seed=3)
    ),
    "nnbook.feedforward.regularization.dropout_backward": from_forward(
        ff.dropout_forward, A, 0.5, generator=torch.Generator().manual_seed(0)
    ),
    "nnbook.feedforward.regularization.batch_norm_backward": from_forward(
        ff.batch_norm_forward, A, torch.ones(3, dtype=A.dtype), randn(3)
    ),
    "nnbook.feedforward.losses.mse_backward": cache_only(ff.mse_forward, A, randn(4, 3, seed=2)),
    "nnbook.feedforward.losses.softmax_cross_entropy_backward": cache_only(
        ff.softmax_cross_entropy_forward, A, torch.tensor([0, 2, 1, 2])
    ),
    "nnbook.feedforward.regularization.l2_penalty_backward": cache_only(
        ff.l2_penalty_forward, [A], 0.1
    ),
    "nnbook.feedforward.regularization.l1_penalty_backward": cache_only(
        ff.l1_penalty_forward, [A], 0.1
    ),
    "nnbook.feedforward.init.init_std": lambda: (("he_normal", 3, 4), {}),
    "nnbook.feedforward.init.init_weight": lambda: ((3, 4), {}),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    "nnbook.feedforward.activations.sigmoid_forward": torch.sigmoid,
    "nnbook.feedforward.activations.tanh_forward": torch.tanh,
    "nnbook.feedforward.activations.relu_forward": torch.relu,
    "nnbook.feedforward.activations.leaky_relu_forward": F.leaky_relu,
    "nnbook.feedforward.activations.elu_forward": F.elu,
    "nnbook.feedforward.linear.linear_forward": F.linear,
    "nnbook.feedforward.losses.logsumexp": torch.logsumexp,
    "nnbook.feedforward.losses.softmax": torch.softmax,
    "nnbook.feedforward.losses.log_softmax": torch.log_softmax,
    "nnbook.feedforward.losses.softmax_cross_entropy_forward": F.cross_entropy,
    "nnbook.feedforward.losses.mse_forward": lambda y_hat, y: (
        F.mse_loss(y_hat, y, reduction="sum") / (2 * y.shape[0])
    ),
}
