"""Samples and references for the contracts of nnbook.hardware.model_parallel."""

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from nnbook.hardware import model_parallel as mp
from nnbook.hardware import parallel

H = "nnbook.hardware.model_parallel."


def _in_group(*args, **kwargs):
    """A call made inside a gloo group of one process, this one, kept in memory."""

    def sample():
        if not dist.is_initialized():
            dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
        return args, kwargs

    return sample


def _timeline():
    return (mp.pipeline_schedule(3, 4, "1f1b", 1, 2),), {}


def _tp_bytes(batch, seq, hidden, ranks, bytes_per_element=2):
    """Four ring all-reduces, counted chunk by chunk: 2 (t - 1) steps of 1/t each."""
    chunk = batch * seq * hidden * bytes_per_element / ranks
    return 4 * 2 * (ranks - 1) * chunk


def _layer_flops(batch, seq, hidden):
    """The FLOP torch's flop counter finds in one transformer layer's matrix products."""
    heads = 2 if hidden % 2 == 0 else 1
    x = torch.zeros(batch, seq, hidden)
    w = torch.zeros(hidden, hidden)
    w_up, w_down = torch.zeros(hidden, 4 * hidden), torch.zeros(4 * hidden, hidden)

    def split(t):  # (b, s, h) -> (b, heads, s, h / heads)
        return t.reshape(batch, seq, heads, hidden // heads).transpose(1, 2)

    with FlopCounterMode(display=False) as counter:
        q, k, v = (split(x @ w) for _ in range(3))
        scores = q @ k.transpose(-1, -2)  # the whole s x s matrix, no causal mask
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, seq, hidden)
        y = out @ w
        _ = F.gelu(y @ w_up) @ w_down
    return float(counter.get_total_flops())


SAMPLES = {
    # one forked process in a group of one: the result of allreduce_sum is 1
    H + "run_forked": lambda: ((parallel.allreduce_sum, 1), {}),
    H + "tensor_parallel_step": _in_group(0, 1, batch=2, hidden=3),
    # draws its own problem in float64, whatever the caller's dtype
    H + "tensor_parallel_reference": lambda: ((), {"batch": 2, "hidden": 3}),
    H + "idle_fraction": _timeline,
    H + "peak_in_flight": _timeline,
}

REFERENCES = {
    H + "tensor_parallel_mlp": lambda X, A, B, world_size: F.gelu(X @ A) @ B,
    H + "mlp_partial": lambda X, A, B, rank, world_size: (
        F.gelu(X @ A)[:, A.shape[1] // world_size * rank : A.shape[1] // world_size * (rank + 1)]
        @ B[A.shape[1] // world_size * rank : A.shape[1] // world_size * (rank + 1)]
    ),
    H + "tensor_parallel_bytes": _tp_bytes,
    H + "transformer_layer_flops": _layer_flops,
}
