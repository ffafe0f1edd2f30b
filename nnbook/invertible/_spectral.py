r"""Spectral normalization: bounding a layer's Lipschitz constant by ``coeff``.

The Lipschitz constant of :math:`x \mapsto Wx + b` in the Euclidean norm is the largest
singular value :math:`\sigma_1(W)`. Power iteration estimates it cheaply,

.. math:: v \leftarrow W^\top u / \lVert W^\top u \rVert, \qquad u \leftarrow W v / \lVert W v \rVert,
          \qquad \hat\sigma = u^\top W v,

and the layer uses :math:`W / \max(1, \hat\sigma / c)` (equation :eq:`eq-ir-spectral`),
whose largest singular value is at most :math:`c` once the iteration has converged.
Layers with :math:`\hat\sigma \le c` are left alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnbook.contract import Flag, Instance, Int, Real, Tensor, contract

__all__ = [
    "SpectralNormConv2d",
    "SpectralNormLinear",
    "check_coeff",
    "converge_spectral_norms",
    "exact_spectral_norm",
    "power_iteration",
]


#: The bound :math:`c` of a spectrally normalized layer: in (0, 1).
COEFF = Real(low=0, high=1, low_open=True, high_open=True)


@contract(coeff=COEFF)
def check_coeff(coeff):
    """``coeff`` as a float, once its contract has found it in (0, 1)."""
    return float(coeff)


@contract(W=Tensor("m", "n"), u=Tensor("m"), n_iter=Int(low=1))
def power_iteration(W, u, n_iter=1):
    """``n_iter`` steps of power iteration on ``W`` (m, n) from ``u`` (m,); returns ``(sigma, u, v)``."""
    for _ in range(n_iter):
        v = F.normalize(W.T @ u, dim=0)
        u = F.normalize(W @ v, dim=0)
    return u @ W @ v, u, v


def _image_size(name, size):
    """``size`` as a tuple ``(H, W)``, each entry an int >= 1.

    No spec states a pair of sizes, so each entry goes through :class:`Int`'s check.
    """
    if not isinstance(size, tuple | list):
        raise TypeError(
            f"{name} must be a pair (H, W), got {type(size).__name__}"
        )
    if len(size) != 2:
        raise ValueError(f"{name} must be a pair (H, W), got {size!r}")
    return tuple(
        Int(low=1).check(f"{name}[{i}]", s, {}, {}) for i, s in enumerate(size)
    )


class _SpectralNorm(nn.Module):
    """Shared logic: a weight, its power-iteration vector, and the rescaling."""

    def __init__(self, coeff, n_power_iter):
        super().__init__()
        self.coeff = float(coeff)
        self.n_power_iter = n_power_iter

    @contract("eq-ir-spectral")
    def normalized_weight(self):
        """The weight divided by ``max(1, sigma_hat / coeff)``; updates the estimate in training mode.

        Implements :eq:`eq-ir-spectral`.
        """
        sigma = self.sigma()
        return self.weight / torch.clamp(sigma / self.coeff, min=1.0)


class SpectralNormLinear(_SpectralNorm):
    """A linear layer whose Lipschitz constant is kept at or below ``coeff``.

    Parameters
    ----------
    in_features, out_features : int
    coeff : float, default 0.9
        The bound :math:`c` in (0, 1).
    n_power_iter : int, default 1
        Power-iteration steps per forward pass in training mode; the vector is kept
        between calls, so one step per update is enough to track the weights.
    """

    @contract(
        in_features=Int(low=1),
        out_features=Int(low=1),
        coeff=COEFF,
        n_power_iter=Int(low=1),
        bias=Flag(),
    )
    def __init__(
        self, in_features, out_features, coeff=0.9, n_power_iter=1, bias=True
    ):
        super().__init__(coeff, n_power_iter)
        layer = nn.Linear(in_features, out_features, bias=bias)
        self.weight, self.bias = layer.weight, layer.bias
        self.register_buffer("u", F.normalize(torch.randn(out_features), dim=0))

    def sigma(self):
        r"""The power-iteration estimate of the weight's largest singular value.

        In training mode the stored vector :math:`u` first takes ``n_power_iter`` steps
        of power iteration; then, as in :eq:`eq-ir-spectral`,

        .. math::

            v = \frac{W^\top u}{\lVert W^\top u \rVert}, \qquad
            \hat\sigma = u^\top W v = \lVert W^\top u \rVert \le \sigma_1(W).
        """
        with torch.no_grad():
            if self.training:
                _, u, _ = power_iteration(
                    self.weight, self.u, self.n_power_iter
                )
                self.u.copy_(u)
            u = (
                self.u.clone()
            )  # the graph keeps this copy; the buffer moves on at the next call
            v = F.normalize(self.weight.T @ u, dim=0)
        return (
            u @ self.weight @ v
        )  # differentiable in the weight, as in Miyato et al.

    @contract(
        x=Tensor(None, ...), bind=lambda self: {"dtype": self.weight.dtype}
    )
    def forward(self, x):
        """The layer applied to ``x`` of shape (..., in_features), with the normalized weight."""
        if x.shape[-1] != self.weight.shape[1]:
            raise ValueError(
                f"x has {x.shape[-1]} features, the layer expects {self.weight.shape[1]}"
            )
        return F.linear(x, self.normalized_weight(), self.bias)


class SpectralNormConv2d(_SpectralNorm):
    """A convolution (stride 1, 'same' padding) whose Lipschitz constant is kept at or below ``coeff``.

    The operator norm of a convolution depends on the input size, so power iteration
    runs on the convolution itself, with ``conv2d`` for :math:`W` and ``conv_transpose2d``
    for :math:`W^\\top`, on inputs of shape ``(1, in_channels, *input_size)``.
    """

    @contract(
        in_channels=Int(low=1),
        out_channels=Int(low=1),
        kernel_size=Int(low=1),
        coeff=COEFF,
        n_power_iter=Int(low=1),
    )
    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        input_size,
        coeff=0.9,
        n_power_iter=1,
    ):
        super().__init__(coeff, n_power_iter)
        if kernel_size % 2 != 1:
            raise ValueError(
                f"kernel_size must be odd for 'same' padding, got {kernel_size}"
            )
        layer = nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2
        )
        self.weight, self.bias, self.padding = (
            layer.weight,
            layer.bias,
            kernel_size // 2,
        )
        self.input_size = _image_size("input_size", input_size)
        self.register_buffer(
            "u",
            F.normalize(
                torch.randn(1, out_channels, *self.input_size).flatten(), dim=0
            ),
        )

    def _sizes(self):
        """The sizes (and dtype) of the inputs the layer takes, by name."""
        height, width = self.input_size
        C_in = self.weight.shape[1]
        return {
            "C_in": C_in,
            "H": height,
            "W": width,
            "dtype": self.weight.dtype,
        }

    def _forward_op(self, v):
        return F.conv2d(v, self.weight, padding=self.padding)

    def _transpose_op(self, u):
        return F.conv_transpose2d(u, self.weight, padding=self.padding)

    def sigma(self):
        """The power-iteration estimate of the convolution's operator norm."""
        out_shape = (1, self.weight.shape[0], *self.input_size)
        with torch.no_grad():
            u = self.u.reshape(out_shape)
            steps = self.n_power_iter if self.training else 0
            for _ in range(steps):
                v = F.normalize(self._transpose_op(u).flatten(), dim=0).reshape(
                    1, -1, *self.input_size
                )
                u = F.normalize(self._forward_op(v).flatten(), dim=0).reshape(
                    out_shape
                )
            self.u.copy_(u.flatten())
            u = u.clone()
            v = F.normalize(self._transpose_op(u).flatten(), dim=0).reshape(
                1, -1, *self.input_size
            )
        return (u * self._forward_op(v)).sum()

    @contract(x=Tensor("N", "C_in", "H", "W"), bind=lambda self: self._sizes())
    def forward(self, x):
        """The convolution of ``x`` (N, C_in, H, W) with the normalized kernel."""
        return F.conv2d(
            x, self.normalized_weight(), self.bias, padding=self.padding
        )


def _spectral_layers(module):
    """The spectrally normalized layers inside ``module``, in the order of ``module.modules()``."""
    return [m for m in module.modules() if isinstance(m, _SpectralNorm)]


def _conv_power_iteration(layer, weight, tol, max_iter):
    """``(sigma, u)``: power iteration on the convolution with ``weight`` until ``sigma`` settles.

    Starts from the layer's stored vector ``u``; stops when the estimate changes by less
    than ``tol`` relative to itself. Raises a ``RuntimeError`` after ``max_iter`` steps.
    """
    out_shape = (1, weight.shape[0], *layer.input_size)
    in_shape = (1, weight.shape[1], *layer.input_size)
    u = layer.u.reshape(out_shape)
    previous = None
    for _ in range(max_iter):
        v = F.conv_transpose2d(u, weight, padding=layer.padding)
        v = F.normalize(v.flatten(), dim=0).reshape(in_shape)
        w = F.conv2d(v, weight, padding=layer.padding)
        sigma = w.flatten().norm()
        u = (w.flatten() / sigma).reshape(out_shape)
        if previous is not None and abs(sigma - previous) <= tol * sigma:
            return sigma, u.flatten()
        previous = sigma
    raise RuntimeError(
        f"power iteration did not settle to tol = {tol:.1e} in {max_iter} steps"
    )


@contract(
    layer=Instance(_SpectralNorm),
    normalized=Flag(),
    tol=Real(low=0, low_open=True),
    max_iter=Int(low=1),
)
@torch.no_grad()
def exact_spectral_norm(layer, *, normalized=True, tol=1e-13, max_iter=100000):
    r"""The largest singular value of a spectrally normalized layer, computed to convergence.

    Parameters
    ----------
    layer : torch.nn.Module
        A :class:`SpectralNormLinear` or :class:`SpectralNormConv2d`.
    normalized : bool, default True
        Measure the weight the layer uses, :math:`W / \max(1, \hat\sigma / c)` with its
        current estimate :math:`\hat\sigma` (left as it is), or else the raw weight.
    tol, max_iter : float, int
        For a convolution only: power iteration on the operator stops when its estimate
        changes by less than ``tol`` relative to itself.

    Returns
    -------
    torch.Tensor
        A scalar: :math:`\sigma_1`, by the SVD of the weight matrix (dense layer), or by
        power iteration on the convolution run to convergence.

    Notes
    -----
    .. math:: \sigma_1(W) = \max_{\lVert v \rVert = 1} \lVert W v \rVert .

    The layer's own estimate :math:`\hat\sigma` lags behind the weights during training
    (one power-iteration step per update), so the normalized weight's :math:`\sigma_1`
    can exceed :math:`c`; this function measures by how much.
    """
    if normalized:
        was_training = layer.training
        layer.eval()  # measuring must not move the layer's estimate
        try:
            weight = layer.normalized_weight()
        finally:
            layer.train(was_training)
    else:
        weight = layer.weight
    if isinstance(layer, SpectralNormLinear):
        return torch.linalg.matrix_norm(weight, 2)
    return _conv_power_iteration(layer, weight, tol, max_iter)[0]


@contract(
    module=Instance(nn.Module),
    tol=Real(low=0, low_open=True),
    max_iter=Int(low=1),
)
@torch.no_grad()
def converge_spectral_norms(module, *, tol=1e-13, max_iter=100000):
    r"""Bring every spectrally normalized layer's estimate :math:`\hat\sigma` to the exact :math:`\sigma_1`.

    After training, a layer's estimate comes from one power-iteration step per update
    and lags behind the weights, so its normalized weight can have :math:`\sigma_1 > c`.
    This sets the estimate to the largest singular value of the raw weight: through the
    SVD for a dense layer (the stored vector ``u`` becomes the top left singular
    vector), by power iteration on the operator until the estimate changes by less than
    ``tol`` relative to itself for a convolution. Afterwards, in eval mode, every
    normalized weight satisfies

    .. math:: \sigma_1\bigl(W / \max(1, \hat\sigma / c)\bigr) \le c

    to rounding (to ``tol`` for a convolution), and the products of the ``c`` are
    valid Lipschitz bounds again.

    Parameters
    ----------
    module : torch.nn.Module
        Any module; its spectrally normalized layers are found among its submodules.
    tol : float, default 1e-13
    max_iter : int, default 100000

    Returns
    -------
    torch.Tensor
        Shape (n_layers,): the raw weights' :math:`\sigma_1`, one per layer, in the order
        of ``module.modules()``.
    """
    sigmas = []
    for layer in _spectral_layers(module):
        if isinstance(layer, SpectralNormLinear):
            U, S, _ = torch.linalg.svd(layer.weight, full_matrices=False)
            layer.u.copy_(U[:, 0])
            sigmas.append(S[0])
        else:
            sigma, u = _conv_power_iteration(layer, layer.weight, tol, max_iter)
            layer.u.copy_(u)
            sigmas.append(sigma)
    if not sigmas:
        return torch.zeros(0)
    return torch.stack(sigmas)
