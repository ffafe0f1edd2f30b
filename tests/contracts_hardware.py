"""Samples and references for the contracts of nnbook.hardware (calculators, roofline),
and nnbook.cnn, with the torch.nn layers of nnbook.fnn and nnbook.rnn."""

import torch
import torch.nn.functional as F
from helpers import randn
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nnbook import cnn, fnn, rnn
from nnbook.cnn import _architectures as A


def _axes():
    """Axes of a new figure, drawn without a display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _on_meta(build, *shape):
    """A network and a batch on the meta device: shapes are checked, nothing is computed."""

    def sample():
        with torch.device("meta"):
            return (build().eval(), torch.empty(*shape)), {}

    return sample


def _small(build, *shape):
    """A small network in float64, in eval mode, and a batch for it."""

    def sample():
        torch.manual_seed(0)
        return (build().double().eval(), randn(*shape)), {}

    return sample


def _flops(run):
    """The FLOP that torch's flop counter finds in ``run()``."""
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


def _linear_flops(batch, f_in, f_out, bytes_per_element=4):
    x, w = torch.zeros(batch, f_in), torch.zeros(f_out, f_in)
    return _flops(lambda: F.linear(x, w, torch.zeros(f_out)))


def _conv_flops(batch, c_in, size, c_out, kernel, stride=1, padding=0, bytes_per_element=4):
    x = torch.zeros(batch, c_in, size, size)
    w = torch.zeros(c_out, c_in, kernel, kernel)
    return _flops(lambda: F.conv2d(x, w, None, stride, padding))


def _element_bytes(batch_size, shape, dtype="float32"):
    size = torch.empty(0, dtype=getattr(torch, dtype)).element_size()
    return batch_size * torch.Size(shape).numel() * size


def _torch_twin(ours, cls):
    """The ``torch.nn`` recurrent module with ``ours``'s configuration and weights."""
    theirs = cls(
        ours.input_size,
        ours.hidden_size,
        num_layers=ours.num_layers,
        bidirectional=ours.bidirectional,
        batch_first=ours.batch_first,
    ).double()
    theirs.load_state_dict(ours.state_dict())
    return theirs


H = "nnbook.hardware."
P = "nnbook.cnn."


def _train_classifier_call():
    X = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.arange(8) % 2
    return ((A.LeNet5(), X, y), {"test": (X, y), "seed": 0, "epochs": 1, "batch_size": 4})


SAMPLES = {
    "nnbook.cnn.train_classifier": _train_classifier_call,
    # hardware
    H + "calculators.minibatch_bytes": lambda: ((8, (3, 4, 5), "bfloat16"), {}),
    H + "calculators.psu_watts": lambda: (([250, 300], 140), {"margin": 100}),
    H + "roofline.plot_roofline": lambda: (
        (_axes(), 1e12, 1e11, {"matmul": (20.0, 5e11)}),
        {},
    ),
    # architectures: functions
    "nnbook.train.count_parameters": lambda: ((A.LeNet5(),), {}),
    P + "reset_parameters": lambda: (
        (A.LeNet5().double(),),
        {"generator": torch.Generator().manual_seed(0)},
    ),
    P + "summary": lambda: ((A.LeNet5(), (1, 1, 28, 28)), {}),
    # architectures: constructors
    P + "LeNet5.__init__": lambda: ((), {"batch_norm": True}),
    P + "AlexNet.__init__": lambda: ((), {"num_classes": 10}),
    P + "VGG.__init__": lambda: ((11,), {"num_classes": 10}),
    P + "Inception.__init__": lambda: ((4, 2, 2, 2, 2, 2, 2), {}),
    P + "GoogLeNet.__init__": lambda: ((), {"num_classes": 10}),
    P + "BasicBlock.__init__": lambda: ((4, 4), {"stride": 2}),
    P + "Bottleneck.__init__": lambda: ((4, 2), {}),
    P + "ResNet.__init__": lambda: (
        (A.BasicBlock, (1, 1, 1, 1)),
        {"num_classes": 10},
    ),
    # architectures: forward passes (the large networks on the meta device)
    P + "LeNet5.forward": _small(A.LeNet5, 2, 1, 28, 28),
    P + "AlexNet.forward": _on_meta(A.AlexNet, 2, 3, 224, 224),
    P + "VGG.forward": _on_meta(A.vgg11, 2, 3, 224, 224),
    P + "Inception.forward": _small(lambda: A.Inception(4, 2, 2, 2, 2, 2, 2), 2, 4, 5, 5),
    P + "GoogLeNet.forward": _on_meta(A.GoogLeNet, 2, 3, 224, 224),
    P + "BasicBlock.forward": _small(lambda: A.BasicBlock(4, 4), 2, 4, 6, 6),
    P + "Bottleneck.forward": _small(lambda: A.Bottleneck(4, 2), 2, 4, 6, 6),
    P + "ResNet.forward": _on_meta(A.resnet18, 2, 3, 224, 224),
    # modules
    "nnbook.cnn.Conv2d.forward": _small(lambda: cnn.Conv2d(2, 3, 3, padding=1), 2, 2, 5, 5),
    "nnbook.cnn.MaxPool2d.__init__": lambda: ((2,), {"padding": 1}),
    "nnbook.cnn.MaxPool2d.forward": lambda: ((cnn.MaxPool2d(2), randn(2, 3, 4, 4)), {}),
    "nnbook.cnn.BatchNorm2d.forward": lambda: (
        (cnn.BatchNorm2d(3).double(), randn(4, 3, 2, 2)),
        {},
    ),
    "nnbook.fnn.Linear.forward": _small(lambda: fnn.Linear(3, 2), 4, 3),
    "nnbook.rnn.RNN.forward": _small(lambda: rnn.RNN(3, 4, num_layers=2), 5, 2, 3),
    "nnbook.rnn.LSTM.forward": _small(lambda: rnn.LSTM(3, 4, bidirectional=True), 5, 2, 3),
    "nnbook.rnn.TimeDistributed.__init__": lambda: ((nn.Linear(3, 2),), {}),
    "nnbook.rnn.TimeDistributed.forward": _small(
        lambda: rnn.TimeDistributed(nn.Linear(3, 2)), 4, 2, 3
    ),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    H + "calculators.minibatch_bytes": _element_bytes,
    H + "roofline.linear_cost": _linear_flops,
    H + "roofline.conv2d_cost": _conv_flops,
    "nnbook.train.count_parameters": lambda model: nn.utils.parameters_to_vector(
        model.parameters()
    ).numel(),
    "nnbook.cnn.Conv2d.forward": lambda self, x: F.conv2d(
        x, self.weight, self.bias, self.stride, self.padding
    ),
    "nnbook.cnn.MaxPool2d.forward": lambda self, x: F.max_pool2d(
        x, self.kernel_size, self.stride, self.padding
    ),
    "nnbook.cnn.BatchNorm2d.forward": lambda self, x: F.batch_norm(
        x, None, None, self.weight, self.bias, training=True, eps=self.eps
    ),
    "nnbook.fnn.Linear.forward": lambda self, x: F.linear(x, self.weight, self.bias),
    "nnbook.rnn.RNN.forward": lambda self, input: _torch_twin(self, nn.RNN)(input)[0],
    "nnbook.rnn.LSTM.forward": lambda self, input: _torch_twin(self, nn.LSTM)(input)[0],
    "nnbook.rnn.TimeDistributed.forward": lambda self, x: torch.stack(
        [self.module(step) for step in x]
    ),
}
