"""Samples and references for the contracts of the data path, prefetching, profiling
and power pages of the hardware chapter (nnbook.hardware.calculators, .prefetch,
.profiling).

Each reference is written independently of the function it checks: exact fractions
for the arithmetic, a simulated time line for the epoch model, and a simulated
steady state of k parallel loaders for the wait share.
"""

from fractions import Fraction

import torch

H = "nnbook.hardware."


def _ram(mega_transfers, bus_bits=64, channels=1):
    bytes_per_transfer = Fraction(bus_bits, 8)
    return float(Fraction(mega_transfers) * 10**6 * bytes_per_transfer * channels)


def _pcie(generation, lanes=16):
    # GT/s per lane, then the line code: payload bits out of transmitted bits
    rate, payload, sent = {
        1: (Fraction(5, 2), 8, 10),
        2: (5, 8, 10),
        3: (8, 128, 130),
        4: (16, 128, 130),
        5: (32, 128, 130),
        6: (64, 256 - 8 - 6, 256),  # a flit less its CRC and error correction
    }[generation]
    return float(rate * 10**9 * Fraction(payload, sent) * lanes / 8)


def _psu(gpu_watts, cpu_watts, margin=200):
    cards = list(gpu_watts) if isinstance(gpu_watts, list | tuple) else [gpu_watts]
    total = margin + cpu_watts
    for watts in cards:
        total += watts
    return total


def _timeline(n, load, compute):
    """Both epochs, simulated batch by batch."""
    sequential = 0.0
    for _ in range(n):
        sequential += load + compute
    loaded, free = 0.0, 0.0  # when batch k is loaded; when computing is free
    for _ in range(n):
        loaded += load  # one loader, never blocked (room for a batch)
        free = max(free, loaded) + compute
    return sequential, free


def _steady_share(load, compute, workers=0):
    """Wait share of the second hundred rounds of a simulated loop with k loaders."""
    if workers == 0:
        return load / (load + compute) if load + compute > 0 else 0.0
    ready = [load * (1 + j // workers) for j in range(200 * workers)]  # round robin
    now, waited, start = 0.0, 0.0, 0.0
    for k in range(200 * workers):
        if k == 100 * workers:
            waited, start = 0.0, now
        wait = max(0.0, ready[k] - now)
        waited += wait
        now += wait + compute
    span = now - start
    return waited / span if span > 0 else 0.0


SAMPLES = {
    H + "profiling.profile_loader": lambda: (
        ([torch.zeros(2)] * 4, lambda batch: None),
        {"steps": 2, "warmup": 1, "rows": 3},
    ),
    H + "profiling.SlowBatches.__init__": lambda: (
        (torch.zeros(3, 2, 2), torch.zeros(3, 2), 0.0),
        {},
    ),
    H + "profiling.SlowDataset.__init__": lambda: (
        (torch.zeros(3, 2), torch.zeros(3), 0.0),
        {},
    ),
}

REFERENCES = {
    H + "calculators.data_rate": lambda s, t: float(Fraction(s) / Fraction(t)),
    H + "calculators.transfer_time": lambda s, b: float(Fraction(s) / Fraction(b)),
    H + "calculators.ram_bandwidth": _ram,
    H + "calculators.pcie_bandwidth": _pcie,
    H + "calculators.psu_watts": _psu,
    H + "calculators.energy_kwh": lambda w, h: float(Fraction(w) * Fraction(h) / 1000),
    H + "calculators.wall_energy": lambda e, eta: float(Fraction(e) / Fraction(eta)),
    H + "calculators.energy_cost": lambda e, p: float(Fraction(e) * Fraction(p)),
    # prefetch.epoch_times returns a pair: checked against _timeline in
    # tests/test_hardware_datapath.py, both times at once
    H + "profiling.wait_share": _steady_share,
}
