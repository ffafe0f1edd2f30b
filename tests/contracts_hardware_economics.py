"""Samples and references for the contracts of nnbook.hardware.economics."""

import math

import torch
import torch.nn.functional as F
from scipy.integrate import quad
from torch.utils.flop_counter import FlopCounterMode

from nnbook.hardware import economics

E = "nnbook.hardware.economics."


def _counted_linear_training(n_params, n_tokens, layers=0, d_model=0, seq_len=0):
    """FLOPs torch counts to train a layer of ``n_params`` weights on ``n_tokens`` rows."""
    x = torch.zeros(int(n_tokens), 1, dtype=torch.float64, requires_grad=True)
    w = torch.zeros(int(n_params), 1, dtype=torch.float64, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        F.linear(x, w).sum().backward()
    return counter.get_total_flops()


def _annuity(interest, years):
    """Capital recovery factor: the payment whose discounted sum over the life is 1."""
    if interest == 0:
        return 1 / years
    return (
        1 / sum((1 + interest) ** -(k + 1) for k in range(int(years)))
        if float(years).is_integer()
        else interest / (1 - (1 + interest) ** -years)
    )


def _mean_rate(rate, years, decline=0.0, yearly=False):
    """The falling rate integrated numerically over the life, divided by it."""
    return _paid(years, rate, decline, yearly, 1.0) / years


def _paid(span, rate, decline, yearly, unit):
    """The rate integrated over ``span`` (units of ``unit`` per year), steps yearly."""
    if yearly:
        edges = [k * unit for k in range(int(span // unit) + 1)] + [span]
        return sum(
            quad(lambda s, k=k: rate * (1 - decline) ** k, lo, hi)[0]
            for k, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False))
        )
    return quad(lambda s: rate * (1 - decline) ** (s / unit), 0, span, epsabs=1e-12)[0]


def _own(price, years, utilization, watts, pue, kwh, resale=0.0, interest=0.0, fixed=0.0):
    growth = (1 + interest) ** years
    b = 1 / years if interest == 0 else interest / (growth - 1)
    capital = _annuity(interest, years) * price - b * resale
    return capital / 8760 + fixed + utilization * watts / 1000 * pue * kwh


def _breakeven(
    price, rate, years, watts, pue, kwh, resale=0.0, interest=0.0, fixed=0.0, decline=0.0
):
    owned = _own(price, years, 0.0, watts, pue, kwh, resale, interest, fixed)
    margin = _mean_rate(rate, years, decline) - watts / 1000 * pue * kwh
    return owned / margin if margin > 0 else math.inf


def _tiny():
    return economics.TinyDecoder(7, 8, 1, 2).double()


def _tokens():
    return torch.randint(0, 7, (2, 5), generator=torch.Generator().manual_seed(0))


SAMPLES = {
    E + "training_flops": lambda: ((12, 5), {}),
    E + "matmul_parameters": lambda: ((_tiny(),), {}),
    E + "next_token_step": lambda: ((_tiny(), _tokens()), {}),
    E + "counted_training_flops": lambda: ((_tiny(), _tokens()), {}),
}

REFERENCES = {
    E + "training_flops": _counted_linear_training,
    E + "model_flops_utilization": lambda f, s, p, n: f / (s * n * p),
    E + "training_days": lambda f, n, p, u: f / (n * p * u * 24 * 3600),
    E + "cap_energy": lambda watts, seconds, rest=0.0: (watts + rest) * seconds / 3.6e6,
    E + "annuity_factors": _annuity,
    E + "ownership_per_hour": _own,
    E + "mean_rate": _mean_rate,
    E + "rent_paid": lambda hours, rate, u=1.0, decline=0.0, yearly=False: (
        u * _paid(hours, rate, decline, yearly, 8760)
    ),
    E + "breakeven_utilization": _breakeven,
    E + "cost_per_pflop_hour": lambda rate, peak, mfu: rate / (peak * mfu * 3600 / 3.6e18),
    E + "matmul_parameters": lambda model: sum(
        p.numel()
        for name, p in model.named_parameters()
        if p.dim() == 2 and not name.startswith("embed")
    ),
}
