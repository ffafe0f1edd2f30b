"""Samples and references for the contracts of nnbook.fnn."""

import torch
import torch.nn.functional as F
from helpers import cache_only, from_forward, randn

from nnbook import fnn as ff

A = randn(4, 3, seed=1)


def _mlp_forward():
    from nnbook.fnn._mlp import MLP

    return (MLP([3, 4, 2], dtype=torch.float64), randn(5, 3)), {}


SAMPLES = {
    "nnbook.fnn.MLP.__init__": lambda: (([4, 3, 2],), {"dtype": torch.float64}),
    "nnbook.fnn.MLP.forward": _mlp_forward,
    "nnbook.fnn.sigmoid_backward": from_forward(ff.sigmoid_forward, A),
    "nnbook.fnn.tanh_backward": from_forward(ff.tanh_forward, A),
    "nnbook.fnn.relu_backward": from_forward(ff.relu_forward, A),
    "nnbook.fnn.leaky_relu_backward": from_forward(ff.leaky_relu_forward, A),
    "nnbook.fnn.elu_backward": from_forward(ff.elu_forward, A),
    "nnbook.fnn.linear_backward": from_forward(
        ff.linear_forward, A, randn(2, 3, seed=2), randn(2, seed=3)
    ),
    "nnbook.fnn.dropout_backward": from_forward(
        ff.dropout_forward, A, 0.5, generator=torch.Generator().manual_seed(0)
    ),
    "nnbook.fnn.batch_norm_backward": from_forward(
        ff.batch_norm_forward, A, torch.ones(3, dtype=A.dtype), randn(3)
    ),
    "nnbook.fnn.mse_backward": cache_only(ff.mse_forward, A, randn(4, 3, seed=2)),
    "nnbook.fnn.softmax_cross_entropy_backward": cache_only(
        ff.softmax_cross_entropy_forward, A, torch.tensor([0, 2, 1, 2])
    ),
    "nnbook.fnn.l2_penalty_backward": cache_only(ff.l2_penalty_forward, [A], 0.1),
    "nnbook.fnn.l1_penalty_backward": cache_only(ff.l1_penalty_forward, [A], 0.1),
    "nnbook.fnn.init_std": lambda: (("he_normal", 3, 4), {}),
    "nnbook.fnn.init_weight": lambda: ((3, 4), {}),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    "nnbook.fnn.sigmoid_forward": torch.sigmoid,
    "nnbook.fnn.tanh_forward": torch.tanh,
    "nnbook.fnn.relu_forward": torch.relu,
    "nnbook.fnn.leaky_relu_forward": F.leaky_relu,
    "nnbook.fnn.elu_forward": F.elu,
    "nnbook.fnn.linear_forward": F.linear,
    "nnbook.fnn.logsumexp": torch.logsumexp,
    "nnbook.fnn.softmax": torch.softmax,
    "nnbook.fnn.log_softmax": torch.log_softmax,
    "nnbook.fnn.softmax_cross_entropy_forward": F.cross_entropy,
    "nnbook.fnn.mse_forward": lambda y_hat, y: (
        F.mse_loss(y_hat, y, reduction="sum") / (2 * y.shape[0])
    ),
}
