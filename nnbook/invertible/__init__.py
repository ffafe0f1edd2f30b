"""Invertible residual networks (Behrmann et al., 2019) and the tools around them.

Spectral normalization of dense and convolutional layers; LipSwish and invertible
residual blocks with their fixed-point inverse; exact, power-series, Russian-roulette and
Neumann estimators of the log-determinant; an i-ResNet flow, ActNorm and an
affine-coupling baseline; the 2-D toy densities with their entropies; the density
experiment that trains both flows at equal size and budget; and an i-ResNet image
classifier with its plain-ResNet twin.
"""

from nnbook.invertible import (
    _blocks,
    _classifier,
    _densities,
    _diagnostics,
    _flows,
    _logdet,
    _spectral,
    _toy,
    _training,
)
from nnbook.invertible._blocks import *  # noqa: F403
from nnbook.invertible._classifier import *  # noqa: F403
from nnbook.invertible._densities import *  # noqa: F403
from nnbook.invertible._diagnostics import *  # noqa: F403
from nnbook.invertible._flows import *  # noqa: F403
from nnbook.invertible._logdet import *  # noqa: F403
from nnbook.invertible._spectral import *  # noqa: F403
from nnbook.invertible._toy import *  # noqa: F403
from nnbook.invertible._training import *  # noqa: F403

# Constants are named again here, so that their descriptions reach the API page.

#: The 2-D densities of the invertible-ResNet chapter.
TOY2D = _densities.TOY2D

__all__ = [
    *_spectral.__all__,
    *_blocks.__all__,
    *_logdet.__all__,
    *_flows.__all__,
    *_densities.__all__,
    *_toy.__all__,
    *_classifier.__all__,
    *_diagnostics.__all__,
    *_training.__all__,
]
