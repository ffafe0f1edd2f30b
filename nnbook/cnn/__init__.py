"""Convolutional networks: the functions of the CNN chapter.

Convolution (grouped and dilated too) and pooling with their gradients
(``conv2d_forward``/``conv2d_backward``, ``im2col``, ``max_pool2d_*``, ``avg_pool2d_*``,
``batch_norm2d_*``, ``output_size``, ``receptive_field``) and a convolution's cost
(``conv2d_cost``); ``torch.nn`` layers computed by them (:class:`Conv2d`,
:class:`MaxPool2d`, :class:`BatchNorm2d`); the classic architectures in historical order
(:class:`LeNet5` to :func:`resnet50`, with :func:`summary`; :func:`nnbook.train.count_parameters` counts any model);
plain and residual networks of any depth, with their first-layer gradient and training loss
(:func:`depth_net`, :func:`first_layer_gradient_norm`, :func:`train_losses`);
images moved by whole pixels and how far maps follow them (:func:`shift`,
:func:`random_shift`, :func:`equivariance_gap`);
and the recipe that trains LeNet (:func:`train_classifier`).
"""

from nnbook.cnn import (
    _architectures,
    _conv,
    _depth,
    _invariance,
    _modules,
    _training,
)
from nnbook.cnn._architectures import *  # noqa: F403
from nnbook.cnn._conv import *  # noqa: F403
from nnbook.cnn._depth import *  # noqa: F403
from nnbook.cnn._invariance import *  # noqa: F403
from nnbook.cnn._modules import *  # noqa: F403
from nnbook.cnn._training import *  # noqa: F403

__all__ = [
    *_conv.__all__,
    *_modules.__all__,
    *_architectures.__all__,
    *_depth.__all__,
    *_invariance.__all__,
    *_training.__all__,
]
