"""The classic architectures: exact published parameter counts, shapes, and residual wiring."""

import pytest
import torch

from nnbook.cnn import _architectures as A
from nnbook.train import count_parameters

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
    assert count_parameters(model) == count


def test_lenet_count_by_hand():
    by_hand = (6 * (1 * 5 * 5 + 1) + 16 * (6 * 5 * 5 + 1)  # the two convolutions
               + 120 * (400 + 1) + 84 * (120 + 1) + 10 * (84 + 1))  # fmt: skip
    assert count_parameters(A.LeNet5()) == by_hand == 61_706


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
    with pytest.raises(ValueError, match=r"depth must be one of 11, 16, 19, got 13"):
        A.VGG(13)


def test_summary_adds_up():
    with torch.device("meta"):
        model = A.vgg16()
    rows = A.summary(model, (1, 3, 224, 224))
    assert [name for name, _, _ in rows] == ["features", "avgpool", "classifier"]
    assert rows[0][1] == (1, 512, 7, 7) and rows[-1][1] == (1, 1000)
    assert sum(count for _, _, count in rows) == count_parameters(model)


@pytest.mark.parametrize("handwritten", [False, True])
def test_reset_parameters_draws_from_the_generator(handwritten):
    def build(seed):
        model = A.LeNet5(batch_norm=True, handwritten=handwritten).double()
        return A.reset_parameters(model, generator=torch.Generator().manual_seed(seed))

    a, b, c = build(3), build(3), build(4)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)  # the generator decides every number
        assert p.dtype == torch.float64
    assert not torch.equal(a.features[0].weight, c.features[0].weight)
    # (2u - 1) / sqrt(F_in), layer by layer, weight before bias: the first layer has F_in = 25.
    g = torch.Generator().manual_seed(3)
    u = torch.rand((6, 1, 5, 5), generator=g, dtype=torch.float64)
    assert torch.equal(a.features[0].weight, (2 * u - 1) * (1 / 5))
    # The same distribution as torch's uniform_, up to rounding.
    g = torch.Generator().manual_seed(3)
    torch_draw = torch.empty(6, 1, 5, 5, dtype=torch.float64).uniform_(-0.2, 0.2, generator=g)
    torch.testing.assert_close(a.features[0].weight, torch_draw, rtol=0, atol=1e-15)
    for layer in a.modules():
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
            bound = layer.weight[0].numel() ** -0.5
            assert layer.weight.abs().max() < bound and layer.bias.abs().max() < bound
    big = a.classifier[1].weight  # 48,000 draws from U(-1/20, 1/20)
    assert abs(big.std().item() / (0.05 / 3**0.5) - 1) < 0.02
    # Batch normalization keeps its scale 1 and shift 0.
    assert torch.equal(a.features[1].weight, torch.ones(6, dtype=torch.float64))
    assert torch.equal(a.features[1].bias, torch.zeros(6, dtype=torch.float64))


def test_reset_parameters_rejects_what_it_cannot_use():
    with pytest.raises(TypeError, match="model must be a Module, got int"):
        A.reset_parameters(3, generator=torch.Generator())
    with pytest.raises(TypeError, match="generator must be a Generator, got int"):
        A.reset_parameters(A.LeNet5(), generator=3)


def test_count_parameters_counts_an_mlp_and_leaves_out_frozen_tensors():
    from nnbook.fnn import MLP

    assert count_parameters(MLP([4, 3, 2])) == 4 * 3 + 3 + 3 * 2 + 2
    layer = torch.nn.Linear(4, 3)
    layer.bias.requires_grad_(False)
    assert count_parameters(layer) == 12
