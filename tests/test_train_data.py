"""The datasets, the training loop and the figure helpers."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from nnbook import data  # noqa: E402
from nnbook.data import digits, mnist5k  # noqa: E402
from nnbook.fnn import MLP  # noqa: E402
from nnbook.generative._estimator import check_X, check_Xy  # noqa: E402
from nnbook.plot import draw_network  # noqa: E402
from nnbook.train import accuracy, batches, fit, predict  # noqa: E402

pytestmark = pytest.mark.fnn


def test_digits_split_is_fixed_and_stratified():
    a, b = digits(), digits()
    assert a.X_train.shape == (1347, 64) and a.X_test.shape == (450, 64)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    assert 0 <= a.X_train.min() and a.X_train.max() <= 1
    assert a.y_train.dtype == torch.int64
    counts = torch.bincount(a.y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 47  # each class about 10 %


def test_mnist5k_is_real_mnist_offline():
    data = mnist5k()
    assert data.X_train.shape == (4000, 784) and data.X_test.shape == (1000, 784)
    assert torch.equal(torch.bincount(data.y_test), torch.full((10,), 100))
    assert 0 <= data.X_train.min() and data.X_train.max() <= 1


def test_batches_cover_every_index_once():
    chunks = batches(10, 4, generator=torch.Generator().manual_seed(0))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert sorted(torch.cat(chunks).tolist()) == list(range(10))
    assert [len(c) for c in batches(10, 4, drop_last=True)] == [4, 4]
    assert [len(c) for c in batches(3, 8, drop_last=True)] == [3]  # never drop everything


def test_fit_trains_nnbook_and_torch_identically():
    data = digits(dtype=torch.float64)
    X, y = data.X_train[:256], data.y_train[:256]
    ours = MLP([64, 16, 10], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    theirs = ours.to_torch()
    h1 = fit(ours, X, y, epochs=3, generator=torch.Generator().manual_seed(1), progress=False)
    h2 = fit(theirs, X, y, epochs=3, generator=torch.Generator().manual_seed(1), progress=False)
    torch.testing.assert_close(torch.tensor(h1.train_loss), torch.tensor(h2.train_loss))
    assert h1.train_loss[-1] < h1.train_loss[0]
    assert h1.epoch == [0, 1, 2, 3] and h1.test_accuracy == []


def test_fit_accepts_an_optimizer():
    data = digits()
    net = MLP([64, 10], generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    test = (data.X_test, data.y_test)
    history = fit(net, data.X_train, data.y_train, epochs=2, optimizer=optimizer, test=test,
                  generator=torch.Generator().manual_seed(0), progress=False)  # fmt: skip
    assert history.test_accuracy[-1] > 0.8
    assert accuracy(predict(net, test[0]), test[1]) == history.test_accuracy[-1]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epochs": -1}, ValueError, r"epochs must be in \[0, inf\], got -1"),
        ({"epochs": 1, "lr": -0.1}, ValueError, r"lr must be in \[0, inf\], got -0.1"),
        ({"epochs": 1, "batch_size": 0}, ValueError, r"batch_size must be in \[1, inf\], got 0"),
    ],
)
def test_fit_rejects_bad_settings(kwargs, error, message):
    net = MLP([4, 2])
    with pytest.raises(error, match=message):
        fit(net, torch.zeros(8, 4), torch.zeros(8, dtype=torch.int64), progress=False, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lr": float("nan")}, ValueError, r"lr must be a number, got nan"),
        ({"epochs": 1.0}, TypeError, r"epochs must be an int, got float"),
        ({"progress": 0}, TypeError, r"progress must be a bool, got int"),
        ({"generator": 0}, TypeError, r"generator must be a Generator, got int"),
        ({"test": torch.zeros(2, 4)}, TypeError, r"test must be a pair \(X_test, y_test\)"),
        ({"test": (1, 2, 3)}, ValueError, r"test must be a pair .*, got 3 items"),
        ({"optimizer": object()}, TypeError, r"optimizer must have a step\(\) method"),
    ],
)
def test_fit_rejects_bad_arguments_by_name(kwargs, error, message):
    net = MLP([4, 2])
    X, y = torch.zeros(8, 4), torch.zeros(8, dtype=torch.int64)
    with pytest.raises(error, match=message):
        fit(net, X, y, **{"epochs": 1, "progress": False, **kwargs})


def test_fit_refuses_a_learning_rate_that_its_optimizer_would_ignore():
    net = MLP([4, 2])
    X, y = torch.zeros(8, 4), torch.zeros(8, dtype=torch.int64)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    with pytest.raises(ValueError, match=r"lr and optimizer cannot both be given.*lr=0.01"):
        fit(net, X, y, epochs=1, lr=0.01, optimizer=optimizer, progress=False)
    fit(net, X, y, epochs=1, optimizer=optimizer, progress=False)  # lr left at its default


def test_fit_checks_that_X_and_y_agree():
    net = MLP([4, 2])
    with pytest.raises(ValueError, match=r"y must have shape \(n=8,\), got \(7,\)"):
        fit(net, torch.zeros(8, 4), torch.zeros(7, dtype=torch.int64), epochs=1)
    with pytest.raises(TypeError, match=r"y must have an integer dtype, got torch.float32"):
        fit(net, torch.zeros(8, 4), torch.zeros(8), epochs=1)


def test_accuracy_and_batches_check_their_arguments():
    logits = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    assert accuracy(logits, torch.tensor([1, 1])) == 0.5
    with pytest.raises(ValueError, match=r"y must have values in \[0, K=2\), got 2"):
        accuracy(logits, torch.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"n must be an int, got str"):
        batches("8", 2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: digits(test_size=float("nan")), ValueError, r"test_size must be a number, got nan"),
        (lambda: digits(test_size=1.0), ValueError, r"test_size must be in \(0, 1\), got 1.0"),
        (lambda: digits(dtype=torch.int64), ValueError, r"dtype must be one of .*, got torch.int64"),
        (lambda: data.toy2d("moons", -1), ValueError, r"n must be in \[0, inf\], got -1"),
        (lambda: data.toy2d_log_density("moons", torch.zeros(4, 3, dtype=torch.float64)),
         ValueError, r"x must have shape \(n, 2\), got \(4, 3\)"),
        (lambda: data.toy2d_entropy("moons", n=0), ValueError, r"n must be in \[1, inf\], got 0"),
        (lambda: data.windows([1.0, 2.0], 1), TypeError, r"series must be a torch.Tensor, got list"),
        (lambda: data.weight_and_foot(0), ValueError, r"n_per_class must be in \[1, inf\], got 0"),
        (lambda: check_X(torch.zeros(3, 2), n_features=0), ValueError, r"n_features must be in \[1, inf\]"),
        (lambda: check_X(torch.zeros(3)), ValueError, r"X must have 2 dimensions \(n, F\), got 1"),
        (lambda: check_X("X"), TypeError, r"X must be a numpy array or torch tensor, got str"),
        (lambda: check_Xy(torch.zeros(3, 2), [0, 1, 0], min_classes=0), ValueError, r"min_classes must be in"),
    ],
)  # fmt: skip
def test_data_and_estimator_checks_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_draw_network():
    ax = draw_network([3, 20, 2], max_neurons=5)
    assert len(ax.collections) == 3  # one scatter per layer
    with pytest.raises(ValueError, match=r"sizes must hold at least 2 positive widths"):
        draw_network([3])


def test_noisy_sine_is_the_curve_plus_gaussian_noise_of_the_given_size():
    from nnbook.data import noisy_sine

    x, y = noisy_sine(5, noise=0.0, grid=True)
    torch.testing.assert_close(x.flatten(), torch.linspace(-1, 1, 5, dtype=torch.float64))
    torch.testing.assert_close(y, torch.sin(3 * x))
    x, y = noisy_sine(200_000, noise=0.3, frequency=2.0, seed=4)
    assert x.shape == y.shape == (200_000, 1) and x.dtype == torch.float64
    assert -1 <= x.min() and x.max() <= 1
    residual = y - torch.sin(2 * x)
    assert abs(residual.mean()) < 0.003 and abs(residual.std() - 0.3) < 0.003
    assert torch.equal(noisy_sine(7, seed=1)[1], noisy_sine(7, seed=1)[1])
    assert not torch.equal(noisy_sine(7, seed=1)[1], noisy_sine(7, seed=2)[1])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 0}, ValueError, r"n"),
        ({"n": 3, "noise": -0.1}, ValueError, r"noise"),
        ({"n": 3, "noise": float("nan")}, ValueError, r"noise"),
        ({"n": 3, "frequency": 0.0}, ValueError, r"frequency"),
        ({"n": 2.5}, TypeError, r"n"),
    ],
)
def test_noisy_sine_names_the_bad_argument(kwargs, error, message):
    from nnbook.data import noisy_sine

    with pytest.raises(error, match=message):
        noisy_sine(**kwargs)
