"""A 1-D regression problem whose answer is known: noisy samples of a sine."""

from __future__ import annotations

import torch

from nnbook.contract import Flag, Int, Real, contract

__all__ = ["noisy_sine"]


@contract(
    n=Int(low=1),
    noise=Real(low=0),
    frequency=Real(low=0, low_open=True),
    grid=Flag(),
    seed=Int(low=0),
)
def noisy_sine(n, *, noise=0.3, frequency=3.0, grid=False, seed=0):
    r"""``n`` samples of :math:`y = \sin(\omega x) + \varepsilon` on :math:`[-1, 1]`.

    The noise :math:`\varepsilon` is Gaussian with standard deviation ``noise``, so
    no model can reach a mean squared error below ``noise**2`` on new samples: that
    is the noise floor, and :math:`\sin(\omega x)` itself reaches it.

    Parameters
    ----------
    n : int
        The number of samples.
    noise : float, default 0.3
        The standard deviation of the noise; 0 gives the curve itself.
    frequency : float, default 3.0
        The angular frequency :math:`\omega`.
    grid : bool, default False
        Evenly spaced inputs from -1 to 1 instead of uniform random ones.
    seed : int, default 0
        Seeds the inputs and the noise.

    Returns
    -------
    x, y : Tensor of shape (n, 1), float64
        The inputs, in increasing order when ``grid`` is set, and the targets.

    Examples
    --------
    >>> x, y = noisy_sine(3, noise=0.0, grid=True)
    >>> x.flatten().tolist()
    [-1.0, 0.0, 1.0]
    """
    g = torch.Generator().manual_seed(seed)
    if grid:
        x = torch.linspace(-1, 1, n, dtype=torch.float64)[:, None]
    else:
        x = 2 * torch.rand(n, 1, generator=g, dtype=torch.float64) - 1
    eps = noise * torch.randn(n, 1, generator=g, dtype=torch.float64)
    return x, torch.sin(frequency * x) + eps
