"""Optimizer steps on a 10-million-parameter model, against torch.optim."""

import torch

from benchmarks import Benchmark, register
from nnbook import optim

SHAPES = [(4096, 2048), (2048, 512), (1024, 512), (512,)]  # 9,961,984 parameters


def _model(scale):
    g = torch.Generator().manual_seed(0)
    shapes = SHAPES if scale == 1.0 else [(64, 32), (32,)]
    params = [torch.randn(s, generator=g) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * 1e-2
    return params


def _pair(make_ours, make_theirs):
    """Inputs: the same model twice, each with its own optimizer."""

    def inputs(scale):
        ours, theirs = _model(scale), _model(scale)
        return make_ours(ours), make_theirs(theirs)

    return inputs


def _step_ours(opt, _):
    opt.step()
    return opt.param_groups[0]["params"][0]


def _step_theirs(_, opt):
    opt.step()
    return opt.param_groups[0]["params"][0]


for name, ours, theirs in [
    ("Adam", lambda ps: optim.Adam(ps, lr=1e-3), lambda ps, **kw: torch.optim.Adam(ps, lr=1e-3, **kw)),
    ("SGD momentum", lambda ps: optim.SGD(ps, lr=1e-2, momentum=0.9),
     lambda ps, **kw: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, **kw)),
]:  # fmt: skip
    register(Benchmark(f"{name} step, 10M parameters, vs torch single-tensor",
                       _step_ours, _step_theirs,
                       _pair(ours, lambda ps, t=theirs: t(ps, foreach=False))))  # fmt: skip
    register(Benchmark(f"{name} step, 10M parameters, vs torch default",
                       _step_ours, _step_theirs, _pair(ours, theirs)))  # fmt: skip
