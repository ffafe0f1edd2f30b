"""The dense i-ResNet classifier and its figure: float64 references, bounds, messages."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from helpers import randn

from nnbook.invertible import DenseIResNetClassifier, dense_branch, fit_side_by_side
from nnbook.invertible._spectral import SpectralNormLinear
from nnbook.plot.invertible_classification import draw_classifier_training
from nnbook.train import History, fit

pytestmark = pytest.mark.invertible


def _settled(coeff=0.9, seed=0, **kwargs):
    """A float64 classifier whose power iterations have converged, in eval mode."""
    torch.manual_seed(seed)
    net = DenseIResNetClassifier(6, 3, coeff, hidden=8, **kwargs).double()
    with torch.no_grad():
        for _ in range(200):
            net(randn(4, 6))
    return net.eval()


@pytest.mark.parametrize("coeff", [0.5, 0.9])
def test_features_invert_to_the_input(coeff):
    net = _settled(coeff)
    x = randn(7, 6, seed=1)
    with torch.no_grad():
        back = net.invert_features(net.features(x), tol=1e-13)
    torch.testing.assert_close(back, x, atol=1e-11, rtol=0)
    inputs = net.block_inputs(x)
    assert len(inputs) == 3 and torch.equal(inputs[0], x)
    torch.testing.assert_close(inputs[2], net.blocks[1](net.blocks[0](x)))


def test_the_features_move_distances_within_the_bounds():
    net = _settled(0.9, n_blocks=2)
    lower, upper = net.distance_bounds()
    L = 0.9**3
    assert lower == pytest.approx((1 - L) ** 2, rel=1e-12)
    assert upper == pytest.approx((1 + L) ** 2, rel=1e-12)
    a, b = randn(500, 6, seed=2), randn(500, 6, seed=3)
    with torch.no_grad():
        ratio = (net.features(a) - net.features(b)).norm(dim=1) / (a - b).norm(dim=1)
    assert lower <= ratio.min() and ratio.max() <= upper
    # the same for points close together, where the ratio is a Jacobian's stretch
    b = a + 1e-6 * randn(500, 6, seed=4)
    with torch.no_grad():
        ratio = (net.features(a) - net.features(b)).norm(dim=1) / (a - b).norm(dim=1)
    assert lower <= ratio.min() and ratio.max() <= upper


def test_exact_lipschitz_is_the_product_of_singular_values():
    for coeff in (0.9, None):
        net = _settled(coeff)
        expected = []
        for block in net.blocks:
            weights = [
                m.weight / max(1.0, torch.linalg.svdvals(m.weight)[0].item() / m.coeff)
                if isinstance(m, SpectralNormLinear)
                else m.weight
                for m in block.g
                if isinstance(m, SpectralNormLinear | torch.nn.Linear)
            ]
            expected.append(math.prod(torch.linalg.svdvals(W)[0].item() for W in weights))
        # a converged power iteration: the estimate is the exact sigma to ~1e-8
        torch.testing.assert_close(
            net.exact_lipschitz(), torch.tensor(expected, dtype=torch.float64), rtol=1e-6, atol=0
        )
        assert not net.training  # left in the mode it was in
    assert (_settled(0.9).exact_lipschitz() <= 0.9**3 * (1 + 1e-6)).all()


def test_the_plain_twin_has_the_same_parameters_and_no_inverse():
    net, plain = _settled(0.9), _settled(None)
    assert [p.shape for p in net.parameters()] == [p.shape for p in plain.parameters()]
    with pytest.raises(TypeError, match="no guaranteed inverse"):
        plain.invert_features(randn(2, 6))
    with pytest.raises(TypeError, match="has no Lipschitz bound"):
        plain.distance_bounds()
    assert all(isinstance(m, torch.nn.Linear) for m in dense_branch(6, 8)[::2])


def test_the_logits_agree_with_finite_differences():
    net = _settled(0.7, n_blocks=2)
    x = randn(3, 6, seed=5).requires_grad_()
    assert torch.autograd.gradcheck(net, (x,))


def test_a_lipswish_branch_matches_torch_functional():
    torch.manual_seed(0)
    g = dense_branch(4, 5).double()
    x = randn(3, 4)
    lin = [m for m in g if isinstance(m, torch.nn.Linear)]
    h = F.silu(F.linear(x, lin[0].weight, lin[0].bias)) / 1.1
    h = F.silu(F.linear(h, lin[1].weight, lin[1].bias)) / 1.1
    h = F.linear(h, lin[2].weight, lin[2].bias)
    torch.testing.assert_close(g(x), h, rtol=1e-6, atol=1e-6)  # softplus(0.5413) = 1 to 1e-5


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: DenseIResNetClassifier(4, 3, 1.0),
            ValueError,
            r"coeff must be in \(0, 1\), got 1.0",
        ),
        (
            lambda: DenseIResNetClassifier(4, 3, float("nan")),
            ValueError,
            "coeff must be a number, got nan",
        ),
        (
            lambda: DenseIResNetClassifier(0, 3),
            ValueError,
            r"n_features must be in \[1, inf\], got 0",
        ),
        (
            lambda: DenseIResNetClassifier(4, 3, layers=1),
            ValueError,
            r"layers must be in \[2, inf\], got 1",
        ),
        (
            lambda: DenseIResNetClassifier(4, 3)(torch.zeros(2, 5)),
            ValueError,
            r"x must have shape \(N, D=4\), got \(2, 5\)",
        ),
        (
            lambda: DenseIResNetClassifier(4, 3)(torch.zeros(2, 4, dtype=torch.float64)),
            TypeError,
            "x must have dtype torch.float32",
        ),
        (
            lambda: DenseIResNetClassifier(4, 3).invert_features(torch.zeros(2, 4), tol=0),
            ValueError,
            r"tol must be in \(0, inf\], got 0",
        ),
        (lambda: dense_branch(4, 0), ValueError, r"hidden must be in \[1, inf\], got 0"),
    ],
)
def test_messages_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _history(losses, accuracies):
    h = History()
    h.train_loss, h.test_accuracy = list(losses), list(accuracies)
    return h


def test_draw_classifier_training():
    runs = {
        "a": [
            _history([1.0, 0.5, 0.2], [0.9, 0.95, 0.96]),
            _history([1.1, 0.4, 0.3], [0.91, 0.94, 0.97]),
        ],
        "b": [_history([1.0, 0.8, 0.7], [0.92, 0.93, 0.94])],
    }
    fig = draw_classifier_training(runs, linear=(0.3, 0.95))
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_yscale() == "log"
    assert len(ax_loss.lines) == 3 and len(ax_acc.lines) == 3  # two models and the linear line
    assert ax_acc.lines[0].get_ydata() == pytest.approx([90.5, 94.5, 96.5])
    plt.close(fig)
    with pytest.raises(TypeError, match="histories must be a dict, got list"):
        draw_classifier_training([])
    with pytest.raises(ValueError, match="at least one entry"):
        draw_classifier_training({})
    with pytest.raises(ValueError, match=r"histories\['a'\] must be a non-empty list"):
        draw_classifier_training({"a": []})
    with pytest.raises(ValueError, match=r"same number of epochs, got lengths \[2, 3\]"):
        draw_classifier_training(
            {"a": [_history([1, 2], [0.1, 0.2]), _history([1, 2, 3], [0.1, 0.2, 0.3])]}
        )
    with pytest.raises(ValueError, match=r"linear must be a pair"):
        draw_classifier_training(runs, linear=0.3)
    plt.close("all")


def _toy_data():
    X = randn(40, 6, seed=3)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    return X, y, randn(10, 6, seed=4), torch.arange(10) % 3


def _fresh(coeff, seed):
    torch.manual_seed(seed)
    return DenseIResNetClassifier(6, 3, coeff, hidden=8, n_blocks=2).double()


def test_side_by_side_training_matches_fit_one_network_at_a_time():
    """Every member ends where torch.optim.Adam and a cosine schedule under fit take it."""
    X, y, X_test, y_test = _toy_data()
    setups = [(None, 0), (0.9, 1), (0.5, 2)]
    nets = [_fresh(c, s) for c, s in setups]
    gens = [torch.Generator().manual_seed(10 + s) for _, s in setups]
    histories = fit_side_by_side(
        nets, X, y, epochs=3, generators=gens, batch_size=8, lr=0.02, test=(X_test, y_test)
    )
    for (c, s), net, history in zip(setups, nets, histories, strict=True):
        alone = _fresh(c, s)
        opt = torch.optim.Adam(alone.parameters(), lr=0.02)
        ref = fit(
            alone,
            X,
            y,
            epochs=3,
            batch_size=8,
            optimizer=opt,
            scheduler=torch.optim.lr_scheduler.CosineAnnealingLR(opt, 3),
            generator=torch.Generator().manual_seed(10 + s),
            test=(X_test, y_test),
            progress=False,
        )
        for key, value in alone.state_dict().items():  # weights and power-iteration vectors
            torch.testing.assert_close(net.state_dict()[key], value, rtol=1e-10, atol=1e-12)
        assert history.epoch == ref.epoch == [0, 1, 2, 3]
        for field in ("train_loss", "test_loss", "test_accuracy"):
            assert getattr(history, field) == pytest.approx(getattr(ref, field), rel=1e-10)


def test_side_by_side_records_every_few_epochs_and_the_last():
    X, y, X_test, y_test = _toy_data()
    nets = [_fresh(0.9, 0)]
    (history,) = fit_side_by_side(
        nets, X, y, epochs=5, generators=[torch.Generator()], batch_size=8, record_every=2
    )
    assert history.epoch == [0, 2, 4, 5] and history.test_accuracy == []
    assert len(history.train_loss) == 4 and history.train_loss[-1] < history.train_loss[0]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"nets": []}, TypeError, "nets must be a non-empty list"),
        (
            {"nets": [torch.nn.Linear(6, 3)]},
            TypeError,
            r"nets\[0\] must be a DenseIResNetClassifier, got Linear",
        ),
        (
            {"generators": []},
            ValueError,
            r"generators must be a list with one torch.Generator per net \(1\)",
        ),
        ({"epochs": -1}, ValueError, "epochs must be an int >= 0, got -1"),
        ({"record_every": 0}, ValueError, "record_every must be an int >= 1, got 0"),
        ({"X": torch.zeros(40)}, ValueError, r"X must be a tensor of shape \(n, d\)"),
    ],
)
def test_side_by_side_messages_name_the_argument(kwargs, error, message):
    X, y, _, _ = _toy_data()
    call = {
        "nets": [_fresh(0.9, 0)],
        "X": X,
        "y": y,
        "epochs": 1,
        "generators": [torch.Generator()],
    }
    call.update(kwargs)
    with pytest.raises(error, match=message):
        fit_side_by_side(**call)


def test_side_by_side_refuses_networks_of_different_shapes():
    X, y, _, _ = _toy_data()
    torch.manual_seed(0)
    other = DenseIResNetClassifier(6, 3, 0.9, hidden=4, n_blocks=2).double()
    with pytest.raises(ValueError, match="nets must share one architecture and dtype"):
        fit_side_by_side(
            [_fresh(0.9, 0), other], X, y, epochs=1, generators=[torch.Generator()] * 2
        )


def test_draw_classifier_training_uses_the_recorded_epochs():
    h = _history([1.0, 0.5, 0.2], [0.9, 0.95, 0.96])
    h.epoch = [0, 2, 4]
    fig = draw_classifier_training({"a": [h]})
    assert list(fig.axes[0].lines[0].get_xdata()) == [0, 2, 4]
    plt.close(fig)
