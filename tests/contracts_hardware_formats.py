"""Samples and references for the contracts of nnbook.hardware.formats and .accelerators."""

import torch

H = "nnbook.hardware."


def _values(*shape, seed=0):
    """float32 values, held in float64, so that torch's casts round them once."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).double()


def _torch_cast(x, fmt):
    dtypes = {
        "bf16": torch.bfloat16,
        "fp16": torch.float16,
        "e4m3": torch.float8_e4m3fn,
        "e5m2": torch.float8_e5m2,
    }
    return x.float().to(dtypes[fmt]).to(x.dtype)


def _mx_reference(x, element="e2m1", block=32):
    """Nearest E2M1 value times 2^(floor(log2 amax) - 2), by search over the grid."""
    grid = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6], dtype=torch.float64)
    grid = torch.cat([-grid.flip(0), grid])
    v = x.reshape(-1, block)
    scale = torch.exp2(torch.floor(torch.log2(v.abs().amax(1, keepdim=True))) - 2)
    candidates = scale[..., None] * grid  # (blocks, 1, 15)
    index = (v[..., None] - candidates).abs().argmin(-1, keepdim=True)
    return torch.gather(candidates.expand(-1, block, -1), -1, index).reshape(x.shape)


SAMPLES = {
    H + "accelerators.ridge_point": lambda: ((989.0, 3.35), {}),
    H + "accelerators.bytes_per_flop": lambda: ((989.0, 3.35), {}),
    H + "accelerators.memory_per_tflops": lambda: ((80.0, 989.0), {}),
    H + "accelerators.decode_tokens_per_second": lambda: ((4.8, 70.0, 10.0), {}),
    H + "formats.round_to_format": lambda: ((_values(64), "e4m3"), {}),
    H + "formats.mx_quantize": lambda: ((_values(2, 64, seed=1),), {}),
    H + "formats.quantize": lambda: ((_values(2, 64, seed=2), "MXFP4, spec's floor rule"), {}),
}

REFERENCES = {
    H + "formats.round_to_format": _torch_cast,
    H + "formats.mx_quantize": _mx_reference,
    H + "formats.quantize": lambda x, scheme: _mx_reference(x),
    H + "accelerators.ridge_point": lambda peak, bandwidth: peak / bandwidth,
    H + "accelerators.bytes_per_flop": lambda peak, bandwidth: bandwidth / peak,
    H + "accelerators.memory_per_tflops": lambda memory, peak: memory / peak,
    H + "accelerators.decode_tokens_per_second": lambda beta, w, c=0.0: (
        beta * 1e12 / ((w + c) * 1e9)
    ),
}
