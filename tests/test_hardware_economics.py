"""nnbook.hardware.economics: 6ND against counted FLOPs, MFU, days, rent or buy, power caps."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from helpers import close_figures  # noqa: F401
from scipy.integrate import quad
from scipy.optimize import brentq
from torch.utils.flop_counter import FlopCounterMode

from nnbook.hardware import calculators, economics
from nnbook.plot.hardware_economics import plot_buy_vs_rent, plot_power_cap

pytestmark = pytest.mark.hardware

COSTS = dict(price=35_000.0, rate=3.0, watts=1_000.0, pue=1.3, price_per_kwh=0.1)
LOADED = dict(resale=5_000.0, interest=0.09, fixed_per_hour=0.6)
OWN = dict(price=41_500.0, years=4.0, watts=1_275.0, pue=1.3, price_per_kwh=0.1)


def _tokens(batch, length, vocab, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (batch, length), generator=g)


@pytest.mark.parametrize(("d", "layers", "heads", "length"), [(16, 1, 2, 8), (32, 3, 4, 24)])
def test_training_flops_with_attention_is_what_torch_counts(d, layers, heads, length):
    torch.manual_seed(0)
    model = economics.TinyDecoder(11, d, layers, heads).double()
    tokens = _tokens(3, length, 11)
    n = economics.matmul_parameters(model)
    counted = economics.counted_training_flops(model, tokens)
    exact = economics.training_flops(n, tokens.numel(), layers=layers, d_model=d, seq_len=length)
    assert counted == exact
    assert counted > economics.training_flops(n, tokens.numel())
    assert all(p.grad is None for p in model.parameters())  # cleared afterwards


def test_6nd_is_what_torch_counts_for_an_mlp_whose_input_needs_a_gradient():
    layers = [torch.nn.Linear(6, 10, bias=False), torch.nn.Linear(10, 3, bias=False)]
    mlp = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1]).double()
    x = torch.randn(9, 6, dtype=torch.float64, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        mlp(x).square().sum().backward()
    assert counter.get_total_flops() == economics.training_flops(6 * 10 + 10 * 3, 9)


def test_matmul_parameters_counts_linear_weights_only():
    model = economics.TinyDecoder(vocab=5, d=8, layers=2, heads=2)
    # per block: qkv 3 d^2, proj d^2, MLP 8 d^2; the head d * vocab
    assert economics.matmul_parameters(model) == 2 * 12 * 64 + 8 * 5


def test_next_token_step_matches_cross_entropy_and_fills_gradients():
    torch.manual_seed(0)
    model = economics.TinyDecoder(7, 8, 1, 2).double()
    tokens = _tokens(2, 6, 7)
    loss = economics.next_token_step(model, tokens)
    logits = model(tokens)
    expected = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, 7), tokens[:, 1:].reshape(-1)
    )
    torch.testing.assert_close(loss, expected.detach())
    assert all(p.grad is not None for p in model.parameters())


def test_tiny_decoder_is_causal():
    torch.manual_seed(0)
    model = economics.TinyDecoder(7, 8, 2, 2).double()
    tokens = _tokens(1, 6, 7)
    changed = tokens.clone()
    changed[0, -1] = (tokens[0, -1] + 1) % 7
    torch.testing.assert_close(model(tokens)[:, :-1], model(changed)[:, :-1])


def test_llama_3_8b_numbers():
    flops = economics.training_flops(7.5e9, 15e12)  # N without the embedding table
    assert flops == pytest.approx(6.75e23)
    days = economics.training_days(flops, 1024, 989e12, 0.4)
    assert days * 24 * 1024 == pytest.approx(flops / (989e12 * 0.4) / 3600)
    mfu = economics.model_flops_utilization(flops, 1.3e6 * 3600, 989e12)
    assert mfu == pytest.approx(0.1458, abs=1e-4)
    # with attention and N without the embedding table, against the 3.1 card
    full = economics.training_flops(7.5e9, 15e12, layers=32, d_model=4096, seq_len=8192)
    assert full == pytest.approx(6 * 7.5e9 * 15e12 * (1 + 2 * 32 * 4096 * 8192 / 7.5e9))
    implied = economics.model_flops_utilization(full, 1.46e6 * 3600, 989e12)
    assert implied == pytest.approx(0.167, abs=1e-3)
    # MFU and training time are inverse to each other
    seconds = days * 86400
    assert economics.model_flops_utilization(flops, seconds, 989e12, 1024) == pytest.approx(0.4)


def _loan_payment(price, interest, years):
    """Yearly payment that repays ``price`` in ``years``, by bisection on the balance."""

    def balance(payment):
        owed = price
        for _ in range(int(years)):
            owed = owed * (1 + interest) - payment
        return owed

    return brentq(balance, 0.0, price * 2, xtol=1e-12)


@pytest.mark.parametrize(("interest", "years"), [(0.09, 4), (0.05, 3), (0.2, 6)])
def test_annuity_factors_repay_a_loan_and_fund_a_resale(interest, years):
    a, b = economics.annuity_factors(interest, years)
    assert a == pytest.approx(_loan_payment(1.0, interest, years) / 1.0, rel=1e-9)
    # b R paid each year into an account at i grows to R after Y years
    grown = sum(b * (1 + interest) ** (years - 1 - k) for k in range(years))
    assert grown == pytest.approx(1.0, rel=1e-12)
    assert economics.annuity_factors(0.0, years) == (1 / years, 1 / years)
    assert economics.annuity_factors(1e-9, years)[0] == pytest.approx(1 / years, rel=1e-6)


def test_ownership_per_hour_in_closed_form():
    a, b = economics.annuity_factors(0.09, 4)
    got = economics.ownership_per_hour(utilization=0.7, **OWN, **LOADED)
    expected = (a * 41_500 - b * 5_000) / 8760 + 0.6 + 0.7 * 1.275 * 1.3 * 0.1
    assert got == pytest.approx(expected, rel=1e-12)
    # without interest, resale and fixed costs: the price written off linearly
    plain = economics.ownership_per_hour(utilization=1.0, **OWN)
    assert plain == pytest.approx(41_500 / (4 * 8760) + 1.275 * 1.3 * 0.1, rel=1e-12)


@pytest.mark.parametrize("decline", [0.0, 0.2, 0.5])
def test_mean_rate_and_rent_paid_integrate_the_falling_rate(decline):
    def rate(hour):
        return 3.0 * (1 - decline) ** (hour / 8760)

    integral, _ = quad(rate, 0, 4 * 8760, epsabs=1e-6)
    assert economics.mean_rate(3.0, 4, decline) * 4 * 8760 == pytest.approx(integral, rel=1e-9)
    paid = economics.rent_paid(4 * 8760, 3.0, 0.7, decline)
    assert paid == pytest.approx(0.7 * integral, rel=1e-9)
    assert economics.rent_paid(0.0, 3.0, 0.7, decline) == 0.0


@pytest.mark.parametrize("years", [1, 2.5, 4])
@pytest.mark.parametrize("decline", [0.0, 0.2, 0.5])
def test_yearly_renewal_is_a_staircase(years, decline):
    # reference: the rate of each hour summed hour by hour, repriced every 8,760 hours
    hours = round(years * 8760)
    hourly = sum(2.0 * (1 - decline) ** (h // 8760) for h in range(hours))
    paid = economics.rent_paid(hours, 2.0, 1.0, decline, yearly=True)
    assert paid == pytest.approx(hourly, rel=1e-12)
    mean = economics.mean_rate(2.0, years, decline, yearly=True)
    assert mean * hours == pytest.approx(hourly, rel=1e-12)


def test_yearly_renewal_of_the_page():
    # 2.00 USD renewed for four years at 20 % less each year
    mean = economics.mean_rate(2.0, 4, 0.2, yearly=True)
    assert mean == pytest.approx(2.0 * (1 + 0.8 + 0.64 + 0.512) / 4, rel=1e-12)
    assert mean / 0.7 == pytest.approx(2.109, abs=1e-3)
    # a renewal pays more than a rate falling continuously, which starts falling at once
    assert mean > economics.mean_rate(2.0, 4, 0.2)
    # inside the first year the rate has not moved yet
    assert economics.rent_paid(4380, 2.0, 1.0, 0.2, yearly=True) == pytest.approx(8760.0)


@pytest.mark.parametrize(("extra", "decline"), [({}, 0.0), (LOADED, 0.0), (LOADED, 0.1)])
def test_breakeven_utilization_is_where_owning_and_renting_cost_the_same(extra, decline):
    own = dict(COSTS, **extra)
    u = economics.breakeven_utilization(years=4, decline=decline, **own)
    rent = economics.mean_rate(3.0, 4, decline)
    kept = {k: v for k, v in own.items() if k != "rate"}

    def gap(util):
        owned = economics.ownership_per_hour(years=4, utilization=util, **kept)
        return owned - util * rent

    assert u == pytest.approx(brentq(gap, 1e-6, 1.0, xtol=1e-13), rel=1e-9)


def test_breakeven_utilization_reduces_to_the_first_edition_formula():
    u = economics.breakeven_utilization(years=4, **COSTS)
    assert u == pytest.approx(35_000 / (4 * 8760 * (3.0 - 0.13)), rel=1e-12)


def test_breakeven_is_infinite_when_electricity_costs_more_than_the_rent():
    costs = dict(COSTS, rate=0.1)  # 1 kW x 1.3 x 0.1 USD = 0.13 USD an hour
    assert economics.breakeven_utilization(years=4, **costs) == math.inf


def test_cost_per_pflop_hour_counts_the_flops_of_an_hour():
    # one GPU-hour at 989 TFLOP/s and 40 %: 989e12 * 0.4 * 3600 FLOPs
    pflop_hours = 989e12 * 0.4 * 3600 / 3.6e18
    assert economics.cost_per_pflop_hour(3.0, 989e12, 0.4) == pytest.approx(3.0 / pflop_hours)


def test_cap_energy_uses_the_calculators_arithmetic():
    assert economics.cap_energy(250.0, 3600.0) == calculators.energy_kwh(250.0, 1.0)
    assert economics.cap_energy(220.25, 3514.99) == pytest.approx(220.25 * 3514.99 / 3.6e6)
    with_rest = economics.cap_energy(144.59, 4148.66, 94.4)
    assert with_rest == pytest.approx((144.59 + 94.4) * 4148.66 / 3.6e6, rel=1e-12)


def test_the_rest_of_the_server_shrinks_the_saving_of_a_cap():
    data = economics.ZEUS_V100_RESNET50
    rest = 0.3 / 0.7 * data[250][1]
    board = economics.cap_energy(*reversed(data[150])) / economics.cap_energy(*reversed(data[250]))
    server = economics.cap_energy(*reversed(data[150]), rest) / economics.cap_energy(
        *reversed(data[250]), rest
    )
    assert board == pytest.approx(0.775, abs=1e-3)
    assert server == pytest.approx(0.897, abs=2e-3)


def test_zeus_data_has_an_energy_minimum_inside_the_range():
    data = economics.ZEUS_V100_RESNET50
    caps = sorted(data)
    energy = [economics.cap_energy(w, s) for s, w in (data[c] for c in caps)]
    assert all(data[c][1] < c for c in caps)  # average power below the cap
    assert [data[c][0] for c in caps] == sorted((data[c][0] for c in caps), reverse=True)
    assert caps[energy.index(min(energy))] == 150


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: economics.training_flops(0, 10), ValueError, r"n_params"),
        (lambda: economics.training_flops(1e9, math.nan), ValueError, r"n_tokens"),
        (lambda: economics.training_flops(1e9, 1e9, layers=1.5), TypeError, r"layers"),
        (lambda: economics.model_flops_utilization(1e9, 0.0, 1e12), ValueError, r"seconds"),
        (lambda: economics.model_flops_utilization(1e9, 1.0, 1e12, 0), ValueError, r"devices"),
        (lambda: economics.training_days(1e20, 8, 1e15, 1.5), ValueError, r"mfu"),
        (lambda: economics.training_days(1e20, 8, 1e15, 0.0), ValueError, r"mfu"),
        (lambda: economics.training_days(1e20, 8, "fast", 0.4), TypeError, r"peak_flops"),
        (lambda: economics.ownership_per_hour(utilization=0.0, **OWN), ValueError, r"utilization"),
        (
            lambda: economics.ownership_per_hour(utilization=1.0, **dict(OWN, pue=0.9)),
            ValueError,
            r"pue",
        ),
        (lambda: economics.breakeven_utilization(years=-1, **COSTS), ValueError, r"years"),
        (
            lambda: economics.breakeven_utilization(years=4, decline=1.0, **COSTS),
            ValueError,
            r"decline",
        ),
        (
            lambda: economics.ownership_per_hour(utilization=1.0, resale=-1, **OWN),
            ValueError,
            "resale",
        ),
        (lambda: economics.annuity_factors(math.nan, 4), ValueError, r"interest"),
        (lambda: economics.mean_rate(3.0, 0, 0.1), ValueError, r"years"),
        (lambda: economics.rent_paid(-1.0, 3.0), ValueError, r"hours"),
        (lambda: economics.rent_paid(1.0, 3.0, yearly=1), TypeError, r"yearly must be a bool"),
        (lambda: economics.mean_rate(3.0, 4, 0.2, yearly="yes"), TypeError, r"yearly"),
        (lambda: economics.cost_per_pflop_hour(3.0, 989e12, 0.0), ValueError, r"mfu"),
        (lambda: economics.cost_per_pflop_hour("3", 989e12, 0.4), TypeError, r"rate"),
        (lambda: economics.cap_energy(100.0, 10.0, -5.0), ValueError, r"rest_watts"),
        (lambda: economics.cap_energy(math.nan, 10.0), ValueError, r"average_watts"),
        (lambda: economics.TinyDecoder(10, 10, 1, 3), ValueError, r"heads must divide d=10, got 3"),
        (lambda: economics.TinyDecoder(10, 0, 1, 1), ValueError, r"\bd\b"),
        (lambda: economics.counted_training_flops("model", _tokens(1, 3, 5)), TypeError, r"model"),
        (
            lambda: economics.next_token_step(economics.TinyDecoder(5, 4, 1, 1), torch.zeros(2, 3)),
            TypeError,
            r"tokens",
        ),
    ],
)
def test_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_plot_buy_vs_rent_draws_one_line_per_option_and_the_breakeven():
    ax = plot_buy_vs_rent([0, 1, 2], {"buy": [3, 3.1, 3.2], "rent": [0, 2, 4]}, breakeven=1.5)
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["buy", "rent"]
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert len(dotted) == 1 and dotted[0].get_xdata()[0] == 1.5
    assert ax.get_xlabel() == "months" and ax.get_ylabel() == "thousand USD"
    assert list(ax.get_lines()[1].get_ydata()) == [0, 0.002, 0.004]  # in thousands
    ax = plot_buy_vs_rent([0, 1], {"a": [10, 20]}, scale=1, ylabel="USD")
    assert list(ax.get_lines()[0].get_ydata()) == [10, 20]
    _, given = plt.subplots()
    assert plot_buy_vs_rent([0, 1], {"rent": [0, 1]}, ax=given) is given


def test_plot_power_cap_draws_time_energy_and_the_reference_line():
    ax = plot_power_cap([100, 200], [1.5, 1.0], [0.9, 1.0], title="t")
    assert [line.get_label() for line in ax.get_lines()][:2] == ["time", "energy, GPU board"]
    assert list(ax.get_lines()[1].get_ydata()) == [0.9, 1.0]
    assert ax.get_xlabel() == "power cap (W)" and ax.get_title() == "t"
    ax = plot_power_cap([100, 200], [1.5, 1.0], [0.9, 1.0], server_ratio=[0.95, 1.0])
    assert ax.get_lines()[2].get_label() == "energy, whole server"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: plot_buy_vs_rent([0, 1], [1, 2]), TypeError, r"costs must be a dict, got list"),
        (lambda: plot_buy_vs_rent([0, 1], {}), ValueError, r"costs must hold at least one entry"),
        (
            lambda: plot_buy_vs_rent([1, 0], {"a": [1, 2]}),
            ValueError,
            r"months must hold at least two increasing",
        ),
        (
            lambda: plot_buy_vs_rent([0, 1], {"a": [1]}),
            ValueError,
            r"costs\['a'\] must hold one value per entry of months \(2\), got 1",
        ),
        (
            lambda: plot_buy_vs_rent([0, 1], {"a": [1, 2]}, breakeven="soon"),
            TypeError,
            r"breakeven must be a number",
        ),
        (
            lambda: plot_buy_vs_rent([0, 1], {"a": [1, 2]}, ax=3),
            TypeError,
            r"ax must be a matplotlib Axes",
        ),
        (
            lambda: plot_power_cap([1, 2], [1], [1, 2]),
            ValueError,
            r"time_ratio must hold one value per entry of caps",
        ),
        (lambda: plot_power_cap("caps", [1], [1]), TypeError, r"caps must be a tensor"),
        (
            lambda: plot_power_cap([1, 2], [1, 2], [1, 2], server_ratio=[1]),
            ValueError,
            r"server_ratio must hold one value per entry of caps",
        ),
        (
            lambda: plot_buy_vs_rent([0, 1], {"a": [1, 2]}, scale=0),
            ValueError,
            r"scale must be positive",
        ),
        (
            lambda: plot_buy_vs_rent([0, 1], {"a": [1, 2]}, scale="k"),
            TypeError,
            r"scale must be a number",
        ),
    ],
)
def test_plot_arguments_are_checked(call, error, message):
    with pytest.raises(error, match=message):
        call()
