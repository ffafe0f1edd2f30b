"""Samples and references for the contracts of nnbook.hardware.launch."""

L = "nnbook.hardware.launch."


def _simulated_step(kernels, t_kernel, t_launch, graph=False):
    """A step's seconds from a kernel-by-kernel simulation of the launch queue.

    The CPU issues launch i when launch i - 1 is done; the GPU starts kernel i when
    it has been launched and kernel i - 1 has finished. A graph is one launch.
    """
    launched, finished = 0.0, 0.0
    for i in range(kernels):
        if not graph or i == 0:
            launched += t_launch
        finished = max(launched, finished) + t_kernel
    return finished


SAMPLES = {
    L + "fit_launch": lambda: (((1.0, 10.0, 100.0), (2e-6, 3e-6, 1.2e-5)), {}),
    L + "per_call_seconds": lambda: ((lambda: None,), {"calls": 2, "repeats": 1}),
}

REFERENCES = {
    L + "call_time": lambda work, t_launch, rate: t_launch + work * (1 / rate),
    L + "step_time": _simulated_step,
}
