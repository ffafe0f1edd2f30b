"""Samples and references for the contracts of nnbook.hardware.memory.

Each reference counts the bytes of real torch objects, or sums the paper's own list
of saved tensors, rather than reusing the formula under test.
"""

import pytest
import torch
from torch import nn

from nnbook.hardware import calculators
from nnbook.hardware.memory import PeakMemory, ResidualMLP

pytestmark = pytest.mark.hardware

M = "nnbook.hardware.memory."


def _optimizer(params, optimizer):
    if optimizer == "adam":
        return torch.optim.Adam(params, foreach=False)
    momentum = 0.9 if optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=0.1, momentum=momentum, foreach=False)


def _torch_state_bytes(n_params, optimizer="adam", precision="float32", **options):
    """Weights, gradients and optimizer state of torch.optim after one step.

    Mixed precision has no torch.optim counterpart: its 16-bit weights and gradients
    are counted as tensors, and the float32 master weights and moments are those of a
    float32 optimizer (the count of Rajbhandari et al., 2020). The options of other
    setups (``grad_bytes``, ``moment_bytes``, ``master``) are counted as byte tensors
    of those sizes.
    """
    if options:
        k = {"sgd": 0, "momentum": 1, "adam": 2}[optimizer]
        mixed = precision in calculators.MIXED_PRECISION
        weights = torch.zeros(n_params, dtype=getattr(torch, precision))
        beta = weights.element_size()
        grads = torch.zeros(n_params * options.get("grad_bytes", beta), dtype=torch.uint8)
        moment = options.get("moment_bytes", 4 if mixed else beta)
        moments = [torch.zeros(n_params * moment, dtype=torch.uint8) for _ in range(k)]
        master = torch.zeros(n_params if options.get("master", mixed) else 0)
        return weights.nbytes + grads.nbytes + master.nbytes + sum(m.nbytes for m in moments)
    if precision in calculators.MIXED_PRECISION:
        half = torch.zeros(n_params, dtype=getattr(torch, precision))
        master = _torch_state_bytes(n_params, optimizer, "float32")
        return 2 * half.nbytes + master - 4 * n_params  # drop float32 gradients
    p = nn.Parameter(torch.zeros(n_params, dtype=getattr(torch, precision)))
    p.grad = torch.ones_like(p)
    opt = _optimizer([p], optimizer)
    opt.step()
    state = [
        t.nbytes
        for t in opt.state[p].values()
        if isinstance(t, torch.Tensor) and t.shape == p.shape
    ]
    return p.nbytes + p.grad.nbytes + sum(state)


def _saved_tensor_list(
    seq_len,
    batch,
    hidden,
    heads,
    layers=1,
    recompute=False,
    fused_attention=True,
    dropout=True,
):
    """The per-layer list of Korthikanti et al. (2022, section 4.1), summed.

    A fused kernel replaces the stored softmax (and its dropout) by one float32
    log-sum-exp per head and token; without dropout the masks go. The recomputed
    layer of the checkpointed case is the book's addition.
    """
    s, b, h, a = seq_len, batch, hidden, heads
    sbh = s * b * h
    if fused_attention:
        scores = [4 * a * s * b]  # log-sum-exp, float32
    else:
        scores = [2 * a * s * s * b]  # softmax output
        if dropout:
            scores += [a * s * s * b, 2 * a * s * s * b]  # mask, dropout output
    attention = [
        2 * sbh,  # input of the QKV projection
        4 * sbh,  # Q and K
        2 * sbh,  # V
        *scores,
        2 * sbh,  # input of the output projection
    ]
    mlp = [2 * sbh, 8 * sbh, 8 * sbh]  # input, GeLU input, 4h input
    masks = [sbh, sbh] if dropout else []  # after attention and after the MLP
    norms = [2 * sbh, 2 * sbh]
    one_layer = sum(attention) + sum(mlp) + sum(masks) + sum(norms)
    if recompute:
        return layers * 2 * sbh + one_layer
    return layers * one_layer


def _kv_tensors(layers, kv_heads, head_dim, seq_len, batch=1, dtype="bfloat16", tensor_parallel=1):
    """Bytes of one device's key and value tensors per layer, shaped as attention caches them.

    Each of ``tensor_parallel`` devices takes a contiguous share of the heads; a device
    that would get none keeps a copy of one.
    """
    shares = [len(part) for part in torch.arange(kv_heads).tensor_split(tensor_parallel)]
    heads = max(max(shares), 1)
    with torch.device("meta"):
        caches = [
            torch.empty(batch, heads, seq_len, head_dim, dtype=getattr(torch, dtype))
            for _ in range(2 * layers)
        ]
    return sum(c.element_size() * c.numel() for c in caches)


def _forward_bytes(batch, width, hidden, blocks, classes, dtype="float64", checkpoint=False):
    """Bytes that a forward pass and its loss leave allocated, as PeakMemory counts them."""
    torch.manual_seed(0)
    model = ResidualMLP(width, hidden, blocks, classes).to(getattr(torch, dtype))
    x = torch.randn(batch, width, dtype=model.head.weight.dtype)
    y = torch.zeros(batch, dtype=torch.int64)
    with PeakMemory() as memory:
        loss = nn.functional.cross_entropy(model(x), y)  # x itself: not counted
        kept = memory.live - 2 * loss.nbytes  # the loss, nll_loss's total weight
    del loss
    return kept


SAMPLES = {
    M + "mlp_activation_bytes": lambda: (
        (16, 8, 32, 3, 5),
        {"dtype": "float64", "checkpoint": False},
    ),
    M + "kv_cache_bytes": lambda: (
        (4, 2, 8, 10),
        {"batch": 3, "dtype": "float32", "tensor_parallel": 4},
    ),
    M + "transformer_activation_bytes": lambda: (
        (128, 2, 64, 4),
        {"layers": 3, "recompute": False, "fused_attention": False, "dropout": True},
    ),
    M + "state_bytes": lambda: ((1000,), {"optimizer": "adam", "precision": "float64"}),
}

REFERENCES = {
    M + "state_bytes": _torch_state_bytes,
    M + "transformer_activation_bytes": _saved_tensor_list,
    M + "kv_cache_bytes": _kv_tensors,
    M + "mlp_activation_bytes": _forward_bytes,
}
