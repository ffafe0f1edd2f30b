"""Samples and references for the contracts of the roofline page: the roofline's
equations, the costs of the memory-bound kernels and the kernels timed on it."""

import math

import torch

H = "nnbook.hardware."


class Counted:
    """A float that counts the arithmetic done with it in ``Counted.ops``."""

    ops = 0

    def __init__(self, value):
        self.value = float(value)

    def _op(self, other, f):
        Counted.ops += 1
        other = other.value if isinstance(other, Counted) else other
        return Counted(f(self.value, other))

    def __add__(self, other):
        return self._op(other, lambda a, b: a + b)

    __radd__ = __add__

    def __sub__(self, other):
        return self._op(other, lambda a, b: a - b)

    def __mul__(self, other):
        return self._op(other, lambda a, b: a * b)

    def __truediv__(self, other):
        return self._op(other, lambda a, b: a / b)


def _rsqrt(x):
    """``1 / sqrt(x)``, counted as one operation, as a kernel's rsqrt instruction is."""
    Counted.ops += 1
    return Counted(1 / math.sqrt(x.value))


def counted_layer_norm_flops(rows, features, bytes_per_element=4):
    """The operations a plain layer norm with a scale and a shift does, counted one by one."""
    Counted.ops = 0
    gamma, beta = [Counted(1.0)] * features, [Counted(0.0)] * features
    for r in range(rows):
        row = [Counted(r + 0.5 * j) for j in range(features)]
        mean = sum(row[1:], start=row[0]) / features
        Counted.ops += 1  # the first term of the sum, added to zero in a kernel
        centred = [v - mean for v in row]
        squares = [c * c for c in centred]
        var = sum(squares[1:], start=squares[0]) / features
        Counted.ops += 1
        inv = _rsqrt(var + 1e-5)
        _ = [c * inv * g + b for c, g, b in zip(centred, gamma, beta, strict=True)]
    return Counted.ops


def counted_embedding_bag_flops(bags, bag_size, dim, bytes_per_element=4, index_bytes=8):
    """The additions of summing ``bag_size`` rows into a zero vector, per bag, counted."""
    Counted.ops = 0
    for _ in range(bags):
        total = [Counted(0.0)] * dim
        for _ in range(bag_size):
            total = [t + 1.0 for t in total]
    return Counted.ops


def counted_elementwise_flops(numel, inputs=1, flops_per_element=1, bytes_per_element=4):
    """``flops_per_element`` operations per output element, counted on Counted numbers."""
    Counted.ops = 0
    for _ in range(numel):
        x = Counted(1.0)
        for _ in range(int(flops_per_element)):
            x = x * 1.0
    return Counted.ops + (flops_per_element - int(flops_per_element)) * numel


def _ridge_by_bisection(peak_flops, bandwidth):
    """Where ``bandwidth * I`` reaches ``peak_flops``, found by bisection in log space."""
    lo, hi = 1e-30, 1e30
    for _ in range(400):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if bandwidth * mid < peak_flops else (lo, mid)
    return math.sqrt(lo * hi)


def _cheap_kernel():
    x = torch.ones(8)
    return {"add": ((8.0, 96.0), lambda: x + x)}


SAMPLES = {
    H + "measure.roofline_kernels": lambda: ((), {"scale": 1}),
    H + "measure.kernel_rates": lambda: ((_cheap_kernel(),), {"repeats": 1}),
    H + "measure.kernel_costs": lambda: ((), {"scale": 8, "dtype": "bfloat16"}),
}

#: Closed forms and counts, each given the same call as the function.
REFERENCES = {
    H + "roofline.intensity": lambda flops, nbytes: math.exp(math.log(flops) - math.log(nbytes)),
    H + "roofline.attainable": lambda i, p, b: p if b * i >= p else b * i,
    H + "roofline.ridge_point": lambda p, b: _ridge_by_bisection(p, b),
    H + "roofline.elementwise_cost": counted_elementwise_flops,
    H + "roofline.layer_norm_cost": counted_layer_norm_flops,
    H + "roofline.embedding_bag_cost": counted_embedding_bag_flops,
}
