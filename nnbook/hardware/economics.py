r"""What training costs: FLOPs, utilization, days, dollars and joules.

The arithmetic of a training budget, one formula per function:

- :func:`training_flops`: the :math:`6 N D` estimate of training compute;
- :func:`model_flops_utilization`: the share of the peak that a run turns into
  model arithmetic;
- :func:`training_days`: the days (and so the GPU-hours) a run takes;
- :func:`annuity_factors`, :func:`ownership_per_hour`, :func:`mean_rate`,
  :func:`rent_paid` and :func:`breakeven_utilization`: owning GPUs against
  renting them on demand or as reserved capacity;
- :func:`cost_per_pflop_hour`: the price of model arithmetic across GPU
  generations;
- :func:`cap_energy`: the energy of a run under a power cap.

:class:`TinyDecoder` and :func:`counted_training_flops` check the first formula
against the FLOPs that torch counts in a real training step. :data:`ZEUS_V100_RESNET50`
holds published measurements of a GPU under power caps.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nnbook.contract import Flag, Instance, Int, Real, Tensor, contract
from nnbook.hardware.calculators import energy_cost, energy_kwh

__all__ = [
    "HOURS_PER_YEAR",
    "ZEUS_V100_RESNET50",
    "TinyDecoder",
    "annuity_factors",
    "breakeven_utilization",
    "cap_energy",
    "cost_per_pflop_hour",
    "counted_training_flops",
    "matmul_parameters",
    "mean_rate",
    "model_flops_utilization",
    "next_token_step",
    "ownership_per_hour",
    "rent_paid",
    "training_days",
    "training_flops",
]

#: Hours in a year of 365 days.
HOURS_PER_YEAR = 8760

#: Training ResNet-50 on ImageNet (batch 256) on an NVIDIA V100 under power caps, as
#: measured for the Zeus paper (You, Chung and Chowdhury, NSDI 2023) and published
#: with its artifact (``summary_power_v100.csv`` in the ``ml-energy/zeus`` repository):
#: ``{power cap in W: (seconds per epoch, average power in W)}``, rounded to 0.01.
ZEUS_V100_RESNET50 = {
    100: (6781.17, 98.38),
    125: (5064.97, 121.97),
    150: (4148.66, 144.59),
    175: (3852.18, 166.37),
    200: (3700.97, 184.94),
    225: (3584.30, 205.44),
    250: (3514.99, 220.25),
}

POSITIVE = Real(low=0, low_open=True)
FRACTION = Real(low=0, high=1, low_open=True)


@contract(
    "eq-hw-train-flops",
    n_params=POSITIVE,
    n_tokens=POSITIVE,
    layers=Int(low=0),
    d_model=Int(low=0),
    seq_len=Int(low=0),
    reference="torch.utils.flop_counter.FlopCounterMode",
)
def training_flops(n_params, n_tokens, *, layers=0, d_model=0, seq_len=0):
    r"""Floating-point operations to train ``n_params`` weights on ``n_tokens`` tokens.

    Implements :eq:`eq-hw-train-flops`.

    .. math::
        \begin{aligned}
        C &\approx 6 N D, \\
        C &= 6 N D + 12\, L\, d\, T\, D \quad \text{(with attention)}.
        \end{aligned}

    A weight takes part in one multiply-add (2 FLOPs) per token in the forward pass
    and in two in the backward pass (the gradient of the input and that of the
    weight). With ``layers``, ``d_model`` and ``seq_len`` given, the products of
    activations with activations in causal self-attention are added: per layer and
    token, :math:`Q K^\top` and the weighted sum of :math:`V` are :math:`2 d T`
    multiply-adds in the forward pass, three times that in training. This counts
    the full :math:`T \times T` products, as the appendix B of the PaLM paper does;
    a causal fused attention kernel executes about half of them. Kaplan et al.
    (table 1) count :math:`2 L T d` per token in the forward pass, which is
    :math:`6 L d T` in training: half of this term, as if the causal mask were
    counted. Element-wise operations (normalization, softmax, activations) are
    not counted.

    Parameters
    ----------
    n_params : float
        :math:`N`, the weights that multiply activations (embedding tables excluded).
    n_tokens : float
        :math:`D`, the tokens (or examples) seen in training.
    layers : int, default 0
        :math:`L`, the attention layers; 0 leaves attention out.
    d_model : int, default 0
        :math:`d`, the width of queries, keys and values summed over the heads.
    seq_len : int, default 0
        :math:`T`, the length of the training sequences.

    Returns
    -------
    float
        FLOPs. Llama 3 8B (:math:`N = 7.5 \times 10^9` weights without the
        embedding table) on 15 trillion tokens:
        :math:`6 N D = 6.75 \times 10^{23}`.
    """
    return 6 * n_params * n_tokens + 12 * layers * d_model * seq_len * n_tokens


@contract(
    "eq-hw-mfu",
    model_flops=POSITIVE,
    seconds=POSITIVE,
    peak_flops=POSITIVE,
    devices=Int(low=1),
)
def model_flops_utilization(model_flops, seconds, peak_flops, devices=1):
    r"""Model FLOPs utilization: the model's FLOP/s over the devices' peak FLOP/s.

    Implements :eq:`eq-hw-mfu`.

    .. math:: \text{MFU} = \frac{C_\text{model} / t}{n \, P_\text{peak}}

    ``model_flops`` are those the model needs (:func:`training_flops`, attention
    included, as PaLM's appendix B counts them), not those the hardware executes:
    activations recomputed to save memory do not count.

    Parameters
    ----------
    model_flops : float
        FLOPs the model needs for the work done in ``seconds``.
    seconds : float
        Wall-clock time of that work.
    peak_flops : float
        The peak FLOP/s of one device.
    devices : int, default 1

    Returns
    -------
    float
        A fraction; 0.4 is a good large run on GPUs.
    """
    return model_flops / seconds / (devices * peak_flops)


@contract(
    "eq-hw-train-time",
    flops=POSITIVE,
    devices=Int(low=1),
    peak_flops=POSITIVE,
    mfu=FRACTION,
)
def training_days(flops, devices, peak_flops, mfu):
    r"""Days to execute ``flops`` on ``devices`` at a utilization ``mfu`` of their peak.

    Implements :eq:`eq-hw-train-time`.

    .. math:: t_\text{train} = \frac{C}{n \, P_\text{peak} \, \text{MFU}}

    With :math:`C` in FLOPs and :math:`P_\text{peak}` in FLOP/s,
    :math:`t_\text{train}` is in seconds; this function returns it in days
    (divided by 86,400). The device-hours are :math:`n\, t_\text{train} / 3600`,
    whatever :math:`n` is.

    Parameters
    ----------
    flops : float
        The model's FLOPs, such as :func:`training_flops`.
    devices : int
    peak_flops : float
        The peak FLOP/s of one device, in the format the run computes in.
    mfu : float
        The model FLOPs utilization, in (0, 1].

    Returns
    -------
    float
        Days.
    """
    return flops / (devices * peak_flops * mfu) / 86400


def _electricity_per_hour(watts, pue, price_per_kwh):
    """Electricity bought per busy hour: ``watts`` W times ``pue`` for one hour."""
    return energy_cost(energy_kwh(watts * pue, 1.0), price_per_kwh)


@contract(
    "eq-hw-breakeven",
    interest=Real(low=0),
    years=POSITIVE,
)
def annuity_factors(interest, years):
    r"""The capital recovery and sinking fund factors of a purchase.

    Implements :eq:`eq-hw-breakeven` (its first line).

    .. math::
        \begin{aligned}
        a &= \frac{i}{1 - (1 + i)^{-Y}}, \\
        b &= \frac{i}{(1 + i)^{Y} - 1} .
        \end{aligned}

    A price :math:`P` paid now costs :math:`a P` a year over :math:`Y` years at the
    yearly cost of capital :math:`i` (the payment of a loan that repays it); a
    resale value :math:`R` received after :math:`Y` years is worth :math:`b R` a
    year. Without interest both are :math:`1 / Y`.

    Parameters
    ----------
    interest : float
        :math:`i`, the yearly cost of capital, such as 0.09.
    years : float
        :math:`Y`, the life of the purchase.

    Returns
    -------
    a, b : float
        Per year.
    """
    if interest == 0:
        return 1 / years, 1 / years
    growth = (1 + interest) ** years
    return interest * growth / (growth - 1), interest / (growth - 1)


_OWN = {
    "price": Real(low=0),
    "years": POSITIVE,
    "utilization": FRACTION,
    "watts": Real(low=0),
    "pue": Real(low=1),
    "price_per_kwh": Real(low=0),
    "resale": Real(low=0),
    "interest": Real(low=0),
    "fixed_per_hour": Real(low=0),
}


@contract("eq-hw-breakeven", **_OWN)
def ownership_per_hour(
    price,
    years,
    utilization,
    watts,
    pue,
    price_per_kwh,
    *,
    resale=0.0,
    interest=0.0,
    fixed_per_hour=0.0,
):
    r"""What one owned GPU costs per calendar hour, all costs spread over its life.

    Implements :eq:`eq-hw-breakeven`.

    .. math::
        \begin{aligned}
        p &= w\, \mathrm{PUE}\, e / 1000, \\
        h_\text{own} &= \frac{a P - b R}{8760} + f + u\, p .
        \end{aligned}

    The purchase is paid as a loan over the life (:func:`annuity_factors`), less the
    resale value; the fixed costs :math:`f` (colocation, support, staff) are paid
    every hour, busy or not; the electricity :math:`p` only in the busy hours.

    Parameters
    ----------
    price : float
        :math:`P`, the capital cost of one GPU: its share of the server, the
        network, the storage and the installation.
    years : float
        :math:`Y`, the life over which the purchase is paid.
    utilization : float
        :math:`u`, the share of the hours the GPU does useful work, in (0, 1].
    watts : float
        :math:`w`, the power of one working GPU with its share of the server, in W.
    pue : float
        The data centre's power usage effectiveness (at least 1): watts at the
        wall per watt delivered to the servers.
    price_per_kwh : float
        :math:`e`, the electricity price per kWh.
    resale : float, default 0
        :math:`R`, what the hardware sells for at the end of its life.
    interest : float, default 0
        :math:`i`, the yearly cost of capital.
    fixed_per_hour : float, default 0
        :math:`f`, the costs paid for every calendar hour.

    Returns
    -------
    float
        Cost per calendar hour; divide by ``utilization`` for the cost per busy hour.
    """
    a, b = annuity_factors(interest, years)
    capital = (a * price - b * resale) / HOURS_PER_YEAR
    electricity = utilization * _electricity_per_hour(watts, pue, price_per_kwh)
    return capital + fixed_per_hour + electricity


@contract(
    "eq-hw-breakeven",
    rate=POSITIVE,
    years=POSITIVE,
    decline=Real(low=0, high=1, high_open=True),
    yearly=Flag(),
)
def mean_rate(rate, years, decline=0.0, *, yearly=False):
    r"""The average of an hourly rate that falls by ``decline`` a year, over ``years``.

    Implements :eq:`eq-hw-breakeven`.

    .. math::
        \begin{aligned}
        \bar r &= \frac{1}{Y} \int_0^Y r\, (1 - \delta)^{y}\, dy \\
        &= r\, \frac{1 - (1 - \delta)^{Y}}{Y \ln(1 / (1 - \delta))}, \\
        \bar r_\text{res} &= \frac{1}{Y} \int_0^Y r\, (1 - \delta)^{\lfloor y
        \rfloor}\, dy .
        \end{aligned}

    The first line is a rate that follows the market continuously, as on-demand
    rates do. With ``yearly=True`` the rate is a reservation renewed at the start
    of every year at the rate of that day, and held for the year: a step function,
    the second line. Over whole years it is
    :math:`r \sum_{k<Y} (1 - \delta)^k / Y`.

    Parameters
    ----------
    rate : float
        :math:`r`, the rate today.
    years : float
        :math:`Y`.
    decline : float, default 0
        :math:`\delta`, the fraction by which the rate falls in a year, in [0, 1).
    yearly : bool, default False
        Reprice once a year (a reservation renewed each year) instead of
        continuously.

    Returns
    -------
    float
        The mean rate; ``rate`` itself when ``decline`` is 0.
    """
    if decline == 0:
        return float(rate)
    if yearly:
        whole = math.floor(years)
        keep = 1 - decline
        paid = (1 - keep**whole) / decline + (years - whole) * keep**whole
        return rate * paid / years
    fall = -math.log1p(-decline)
    return rate * -math.expm1(-fall * years) / (years * fall)


@contract(
    "eq-hw-breakeven",
    rate=POSITIVE,
    decline=Real(low=0, high=1, high_open=True),
    **{k: v for k, v in _OWN.items() if k != "utilization"},
)
def breakeven_utilization(
    price,
    rate,
    years,
    watts,
    pue,
    price_per_kwh,
    *,
    resale=0.0,
    interest=0.0,
    fixed_per_hour=0.0,
    decline=0.0,
):
    r"""The utilization above which owning beats renting on demand over ``years``.

    Implements :eq:`eq-hw-breakeven`.

    .. math::
        u^* = \frac{(a P - b R) / 8760 + f}{\bar r - p}

    Renting on demand costs :math:`u \bar r` per calendar hour (only the busy hours
    are paid, at the mean rate of :func:`mean_rate`); owning costs
    :func:`ownership_per_hour`. Setting them equal gives :math:`u^*`. Without
    resale, interest, fixed costs and decline this is
    :math:`P / (t_\text{life} (r - p))`. Rents are averaged over the life, not
    discounted.

    Parameters
    ----------
    price, years, watts, pue, price_per_kwh, resale, interest, fixed_per_hour : float
        As in :func:`ownership_per_hour`.
    rate : float
        :math:`r`, the on-demand rate per GPU-hour today.
    decline : float, default 0
        :math:`\delta`, the yearly fall of the rate.

    Returns
    -------
    float
        A fraction; above 1, owning never pays within ``years``; ``math.inf`` if
        an hour of electricity costs at least the mean rate.
    """
    fixed = ownership_per_hour(
        price,
        years,
        1.0,
        0.0,
        1.0,
        0.0,
        resale=resale,
        interest=interest,
        fixed_per_hour=fixed_per_hour,
    )
    margin = mean_rate(rate, years, decline) - _electricity_per_hour(
        watts, pue, price_per_kwh
    )
    return fixed / margin if margin > 0 else math.inf


@contract(
    "eq-hw-breakeven",
    hours=Real(low=0),
    rate=POSITIVE,
    utilization=FRACTION,
    decline=Real(low=0, high=1, high_open=True),
    yearly=Flag(),
)
def rent_paid(hours, rate, utilization=1.0, decline=0.0, *, yearly=False):
    r"""Rent paid after ``hours`` at a rate falling by ``decline`` a year.

    Implements :eq:`eq-hw-breakeven`.

    .. math::
        \begin{aligned}
        C_\text{rent}(t) &= u \int_0^t r\, (1 - \delta)^{s / 8760}\, ds, \\
        C_\text{res}(t) &= \int_0^t r\, (1 - \delta)^{\lfloor s / 8760
        \rfloor}\, ds .
        \end{aligned}

    On demand, only the busy hours are paid (``utilization`` :math:`u`) at a rate
    that falls continuously; reserved capacity is paid for every hour
    (``utilization=1``, at the reserved rate) and, with ``yearly=True``, renewed
    each year at the rate of that day (the second line).

    Parameters
    ----------
    hours : float
        :math:`t`, the calendar hours since the start.
    rate : float
        :math:`r`, the rate per GPU-hour at the start.
    utilization : float, default 1
        :math:`u`, the share of the hours that are paid.
    decline : float, default 0
        :math:`\delta`, the yearly fall of the rate, in [0, 1).
    yearly : bool, default False
        Reprice once a year, as in :func:`mean_rate`.

    Returns
    -------
    float
        The cumulative rent.
    """
    years = hours / HOURS_PER_YEAR
    if years == 0:
        return 0.0
    return utilization * hours * mean_rate(rate, years, decline, yearly=yearly)


@contract(
    "eq-hw-pflop-cost", rate=Real(low=0), peak_flops=POSITIVE, mfu=FRACTION
)
def cost_per_pflop_hour(rate, peak_flops, mfu):
    r"""What a petaFLOP-hour of model arithmetic costs at ``rate`` per GPU-hour.

    Implements :eq:`eq-hw-pflop-cost`.

    .. math:: c = \frac{r}{P_\text{peak}\, \text{MFU} / 10^{15}}

    A GPU-hour delivers :math:`P_\text{peak}\,\text{MFU} \times 3600` FLOPs of the
    model, that is :math:`P_\text{peak}\,\text{MFU} / 10^{15}` PFLOP-hours.

    Parameters
    ----------
    rate : float
        :math:`r`, the cost of one GPU-hour (rented, or owned per busy hour).
    peak_flops : float
        :math:`P_\text{peak}`, the dense peak FLOP/s in the format of the run.
    mfu : float
        The model FLOPs utilization, in (0, 1].

    Returns
    -------
    float
        Cost per PFLOP-hour (:math:`3.6 \times 10^{18}` FLOPs) of the model.
    """
    return rate / (peak_flops * mfu / 1e15)


@contract(
    "eq-hw-cap-energy",
    average_watts=Real(low=0),
    seconds=Real(low=0),
    rest_watts=Real(low=0),
)
def cap_energy(average_watts, seconds, rest_watts=0.0):
    r"""Energy in kWh of a piece of work done at ``average_watts`` in ``seconds``.

    Implements :eq:`eq-hw-cap-energy`.

    .. math:: E(c) = \left(\bar P(c) + P_\text{rest}\right) t(c)

    Under a power cap :math:`c` the GPU draws less power, :math:`\bar P(c) \le c`,
    but the same work takes longer, :math:`t(c)`. The rest of the server (CPUs,
    memory, network cards, fans), :math:`P_\text{rest}`, is not capped and draws
    for the whole time. With ``rest_watts=0`` this is the energy of the GPU board
    alone (:func:`nnbook.hardware.calculators.energy_kwh`).

    Parameters
    ----------
    average_watts : float
        :math:`\bar P(c)`, the average power of the GPU board, in W.
    seconds : float
        :math:`t(c)`, the time the work takes.
    rest_watts : float, default 0
        :math:`P_\text{rest}`, the power of the rest of the server per GPU, in W.

    Returns
    -------
    float
        kWh.
    """
    return energy_kwh(average_watts + rest_watts, seconds / 3600)


class TinyDecoder(nn.Module):
    """A small decoder-only transformer, written out with ``torch.nn`` layers.

    An embedding, ``layers`` pre-norm blocks (causal self-attention with explicit
    matrix products, then an MLP of width ``4 d``), and a linear head to the
    vocabulary. Attention is written with ``@`` rather than a fused kernel so that
    torch's FLOP counter sees its products.

    Parameters
    ----------
    vocab : int
    d : int
        The width of the residual stream.
    layers : int
    heads : int
        Must divide ``d``.
    """

    def __init__(self, vocab, d, layers, heads):
        super().__init__()
        for name, value in (("vocab", vocab), ("d", d), ("layers", layers)):
            Int(low=1).check(name, value, {}, {})
        Int(low=1).check("heads", heads, {}, {})
        if d % heads:
            raise ValueError(f"heads must divide d={d}, got {heads}")
        self.heads = heads
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(
            nn.ModuleDict(
                {
                    "norm1": nn.LayerNorm(d),
                    "qkv": nn.Linear(d, 3 * d),
                    "proj": nn.Linear(d, d),
                    "norm2": nn.LayerNorm(d),
                    "up": nn.Linear(d, 4 * d),
                    "down": nn.Linear(4 * d, d),
                }
            )
            for _ in range(layers)
        )
        self.head = nn.Linear(d, vocab)

    def _attention(self, block, h):
        B, T, d = h.shape
        q, k, v = block["qkv"](h).chunk(3, dim=-1)  # (B, T, d) each
        q, k, v = (
            x.view(B, T, self.heads, -1).transpose(1, 2) for x in (q, k, v)
        )
        scores = (
            q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        )  # (B, H, T, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=h.device).triu(1)
        weights = scores.masked_fill(causal, float("-inf")).softmax(-1)
        return block["proj"]((weights @ v).transpose(1, 2).reshape(B, T, d))

    def forward(self, tokens):
        """Logits of shape ``(B, T, vocab)`` for integer ``tokens`` of shape ``(B, T)``."""
        h = self.embed(tokens)  # (B, T, d)
        for block in self.blocks:
            h = h + self._attention(block, block["norm1"](h))
            h = h + block["down"](torch.relu(block["up"](block["norm2"](h))))
        return self.head(h)


@contract(model=Instance(nn.Module))
def matmul_parameters(model):
    """The weights of ``model`` that multiply activations: its 2-d ``nn.Linear`` weights.

    Embedding tables (looked up, not multiplied), biases and normalization scales
    are left out, as :eq:`eq-hw-train-flops` leaves them out.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    int
    """
    return sum(
        m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear)
    )


@contract(
    model=Instance(nn.Module), tokens=Tensor("B", "T", dtype="int", low=0)
)
def next_token_step(model, tokens):
    """One forward and backward pass of next-token prediction; returns the loss.

    Gradients are accumulated into the parameters' ``.grad``, as ``loss.backward()``
    does; an optimizer step is left to the caller.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``tokens`` to logits of shape ``(B, T, vocab)``.
    tokens : torch.Tensor
        Integers of shape ``(B, T)``.

    Returns
    -------
    torch.Tensor
        The mean cross-entropy, a detached scalar.
    """
    logits = model(tokens)  # (B, T, vocab)
    loss = nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)
    )
    loss.backward()
    return loss.detach()


@contract(
    model=Instance(nn.Module), tokens=Tensor("B", "T", dtype="int", low=0)
)
def counted_training_flops(model, tokens):
    """FLOPs that torch counts in one training step of ``model`` on ``tokens``.

    One :func:`next_token_step` (forward pass, cross-entropy, backward pass), run
    under :class:`torch.utils.flop_counter.FlopCounterMode`, which counts the matrix
    products (2 FLOPs per multiply-add) and not the element-wise operations. The
    gradients are cleared afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``tokens`` to logits of shape ``(B, T, vocab)``.
    tokens : torch.Tensor
        Integers of shape ``(B, T)``.

    Returns
    -------
    int
    """
    with FlopCounterMode(display=False) as counter:
        next_token_step(model, tokens)
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()
