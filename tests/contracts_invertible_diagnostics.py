"""Samples and references for the contracts of nnbook.invertible's diagnostics and exact spectral norms."""

import torch
from helpers import randn

from nnbook.invertible import _blocks as blocks
from nnbook.invertible import _flows as flows
from nnbook.invertible import _spectral as spectral

X = randn(5, 2, seed=1)


def _block():
    """A block in float64 and eval mode, its estimates converged."""
    torch.manual_seed(0)
    block = blocks.InvertibleResidualBlock(blocks.mlp_block(2, 8, coeff=0.9)).double()
    spectral.converge_spectral_norms(block)
    return block.eval()


def _flow():
    torch.manual_seed(0)
    flow = flows.IResNetFlow(2, n_blocks=2, hidden=8, actnorm=True).double()
    flow.forward_and_logdet(X)
    spectral.converge_spectral_norms(flow)
    return flow.eval()


def _linear():
    torch.manual_seed(0)
    return spectral.SpectralNormLinear(3, 4, coeff=0.5).double().eval()


def _jacobians(block, x):
    return torch.stack(
        [torch.autograd.functional.jacobian(lambda r: block.g(r[None])[0], row) for row in x]
    )


def _attained_lower(lipschitz, dim):
    """The smallest singular value of I + J for J = -L I, which attains the lower bound."""
    eye = torch.eye(dim, dtype=torch.float64)
    return torch.linalg.svdvals(eye - lipschitz * eye).min().item()


P = "nnbook.invertible."
SAMPLES = {
    P + "exact_spectral_norm": lambda: ((_linear(),), {}),
    P + "converge_spectral_norms": lambda: ((_linear(),), {}),
    P + "bi_lipschitz_bounds": lambda: ((0.9, 3), {}),
    P + "residual_jacobians": lambda: ((_block(), X), {}),
    P + "jacobian_spectra": lambda: ((_block(), X), {}),
    P + "ascend_jacobian_norm": lambda: ((_block(), X), {"steps": 3}),
    P + "sigma_ratios": lambda: ((_block(),), {}),
    P + "exact_lipschitz_bound": lambda: ((_block(),), {}),
    P + "inverse_per_block": lambda: ((_flow(), X), {}),
    P + "block_inputs": lambda: ((_flow(), X), {}),
}

#: The reference each function is compared with, given the same call.
REFERENCES = {
    P + "exact_spectral_norm": lambda layer, normalized=True, tol=None, max_iter=None: (
        torch.linalg.matrix_norm(layer.normalized_weight().detach(), 2)
    ),
    P + "converge_spectral_norms": lambda module: torch.linalg.matrix_norm(
        module.weight.detach(), 2
    )[None],
    P + "bi_lipschitz_bounds": _attained_lower,
    P + "residual_jacobians": _jacobians,
    P + "jacobian_spectra": lambda block, x: torch.linalg.svdvals(_jacobians(block, x)),
}
