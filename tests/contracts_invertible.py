"""Samples and references for the contracts of nnbook.invertible."""

import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from helpers import randn

from nnbook.invertible import _blocks as blocks
from nnbook.invertible import _classifier as classifier
from nnbook.invertible import _flows as flows
from nnbook.invertible import _spectral as spectral
from nnbook.invertible import _toy as toy

X = randn(4, 2, seed=1)


def _double(module):
    """``module`` in float64 and in eval mode, so its power iterations stand still."""
    return module.double().eval()


def _branch():
    """A residual branch with Lip < 1, in float64."""
    torch.manual_seed(0)
    return _double(blocks.mlp_block(2, 8, coeff=0.7))


def _block():
    return blocks.InvertibleResidualBlock(_branch())


def _blank(cls):
    """An instance whose ``__init__`` has not run yet: the ``self`` of a constructor call."""
    return cls.__new__(cls)


def _iresnet():
    torch.manual_seed(0)
    return _double(flows.IResNetFlow(2, n_blocks=2, hidden=8, actnorm=True))


def _coupling():
    torch.manual_seed(0)
    return _double(flows.AffineCouplingFlow(2, n_layers=2, hidden=8))


def _glow():
    torch.manual_seed(0)
    return _double(flows.AffineCouplingFlow(2, n_layers=2, hidden=8, actnorm=True, mixing=True))


def _mixing():
    torch.manual_seed(0)
    return _double(flows.InvertibleLinear(2))


def _classifier():
    torch.manual_seed(0)
    net = classifier.IResNetClassifier((4, 4), 3, channels=2, hidden=4, n_blocks=1)
    return _double(net)


def _toy_result():
    nets = toy.make_toy_flows()
    for net in nets.values():
        net.eval()
    return toy.ToyResult("checkerboard", 0, nets, math.log(8), {}, {}, {})


def _quiet_linear():
    """A layer whose largest singular value is below ``coeff``: it is left alone."""
    torch.manual_seed(0)
    layer = _double(spectral.SpectralNormLinear(3, 2, coeff=0.9))
    with torch.no_grad():
        layer.weight.mul_(0.1 / torch.linalg.matrix_norm(layer.weight, 2))
    return layer


P = "nnbook.invertible."
SAMPLES = {
    # spectral
    P + "power_iteration": lambda: ((randn(4, 3), randn(4, seed=1), 200), {}),
    P + "SpectralNormLinear.__init__": lambda: (
        (_blank(spectral.SpectralNormLinear), 3, 2),
        {},
    ),
    P + "SpectralNormLinear.forward": lambda: ((_quiet_linear(), randn(4, 3)), {}),
    P + "_SpectralNorm.normalized_weight": lambda: ((_quiet_linear(),), {}),
    P + "SpectralNormConv2d.__init__": lambda: (
        (_blank(spectral.SpectralNormConv2d), 2, 3, 3, (5, 5)),
        {},
    ),
    P + "SpectralNormConv2d.forward": lambda: (
        (_double(spectral.SpectralNormConv2d(2, 3, 3, (5, 5))), randn(2, 2, 5, 5)),
        {},
    ),
    # blocks
    P + "LipSwish.forward": lambda: ((blocks.LipSwish(), randn(4, 3)), {}),
    P + "LipSwish.value_and_derivative": lambda: (
        (blocks.LipSwish(), randn(4, 3)),
        {},
    ),
    P + "InvertibleResidualBlock.__init__": lambda: (
        (_blank(blocks.InvertibleResidualBlock), _branch()),
        {},
    ),
    P + "InvertibleResidualBlock.forward": lambda: ((_block(), X), {}),
    P + "InvertibleResidualBlock.forward_and_jacobian": lambda: ((_block(), X), {}),
    P + "InvertibleResidualBlock.inverse": lambda: ((_block(), X), {}),
    # logdet
    P + "exact_logdet": lambda: ((_branch(), X), {}),
    P + "trace_terms": lambda: ((_branch(), X, randn(4, 2, seed=2), 3), {}),
    P + "power_series_logdet": lambda: (
        (_branch(), X),
        {"generator": torch.Generator().manual_seed(0)},
    ),
    P + "russian_roulette_logdet": lambda: (
        (_branch(), X),
        {"generator": torch.Generator().manual_seed(0)},
    ),
    P + "neumann_gradient_surrogate": lambda: (
        (_branch(), X),
        {"generator": torch.Generator().manual_seed(0)},
    ),
    P + "roulette_from_traces": lambda: (
        (randn(6, 3), 2),
        {"p": 0.4, "exact_terms": 2},
    ),
    # flows
    P + "_Flow.log_prob": lambda: ((_iresnet(), X), {}),
    P + "_Flow.sample": lambda: (
        (_coupling(), 5),
        {"generator": torch.Generator().manual_seed(0)},
    ),
    P + "ActNorm.__init__": lambda: ((_blank(flows.ActNorm), 2), {}),
    P + "ActNorm.forward": lambda: ((_double(flows.ActNorm(2)), X), {}),
    P + "ActNorm.inverse": lambda: ((_double(flows.ActNorm(2)), X), {}),
    P + "IResNetFlow.__init__": lambda: (
        (_blank(flows.IResNetFlow), 2),
        {"n_blocks": 1, "hidden": 4},
    ),
    P + "IResNetFlow.forward_and_logdet": lambda: ((_iresnet(), X), {}),
    P + "IResNetFlow.inverse": lambda: ((_iresnet(), X), {}),
    P + "AffineCouplingFlow.__init__": lambda: (
        (_blank(flows.AffineCouplingFlow), 2),
        {"n_layers": 2, "hidden": 4},
    ),
    P + "AffineCouplingFlow.forward_and_logdet": lambda: ((_coupling(), X), {}),
    P + "AffineCouplingFlow.inverse": lambda: ((_coupling(), X), {}),
    P + "InvertibleLinear.__init__": lambda: ((_blank(flows.InvertibleLinear), 2), {}),
    P + "InvertibleLinear.forward": lambda: ((_mixing(), X), {}),
    P + "InvertibleLinear.inverse": lambda: ((_mixing(), X), {}),
    P + "fit_flow": lambda: ((_coupling(), lambda: randn(8, 2), 2), {}),
    P + "log_density_grid": lambda: ((flows.standard_normal_log_prob,), {"n": 4}),
    # classifier
    P + "conv_branch": lambda: ((2, 4, (4, 4), 0.9), {}),
    P + "IResNetClassifier.__init__": lambda: (
        (_blank(classifier.IResNetClassifier), (4, 4), 3),
        {"channels": 2, "hidden": 4, "n_blocks": 1},
    ),
    P + "IResNetClassifier.features": lambda: ((_classifier(), randn(2, 16)), {}),
    P + "IResNetClassifier.forward": lambda: ((_classifier(), randn(2, 16)), {}),
    P + "IResNetClassifier.invert_features": lambda: (
        (_classifier(), randn(2, 2, 4, 4)),
        {},
    ),
    # toy
    P + "run_toy": lambda: (
        ("checkerboard",),
        {"steps": 1, "batch_size": 16, "n_test": 50, "seed": 7},
    ),
    P + "make_density_flows": lambda: ((), {"seed": 1}),
    P + "compare_flows": lambda: (
        ("moons",),
        {
            "models": ("RealNVP",),
            "seeds": (7,),
            "steps": 2,
            "batch_size": 16,
            "n_test": 50,
            "window": 1,
        },
    ),
    P + "plot_toy_row": lambda: (
        (list(plt.subplots(1, 5)[1]), _toy_result()),
        {"n_samples": 10},
    ),
}


def _standard_normal(z):
    eye = torch.eye(z.shape[1], dtype=z.dtype)
    return torch.distributions.MultivariateNormal(torch.zeros_like(eye[0]), eye).log_prob(z)


def _slogdet_of_jacobian(f, x, shift):
    """``log|det(shift I + df/dx)|`` per row of ``x``, by autograd's full Jacobian."""
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    rows = [torch.autograd.functional.jacobian(lambda r: f(r[None])[0], row) for row in x]
    return torch.stack([torch.linalg.slogdet(shift * eye + J)[1] for J in rows])


def _log_prob(flow, x):
    """Equation eq-ir-change-of-variables, with the Jacobian of the whole flow from autograd."""
    z = flow.forward_and_logdet(x)[0]
    return _standard_normal(z) + _slogdet_of_jacobian(lambda r: flow.forward_and_logdet(r)[0], x, 0)


def _series(traces):
    return sum((-1) ** (k + 1) / k * traces[k - 1] for k in range(1, len(traces) + 1))


def _roulette(traces, n_extra, p, exact_terms):
    total = 0.0
    for k in range(1, exact_terms + n_extra + 1):
        survival = (1 - p) ** max(k - exact_terms, 0)
        total = total + (-1) ** (k + 1) / k * traces[k - 1] / survival
    return total


def _lipswish(self, x):
    beta = F.softplus(self.raw_beta).detach()
    return F.silu(beta * x) / (beta * 1.1)


#: The reference each function is compared with, given the same call.
REFERENCES = {
    P + "power_iteration": lambda W, u, n_iter: torch.linalg.matrix_norm(W, 2),
    P + "SpectralNormLinear.forward": lambda self, x: F.linear(x, self.weight, self.bias),
    P + "LipSwish.forward": _lipswish,
    P + "LipSwish.value_and_derivative": _lipswish,
    P + "exact_logdet": lambda g, x: _slogdet_of_jacobian(g, x, 1),
    P + "series_from_traces": _series,
    P + "roulette_from_traces": _roulette,
    P + "standard_normal_log_prob": _standard_normal,
    P + "_Flow.log_prob": _log_prob,
    P + "InvertibleLinear.forward": lambda self, x: torch.einsum(
        "ij,jk,kl,nl->ni",
        self.perm,
        torch.tril(self.lower, -1) + torch.eye(2, dtype=x.dtype),
        torch.triu(self.upper, 1) + torch.diag(self.sign * self.log_scale.exp()),
        x,
    ),
}
