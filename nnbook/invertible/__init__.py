"""Invertible residual networks (Behrmann et al., 2019) and the tools around them.

- :mod:`nnbook.invertible.spectral`: spectral normalization of dense and conv layers;
- :mod:`nnbook.invertible.blocks`: LipSwish, invertible residual blocks and their inverse;
- :mod:`nnbook.invertible.logdet`: exact, power-series, Russian-roulette and Neumann estimators;
- :mod:`nnbook.invertible.flows`: an i-ResNet flow, ActNorm, an affine-coupling baseline, fitting;
- :mod:`nnbook.invertible.toy`: the 2-D density experiment, both flows at equal size and budget;
- :mod:`nnbook.invertible.classifier`: an i-ResNet image classifier and its plain-ResNet twin.
"""

from nnbook.invertible.blocks import (
    InverseNotConverged,
    InvertibleResidualBlock,
    LipSwish,
    mlp_block,
)
from nnbook.invertible.flows import (
    ActNorm,
    AffineCouplingFlow,
    IResNetFlow,
    fit_flow,
    log_density_grid,
)
from nnbook.invertible.spectral import (
    SpectralNormConv2d,
    SpectralNormLinear,
    power_iteration,
)

__all__ = [
    "ActNorm",
    "AffineCouplingFlow",
    "IResNetFlow",
    "InverseNotConverged",
    "InvertibleResidualBlock",
    "LipSwish",
    "SpectralNormConv2d",
    "SpectralNormLinear",
    "fit_flow",
    "log_density_grid",
    "mlp_block",
    "power_iteration",
]
