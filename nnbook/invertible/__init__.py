"""Invertible residual networks (Behrmann et al., 2019) and the tools around them.

- :mod:`nnbook.invertible.spectral`: spectral normalization of dense and conv layers;
- :mod:`nnbook.invertible.blocks`: LipSwish, invertible residual blocks and their inverse;
- :mod:`nnbook.invertible.logdet`: exact, power-series, Russian-roulette and Neumann estimators;
- :mod:`nnbook.invertible.flows`: an i-ResNet flow and an affine-coupling baseline.
"""

from nnbook.invertible.blocks import (
    InverseNotConverged,
    InvertibleResidualBlock,
    LipSwish,
    mlp_block,
)
from nnbook.invertible.flows import AffineCouplingFlow, IResNetFlow
from nnbook.invertible.spectral import SpectralNormConv2d, SpectralNormLinear, power_iteration

__all__ = [
    "AffineCouplingFlow",
    "IResNetFlow",
    "InverseNotConverged",
    "InvertibleResidualBlock",
    "LipSwish",
    "SpectralNormConv2d",
    "SpectralNormLinear",
    "mlp_block",
    "power_iteration",
]
