"""The classic architectures: exact published parameter counts, shapes, and residual wiring."""

import pytest
import torch

from nnbook import architectures as A

pytestmark = pytest.mark.cnn

# Published counts: torchvision's model cards for the ImageNet models.
PUBLISHED = {
    "AlexNet": (A.AlexNet, 61_100_840),
    "VGG-11": (A.vgg11, 132_863_336),
    "VGG-16": (A.vgg16, 138_357_544),
    "VGG-19": (A.vgg19, 143_667_240),
    "GoogLeNet": (A.GoogLeNet, 6_624_904),
    "ResNet-18": (A.resnet18, 11_689_512),
    "ResNet-50": (A.resnet50, 25_557_032),
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_parameter_counts_are_the_published_ones(name):
    build, count = PUBLISHED[name]
    with torch.device("meta"):  # nothing is allocated
        model = build()
    assert A.count_parameters(model) == count


def test_lenet_count_by_hand():
    by_hand = (6 * (1 * 5 * 5 + 1) + 16 * (6 * 5 * 5 + 1)  # the two convolutions
               + 120 * (400 + 1) + 84 * (120 + 1) + 10 * (84 + 1))  # fmt: skip
    assert A.count_parameters(A.LeNet5()) == by_hand == 61_706


@pytest.mark.parametrize(
    ("build", "shape"),
    [(A.LeNet5, (2, 1, 28, 28)), (lambda: A.LeNet5(batch_norm=True), (2, 1, 28, 28)),
     (lambda: A.resnet18(num_classes=7), (2, 3, 64, 64)), (lambda: A.GoogLeNet(num_classes=7), (1, 3, 64, 64))],
)  # fmt: skip
def test_forward_shapes(build, shape):
    model = build().eval()
    with torch.no_grad():
        out = model(torch.zeros(shape))
    assert out.shape == (shape[0], 10 if out.shape[1] == 10 else 7)


def test_large_models_run_on_the_meta_device():
    with torch.device("meta"):
        out = A.vgg16()(torch.empty(1, 3, 224, 224))
    assert out.shape == (1, 1000) and out.device.type == "meta"


def test_residual_blocks_add_the_shortcut():
    block = A.Bottleneck(256, 64).eval()
    for p in block.residual.parameters():
        torch.nn.init.zeros_(p)  # F(x) = 0: the block reduces to ReLU(x)
    x = torch.randn(1, 256, 8, 8)
    torch.testing.assert_close(block(x), torch.relu(x))
    assert isinstance(A.Bottleneck(64, 64).shortcut, torch.nn.Sequential)  # 64 -> 256: projection
    assert isinstance(A.BasicBlock(64, 64).shortcut, torch.nn.Identity)


def test_inception_concatenates_its_branches():
    module = A.Inception(192, 64, 96, 128, 16, 32, 32).eval()
    with torch.no_grad():
        assert module(torch.zeros(1, 192, 28, 28)).shape == (1, 64 + 128 + 32 + 32, 28, 28)


def test_vgg_rejects_unknown_depths():
    with pytest.raises(ValueError, match=r"depth must be one of \[11, 16, 19\], got 13"):
        A.VGG(13)


def test_summary_adds_up():
    with torch.device("meta"):
        model = A.vgg16()
    rows = A.summary(model, (1, 3, 224, 224))
    assert [name for name, _, _ in rows] == ["features", "avgpool", "classifier"]
    assert rows[0][1] == (1, 512, 7, 7) and rows[-1][1] == (1, 1000)
    assert sum(count for _, _, count in rows) == A.count_parameters(model)
