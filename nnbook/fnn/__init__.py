"""Feedforward networks: the functions of the FNN chapter.

Layers (``linear``), activations (sigmoid, tanh, ReLU, leaky ReLU, ELU), losses (softmax,
MSE, cross-entropy, KL divergence, and the likelihoods and priors they come from),
regularization (L1/L2 penalties and the L1
proximal step, dropout, batch norm), gradient clipping by norm and by value, weight
initialization, a whole network with backpropagation by hand (:class:`MLP`), ReLU
networks built by hand to show what depth buys (:func:`interpolant`, :func:`sawtooth`) and
``torch.nn.Linear``'s twin computed by them (:class:`Linear`).

Shapes follow the survey's notation: a mini-batch holds ``T_mb`` samples and layer
``v`` has ``F_v`` neurons. Every ``name_forward`` returns ``(out, cache)``; its partner
``name_backward`` takes the upstream gradient and the cache and returns gradients in
argument order; ``name`` alone returns the output. No backward function calls autograd:
autograd is only the reference the tests compare against.
"""

from nnbook.fnn import (
    _activations,
    _clipping,
    _depth,
    _init,
    _likelihood,
    _linear,
    _losses,
    _mlp,
    _modules,
    _regularization,
)
from nnbook.fnn._activations import *  # noqa: F403
from nnbook.fnn._clipping import *  # noqa: F403
from nnbook.fnn._depth import *  # noqa: F403
from nnbook.fnn._init import *  # noqa: F403
from nnbook.fnn._likelihood import *  # noqa: F403
from nnbook.fnn._linear import *  # noqa: F403
from nnbook.fnn._losses import *  # noqa: F403
from nnbook.fnn._mlp import *  # noqa: F403
from nnbook.fnn._modules import *  # noqa: F403
from nnbook.fnn._regularization import *  # noqa: F403

# Constants are named again here, so that their descriptions reach the API page.

#: Every activation by name, as ``(forward, backward)``, for networks built from a name.
ACTIVATIONS = _activations.ACTIVATIONS

#: The schemes :func:`init_weight` knows, with the standard deviation each one gives.
INIT_SCHEMES = _init.INIT_SCHEMES

__all__ = [
    *_linear.__all__,
    *_activations.__all__,
    *_losses.__all__,
    *_regularization.__all__,
    *_init.__all__,
    *_mlp.__all__,
    *_modules.__all__,
    *_clipping.__all__,
    *_likelihood.__all__,
    *_depth.__all__,
]
