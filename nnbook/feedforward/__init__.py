"""Feedforward networks: the functions of the FNN chapter, one module per idea.

- :mod:`~nnbook.feedforward.linear`: weight averaging
- :mod:`~nnbook.feedforward.activations`: sigmoid, tanh, ReLU, leaky ReLU, ELU
- :mod:`~nnbook.feedforward.losses`: softmax, MSE, cross-entropy, KL divergence
- :mod:`~nnbook.feedforward.regularization`: L1/L2 penalties, dropout, batch norm
- :mod:`~nnbook.feedforward.init`: weight initialization
- :mod:`~nnbook.feedforward.mlp`: a whole network with backpropagation by hand

Shapes follow the survey's notation: a mini-batch holds ``T_mb`` samples and layer
``v`` has ``F_v`` neurons. Every ``name_forward`` returns ``(out, cache)``; its partner
``name_backward`` takes the upstream gradient and the cache and returns gradients in
argument order; ``name`` alone returns the output. No backward function calls autograd:
autograd is only the reference the tests compare against.
"""

from nnbook.feedforward.activations import (
    ACTIVATIONS,
    elu,
    elu_backward,
    elu_forward,
    leaky_relu,
    leaky_relu_backward,
    leaky_relu_forward,
    relu,
    relu_backward,
    relu_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    tanh,
    tanh_backward,
    tanh_forward,
)
from nnbook.feedforward.init import INIT_SCHEMES, init_std, init_weight
from nnbook.feedforward.linear import linear, linear_backward, linear_forward
from nnbook.feedforward.losses import (
    cross_entropy,
    entropy,
    kl_divergence,
    log_softmax,
    logsumexp,
    mse_backward,
    mse_forward,
    softmax,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from nnbook.feedforward.mlp import MLP
from nnbook.feedforward.regularization import (
    batch_norm,
    batch_norm_backward,
    batch_norm_forward,
    dropout,
    dropout_backward,
    dropout_forward,
    l1_penalty_backward,
    l1_penalty_forward,
    l2_penalty_backward,
    l2_penalty_forward,
)

__all__ = [
    "ACTIVATIONS",
    "INIT_SCHEMES",
    "MLP",
    "batch_norm",
    "batch_norm_backward",
    "batch_norm_forward",
    "cross_entropy",
    "dropout",
    "dropout_backward",
    "dropout_forward",
    "elu",
    "elu_backward",
    "elu_forward",
    "entropy",
    "init_std",
    "init_weight",
    "kl_divergence",
    "l1_penalty_backward",
    "l1_penalty_forward",
    "l2_penalty_backward",
    "l2_penalty_forward",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "linear",
    "linear_backward",
    "linear_forward",
    "log_softmax",
    "logsumexp",
    "mse_backward",
    "mse_forward",
    "relu",
    "relu_backward",
    "relu_forward",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
    "tanh",
    "tanh_backward",
    "tanh_forward",
]
