"""The invertible-ResNet chapter's costs.

Registered with the other kernels: the exact 2-D log-determinant of an i-ResNet block,
carried through the layers by nnbook, against torch.func's vectorized Jacobian.

Run as ``python -m benchmarks.invertible`` for two reports that are not ratios to torch:

1. The cost of a log-determinant estimate, in vector-Jacobian products (VJPs) per
   sample, for the truncated power series and for the Russian roulette, at equal
   root-mean-square error. Each estimator is averaged over as many independent probes as
   it needs to reach the error; the series also picks its best number of terms. The
   roulette's variance is finite only when :math:`L^2 / (1 - p) < 1` (here L = 0.9, so
   p < 0.19); above that the sample variance, and the cost derived from it, are unreliable.
2. The time to fit the 8-Gaussians density (the chapter's experiment), on one thread.
"""

from __future__ import annotations

import math
import time

import torch

from benchmarks import Benchmark, register
from nnbook.invertible import InvertibleResidualBlock, mlp_block
from nnbook.invertible import _logdet as logdet
from nnbook.invertible import _toy as toy


def _block_inputs(scale):
    torch.manual_seed(0)
    block = InvertibleResidualBlock(mlp_block(2, 64, coeff=0.99, layers=3)).eval()
    return block, torch.randn(max(8, int(256 * scale)), 2)


def _ours(block, x):
    return torch.linalg.slogdet(block.forward_and_jacobian(x)[1])[1]


def _torch(block, x):
    jac = torch.func.vmap(torch.func.jacrev(lambda v: v + block.g(v[None])[0]))(x)
    return torch.linalg.slogdet(jac)[1]


register(
    Benchmark("i-ResNet block exact 2-D log-det, B=256, 2-64-64-2", _ours, _torch, _block_inputs)
)


def _hard_linear_block(dim=32, lipschitz=0.9, seed=0):
    """g(x) = A x with symmetric A, eigenvalues evenly spread over [-L, L]: slow series convergence."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    eigenvalues = torch.linspace(-lipschitz, lipschitz, dim, dtype=torch.float64)
    linear = torch.nn.Linear(dim, dim, bias=False).double()
    with torch.no_grad():
        linear.weight.copy_(q @ torch.diag(eigenvalues) @ q.T)
    return linear, torch.log1p(eigenvalues).sum().item()


def _moments(draws, exact):
    draws = torch.tensor(draws)
    return (draws.mean().item() - exact) ** 2, draws.var().item()


def estimator_costs(target_rmse=0.1, n_draws=3000, max_terms=40, seed=0):
    """VJPs per sample that each estimator needs to reach ``target_rmse`` nats; returns a dict of rows."""
    g, exact = _hard_linear_block()
    x = torch.zeros(1, g.in_features, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    # One pass of max_terms VJPs per probe gives every truncation at once.
    partial = torch.zeros(n_draws, max_terms, dtype=torch.float64)
    for i in range(n_draws):
        terms = logdet.trace_terms(
            g, x, torch.randn(x.shape, generator=gen, dtype=torch.float64), max_terms
        )
        partial[i] = torch.cumsum(
            torch.stack([(-1) ** (k + 1) / k * t[0] for k, t in enumerate(terms, 1)]), 0
        )
    best = None
    for n in range(1, max_terms + 1):
        bias2, var = _moments(partial[:, n - 1].tolist(), exact)
        if bias2 < target_rmse**2:
            probes = math.ceil(var / (target_rmse**2 - bias2))
            if best is None or probes * n < best["vjps"]:
                best = {"terms": n, "probes": probes, "vjps": probes * n, "bias": math.sqrt(bias2)}
    rows = {"series": best}
    for p in (0.5, 0.2, 0.1, 0.05):
        draws, terms = zip(*(logdet.russian_roulette_logdet(g, x, p=p, generator=gen) for _ in range(n_draws)),
                           strict=True)  # fmt: skip
        bias2, var = _moments([d[0].item() for d in draws], exact)
        probes = math.ceil(var / target_rmse**2)
        mean_terms = sum(terms) / len(terms)
        rows[f"roulette p={p}"] = {"terms": mean_terms, "probes": probes, "vjps": probes * mean_terms,
                                   "bias": math.sqrt(bias2)}  # fmt: skip
    return rows, exact


def report():
    torch.set_num_threads(1)
    rows, exact = estimator_costs()
    print(
        f"log det(I + A), d = 32, eigenvalues of A spread over [-0.9, 0.9]: exact {exact:.3f} nats"
    )
    print("VJPs per sample for a root-mean-square error of 0.1 nats (moments from 3,000 draws;")
    print(
        "the roulette's variance is infinite for p >= 0.19 here, so its first rows are unreliable):"
    )
    for name, row in rows.items():
        print(f"  {name:16s} {row['terms']:5.1f} terms x {row['probes']:4d} probes = {row['vjps']:7.0f} VJPs"
              f"   (mean - exact {row['bias']:.3f})")  # fmt: skip
    start = time.perf_counter()
    result = toy.run_toy("8gaussians")
    total = time.perf_counter() - start
    print(
        f"8 Gaussians, 1,000 steps of 256 points, one thread ({total:.0f} s in all, with scoring):"
    )
    for label in result.flows:
        print(
            f"  {label:9s} trained in {result.seconds[label]:5.1f} s, {result.gap[label]:.3f} nats above the entropy"
        )


if __name__ == "__main__":
    report()
