"""The classic convolutional networks, in historical order, as ``torch.nn.Module`` subclasses.

Each follows the canonical configuration (for ImageNet-sized models, that of
torchvision, so that parameter counts can be compared with published ones). Build the
large ones on the ``meta`` device to count or inspect them without allocating memory::

    with torch.device("meta"):
        model = resnet50()
    count_parameters(model)   # 25,557,032
"""

from __future__ import annotations

import math
import types

import torch
from torch import nn

from nnbook import _validate
from nnbook.contract import (
    Choice,
    Flag,
    Instance,
    Int,
    Real,
    Reals,
    Tensor,
    contract,
)
from nnbook.train import count_parameters

__all__ = [
    "AlexNet",
    "BasicBlock",
    "Bottleneck",
    "GoogLeNet",
    "Inception",
    "LeNet5",
    "ResNet",
    "VGG",
    "reset_parameters",
    "summary",
    "resnet18",
    "resnet50",
    "vgg11",
    "vgg16",
    "vgg19",
]


#: The dropout probability of a layer.
DROPOUT = Real(low=0, high=1)
#: A count of classes, channels or filters.
SIZE = Int(low=1)
#: A batch of images or feature maps.
MAPS = Tensor("N", "C_in", "H", "W")


def _sizes(self):
    """C_in and the dtype a network expects: those of its first convolution."""
    first = next(m for m in self.modules() if isinstance(m, nn.Conv2d))
    return {"C_in": first.in_channels, "dtype": first.weight.dtype}


@contract(model=Instance(nn.Module), generator=Instance(torch.Generator))
def reset_parameters(model, *, generator):
    """Draw the weights and biases of every convolution and linear layer again, the same on every CPU.

    The distribution is torch's default for ``Conv2d`` and ``Linear``: every weight and
    bias from :math:`U(-1/\\sqrt{F_{in}}, 1/\\sqrt{F_{in}})`, with :math:`F_{in}` the
    inputs of one output unit (``in_channels * kh * kw`` for a convolution). torch's own
    ``uniform_`` rounds differently from one CPU's kernels to the next, so a model
    initialized by it starts from weights that differ in their last bits. Here each
    number is :math:`(2u - 1)\\,b` with :math:`b = 1/\\sqrt{F_{in}}` and :math:`u` from
    ``torch.rand``, whose values are the same on every CPU; :math:`2u - 1` is exact, and
    the product is one correctly rounded operation. The draws are
    made on the CPU in each parameter's dtype, layer by layer in the order of
    ``model.modules()``, weight before bias, and then copied to the parameter's device.
    Other parameters (batch-norm scales and shifts) are left as they are.

    Parameters
    ----------
    model : torch.nn.Module
    generator : torch.Generator
        A CPU generator, for example ``nnbook.generator(k)``.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.
    """
    if generator.device.type != "cpu":
        raise ValueError(
            f"generator must be on the CPU, got one on {generator.device}"
        )
    with torch.no_grad():
        for layer in model.modules():
            if not isinstance(layer, (nn.Conv2d, nn.Linear)):
                continue
            bound = 1.0 / math.sqrt(layer.weight[0].numel())
            for p in (layer.weight, layer.bias):
                if p is not None:
                    u = torch.rand(p.shape, generator=generator, dtype=p.dtype)
                    p.copy_((2 * u - 1) * bound)
    return model


@contract(model=Instance(nn.Module))
def summary(model, input_shape):
    """One row per top-level stage of ``model``: its name, output shape and parameter count.

    The models of this module are a sequence of stages (``features``, ``classifier``...);
    this runs them in turn on an empty tensor of ``input_shape`` on the model's device
    (use the ``meta`` device for large models: nothing is computed or allocated).

    Returns
    -------
    list of tuple (str, tuple, int)
    """
    if not isinstance(input_shape, tuple | list | torch.Size):
        raise TypeError(
            f"input_shape must be a tuple of ints, got {type(input_shape).__name__}"
        )
    for k, size in enumerate(input_shape):
        _validate.number(f"input_shape[{k}]", size, low=0, integer=True)
    device = next(model.parameters()).device
    rows = []
    x = torch.empty(input_shape, device=device)
    for name, stage in model.named_children():
        x = stage(x)
        rows.append((name, tuple(x.shape), count_parameters(stage)))
    return rows


def _handwritten_layers():
    """nnbook's own layers, under the names ``torch.nn`` gives them."""
    from nnbook.cnn._modules import BatchNorm2d, Conv2d, MaxPool2d
    from nnbook.fnn._modules import Linear

    return types.SimpleNamespace(
        BatchNorm2d=BatchNorm2d,
        Conv2d=Conv2d,
        MaxPool2d=MaxPool2d,
        Linear=Linear,
    )


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al., 1998) in its common modern form: ReLU, max pooling, full connections.

    Two convolution + pooling stages (6 and 16 filters of 5x5), then fully connected
    layers of 120, 84 and ``num_classes`` units, for 32x32 inputs (28x28 with
    ``padding=2`` on the first convolution). ``batch_norm`` adds BatchNorm after each
    convolution; ``handwritten`` builds the network from nnbook's own layers
    (:class:`~nnbook.cnn.Conv2d`, :class:`~nnbook.cnn.MaxPool2d`,
    :class:`~nnbook.cnn.BatchNorm2d`, :class:`~nnbook.fnn.Linear`), whose forward and
    backward passes are nnbook's own, with the same parameter names. The
    original differs in its C3 layer (each of the 16 maps sees only some of the 6 input
    maps), trainable subsampling and RBF output.
    """

    @contract(
        num_classes=SIZE,
        in_channels=SIZE,
        padding=Int(low=0),
        batch_norm=Flag(),
        handwritten=Flag(),
    )
    def __init__(
        self,
        num_classes=10,
        in_channels=1,
        padding=2,
        batch_norm=False,
        handwritten=False,
    ):
        super().__init__()
        layer = _handwritten_layers() if handwritten else nn

        def norm(n):
            return layer.BatchNorm2d(n) if batch_norm else nn.Identity()

        self.features = nn.Sequential(
            layer.Conv2d(in_channels, 6, 5, padding=padding),
            norm(6),
            nn.ReLU(),
            layer.MaxPool2d(2),
            layer.Conv2d(6, 16, 5),
            norm(16),
            nn.ReLU(),
            layer.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            layer.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            layer.Linear(120, 84),
            nn.ReLU(),
            layer.Linear(84, num_classes),
        )

    @contract(x=MAPS, bind=_sizes)
    def forward(self, x):
        """Logits of a batch ``x`` of shape (N, C_in, H, W)."""
        return self.classifier(self.features(x))


class AlexNet(nn.Module):
    """AlexNet (Krizhevsky et al., 2012), single-tower, as in torchvision: 61,100,840 parameters."""

    @contract(num_classes=SIZE, dropout=DROPOUT)
    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    @contract(x=MAPS, bind=_sizes)
    def forward(self, x):
        """Logits of a batch ``x`` of RGB images, shape (N, 3, H, W)."""
        return self.classifier(self.avgpool(self.features(x)))


#: VGG configurations (Simonyan & Zisserman, 2014): filters per 3x3 convolution, "M" = 2x2 max pool.
VGG_CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        "M",
    ],
    19: [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}


class VGG(nn.Module):
    """VGG: only 3x3 convolutions (stride 1, padding 1) and 2x2 max pooling, then three dense layers."""

    @contract(depth=Choice(*VGG_CONFIGS), num_classes=SIZE, dropout=DROPOUT)
    def __init__(self, depth=16, num_classes=1000, dropout=0.5):
        super().__init__()
        layers, channels = [], 3
        for item in VGG_CONFIGS[depth]:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [
                    nn.Conv2d(channels, item, 3, padding=1),
                    nn.ReLU(inplace=True),
                ]
                channels = item
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )

    @contract(x=MAPS, bind=_sizes)
    def forward(self, x):
        """Logits of a batch ``x`` of RGB images, shape (N, 3, H, W)."""
        return self.classifier(self.avgpool(self.features(x)))


def vgg11(**kwargs):
    """VGG-11 (configuration A)."""
    return VGG(11, **kwargs)


def vgg16(**kwargs):
    """VGG-16 (configuration D): 138,357,544 parameters."""
    return VGG(16, **kwargs)


def vgg19(**kwargs):
    """VGG-19 (configuration E)."""
    return VGG(19, **kwargs)


def _conv_bn(c_in, c_out, kernel, stride=1, padding=0, eps=1e-5):
    """Convolution without bias (the batch norm after it has a shift), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(
            c_in, c_out, kernel, stride=stride, padding=padding, bias=False
        ),
        nn.BatchNorm2d(c_out, eps=eps),
        nn.ReLU(inplace=True),
    )


class Inception(nn.Module):
    """The inception module (Szegedy et al., 2014): four parallel branches, concatenated.

    1x1; 1x1 then 3x3; 1x1 then a larger window; 3x3 max pooling then 1x1. The 1x1
    convolutions reduce the channels before the expensive windows. As in torchvision, the
    "5x5" branch uses a 3x3 kernel, which is what its published parameter count reflects.
    """

    @contract(
        c_in=SIZE,
        c1=SIZE,
        c3_reduce=SIZE,
        c3=SIZE,
        c5_reduce=SIZE,
        c5=SIZE,
        pool_proj=SIZE,
    )
    def __init__(self, c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        conv = lambda *a, **k: _conv_bn(*a, eps=0.001, **k)  # noqa: E731
        self.branches = nn.ModuleList(
            [
                conv(c_in, c1, 1),
                nn.Sequential(
                    conv(c_in, c3_reduce, 1), conv(c3_reduce, c3, 3, padding=1)
                ),
                nn.Sequential(
                    conv(c_in, c5_reduce, 1), conv(c5_reduce, c5, 3, padding=1)
                ),
                nn.Sequential(
                    nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                    conv(c_in, pool_proj, 1),
                ),
            ]
        )

    @contract(x=MAPS, bind=_sizes)
    def forward(self, x):
        """The four branches' feature maps of ``x`` (N, C_in, H, W), side by side."""
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1) without the auxiliary classifiers, as in torchvision: 6,624,904 parameters."""

    @contract(num_classes=SIZE, dropout=DROPOUT)
    def __init__(self, num_classes=1000, dropout=0.2):
        super().__init__()
        conv = lambda *a, **k: _conv_bn(*a, eps=0.001, **k)  # noqa: E731
        pool = lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True)  # noqa: E731
        self.stem = nn.Sequential(
            conv(3, 64, 7, stride=2, padding=3),
            pool(),
            conv(64, 64, 1),
            conv(64, 192, 3, padding=1),
            pool(),
        )
        self.inceptions = nn.Sequential(
            Inception(192, 64, 96, 128, 16, 32, 32),
            Inception(256, 128, 128, 192, 32, 96, 64),
            pool(),
            Inception(480, 192, 96, 208, 16, 48, 64),
            Inception(512, 160, 112, 224, 24, 64, 64),
            Inception(512, 128, 128, 256, 24, 64, 64),
            Inception(512, 112, 144, 288, 32, 64, 64),
            Inception(528, 256, 160, 320, 32, 128, 128),
            nn.MaxPool2d(2, stride=2, ceil_mode=True),
            Inception(832, 256, 160, 320, 32, 128, 128),
            Inception(832, 384, 192, 384, 48, 128, 128),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(1024, num_classes),
        )

    @contract(x=MAPS, bind=_sizes)
    def forward(self, x):
        """Logits of a batch ``x`` of RGB images, shape (N, 3, H, W)."""
        return self.head(self.inceptions(self.stem(x)))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut: out = ReLU(x + F(x)) (ResNet-18/34).

    Implements :eq:`eq-cnn-residual`.
    """

    expansion = 1

    @contract(c_in=SIZE, width=SIZE, stride=SIZE)
    def __init__(self, c_in, width, stride=1):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(c_in, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
        )
        self.shortcut = _shortcut(c_in, width, stride)

    @contract("eq-cnn-residual", x=MAPS, bind=_sizes)
    def forward(self, x):
        """``ReLU(x + F(x))`` for ``x`` of shape (N, C_in, H, W). Implements :eq:`eq-cnn-residual`."""
        return torch.relu(self.shortcut(x) + self.residual(x))


class Bottleneck(nn.Module):
    """The bottleneck block: 1x1 reduce, 3x3, 1x1 expand (4x), plus the shortcut (ResNet-50+).

    Implements :eq:`eq-cnn-residual`, with F the three convolutions.
    """

    expansion = 4

    @contract(c_in=SIZE, width=SIZE, stride=SIZE)
    def __init__(self, c_in, width, stride=1):
        super().__init__()
        c_out = width * self.expansion
        self.residual = nn.Sequential(
            nn.Conv2d(c_in, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut = _shortcut(c_in, c_out, stride)

    @contract("eq-cnn-residual", x=MAPS, bind=_sizes)
    def forward(self, x):
        """``ReLU(x + F(x))`` for ``x`` of shape (N, C_in, H, W). Implements :eq:`eq-cnn-residual`."""
        return torch.relu(self.shortcut(x) + self.residual(x))


def _shortcut(c_in, c_out, stride):
    """Identity when shapes agree, else a strided 1x1 convolution with batch norm (projection)."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
    )


class ResNet(nn.Module):
    """A residual network (He et al., 2016): a stem, four stages of blocks, global pooling."""

    @contract(
        block=Instance(type),
        blocks_per_stage=Reals(count=4, low=1),
        num_classes=SIZE,
    )
    def __init__(self, block, blocks_per_stage, num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        stages, c_in = [], 64
        for i, n in enumerate(blocks_per_stage):
            width = 64 * 2**i
            for j in range(n):
                stages.append(
                    block(c_in, width, stride=2 if j == 0 and i > 0 else 1)
                )
                c_in = width * block.expansion
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)
        )

    @contract(x=MAPS, bind=_sizes)
    def forward(self, x):
        """Logits of a batch ``x`` of RGB images, shape (N, 3, H, W)."""
        return self.head(self.stages(self.stem(x)))


def resnet18(**kwargs):
    """ResNet-18: basic blocks, (2, 2, 2, 2) per stage."""
    return ResNet(BasicBlock, (2, 2, 2, 2), **kwargs)


def resnet50(**kwargs):
    """ResNet-50: bottleneck blocks, (3, 4, 6, 3) per stage: 25,557,032 parameters."""
    return ResNet(Bottleneck, (3, 4, 6, 3), **kwargs)
