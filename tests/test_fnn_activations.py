"""Activations against torch.nn.functional and autograd, in float64."""

import pytest
import torch
import torch.nn.functional as F
from helpers import batch_shapes, randn, seeds
from hypothesis import given, settings

from nnbook.fnn import _activations as act

pytestmark = pytest.mark.fnn

# name -> (nnbook forward, nnbook backward, torch reference)
CASES = {
    "sigmoid": (act.sigmoid_forward, act.sigmoid_backward, torch.sigmoid),
    "tanh": (act.tanh_forward, act.tanh_backward, torch.tanh),
    "relu": (act.relu_forward, act.relu_backward, F.relu),
    "leaky_relu": (act.leaky_relu_forward, act.leaky_relu_backward, F.leaky_relu),
    "elu": (act.elu_forward, act.elu_backward, F.elu),
}


def _against_torch(name, a, dh):
    forward, backward, reference = CASES[name]
    h, cache = forward(a)
    a_ref = a.clone().requires_grad_()
    h_ref = reference(a_ref)
    h_ref.backward(dh)
    torch.testing.assert_close(h, h_ref.detach())
    torch.testing.assert_close(backward(dh, cache), a_ref.grad)


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=25, deadline=None)
@given(shape=batch_shapes, seed=seeds)
def test_values_and_gradients_match_torch(name, shape, seed):
    a = randn(*shape, seed=seed, scale=3)
    a[0, 0] = 0.0  # the kink of ReLU-like functions, where conventions could differ
    _against_torch(name, a, randn(*shape, seed=seed + 1))


@pytest.mark.parametrize("name", CASES)
def test_stable_at_extreme_inputs(name):
    a = torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=torch.float64)
    _against_torch(name, a, torch.ones_like(a))
    forward, backward, _ = CASES[name]
    h, cache = forward(a)
    assert torch.isfinite(h).all() and torch.isfinite(backward(torch.ones_like(a), cache)).all()


@pytest.mark.parametrize(("slope", "alpha"), [(0.0, 0.5), (0.2, 2.0)])
def test_parameters_match_torch(slope, alpha):
    a, dh = randn(6, 4, scale=2), randn(6, 4, seed=1)
    for forward, backward, reference, kw, torch_kw in [
        (act.leaky_relu_forward, act.leaky_relu_backward, F.leaky_relu,
         {"negative_slope": slope}, {"negative_slope": slope}),
        (act.elu_forward, act.elu_backward, F.elu, {"alpha": alpha}, {"alpha": alpha}),
    ]:  # fmt: skip
        h, cache = forward(a, **kw)
        a_ref = a.clone().requires_grad_()
        reference(a_ref, **torch_kw).backward(dh)
        torch.testing.assert_close(backward(dh, cache), a_ref.grad)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu"])
def test_gradcheck(name):
    forward, _, _ = CASES[name]
    assert torch.autograd.gradcheck(lambda a: forward(a)[0], (randn(3, 4).requires_grad_(),))


def test_sigmoid_is_bounded_and_monotone():
    a = torch.linspace(-40, 40, 2001, dtype=torch.float64)
    h = act.sigmoid(a)
    assert ((h >= 0) & (h <= 1)).all() and (h.diff() >= 0).all()


def test_convenience_forms_return_the_output_only():
    a = randn(3, 2)
    for name, (forward, _, _) in CASES.items():
        torch.testing.assert_close(getattr(act, name)(a), forward(a)[0])
    assert act.relu.__name__ == "relu" and "relu_forward" in act.relu.__doc__


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: act.relu_forward(torch.arange(3)),
            TypeError,
            r"a must have a floating-point dtype, got torch.int64",
        ),
        (lambda: act.sigmoid_forward([0.0]), TypeError, r"a must be a torch.Tensor, got list"),
        (
            lambda: act.leaky_relu_forward(torch.zeros(2), -0.1),
            ValueError,
            r"negative_slope must be in \[0, inf\], got -0.1",
        ),
        (
            lambda: act.elu_forward(torch.zeros(2), alpha="1"),
            TypeError,
            r"alpha must be a real number, got str",
        ),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_leaky_relu_slope_keeps_double_precision():
    # 0.01 is not a float32 number: a slope rounded through float32 is off by 2e-10.
    a = torch.tensor([-2.0, -0.5, 0.0, 1.0], dtype=torch.float64)
    _, cache = act.leaky_relu_forward(a)
    a_ref = a.clone().requires_grad_()
    F.leaky_relu(a_ref).sum().backward()
    assert torch.equal(act.leaky_relu_backward(torch.ones_like(a), cache), a_ref.grad)
