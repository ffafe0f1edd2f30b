"""nnbook.hardware.memory: the memory calculator, checked against counted allocations."""

import math

import matplotlib
import pytest
import torch

from nnbook.hardware import calculators, memory
from nnbook.hardware.memory import GPTBlock, PeakMemory, ResidualMLP
from nnbook.plot import hardware_memory as plot

matplotlib.use("Agg")
pytestmark = pytest.mark.hardware


# --- the state of the optimizer ---------------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "precision", "per_param"),
    [
        ("sgd", "float32", 8),
        ("momentum", "float32", 12),
        ("adam", "float32", 16),
        ("adam", "float64", 32),
        ("sgd", "bfloat16", 2 + 2 + 4),
        ("momentum", "float16", 2 + 2 + 4 + 4),
        ("adam", "bfloat16", 2 + 2 + 4 + 4 + 4),
    ],
)
def test_state_bytes_per_parameter(optimizer, precision, per_param):
    assert memory.state_bytes(1, optimizer, precision) == per_param
    assert sum(memory.state_parts(10, optimizer, precision)) == 10 * per_param


def test_state_setups_in_use():
    # ZeRO 16; Megatron-Core 18 (float32 grads) and 20 (16-bit + float32 grads);
    # 8-bit Adam 10; bfloat16 moments without a master copy 8
    per_param = {
        name: memory.state_bytes(1, "adam", precision, **options)
        for name, (precision, options) in memory.STATE_SETUPS.items()
    }
    assert sorted(per_param.values()) == [8, 10, 16, 16, 18, 20]
    assert memory.state_parts(1, "adam", "bfloat16", grad_bytes=4) == (2, 4, 12)
    assert memory.state_parts(1, "adam", "bfloat16", moment_bytes=1) == (2, 2, 6)
    assert memory.state_parts(1, "adam", "bfloat16", moment_bytes=2, master=False) == (
        2,
        2,
        4,
    )
    # a float32 master copy added to float32 training: 4 + 4 + (4 + 8)
    assert memory.state_bytes(1, "adam", "float32", master=True) == 20


def test_state_options_by_tensors():
    """The options agree with the bytes of the tensors they describe."""
    n = 1000
    weights = torch.zeros(n, dtype=torch.bfloat16)
    grads = torch.zeros(n, dtype=torch.float32)
    master = torch.zeros(n, dtype=torch.float32)
    moments = [torch.zeros(n, dtype=torch.uint8) for _ in range(2)]
    total = weights.nbytes + grads.nbytes + master.nbytes + sum(m.nbytes for m in moments)
    assert memory.state_bytes(n, "adam", "bfloat16", grad_bytes=4, moment_bytes=1) == total


def test_adam_state_agrees_with_the_calculator_and_zero():
    for precision in ("float32", "float64", *calculators.MIXED_PRECISION):
        assert memory.state_bytes(12345, "adam", precision) == calculators.adam_memory(
            12345, precision
        )
    # ZeRO: 2 + 2 + K bytes, K = 12 for mixed-precision Adam; 7B parameters: 112 GB
    assert memory.state_parts(1, "adam", "float16") == (2, 2, 12)
    assert memory.state_bytes(7 * 10**9, "adam", "bfloat16") == 112 * calculators.GB


def test_state_bytes_messages():
    with pytest.raises(
        ValueError, match="optimizer must be one of sgd, momentum, adam, got 'rmsprop'"
    ):
        memory.state_bytes(10, "rmsprop")
    with pytest.raises(ValueError, match="n_params"):
        memory.state_bytes(-1)
    with pytest.raises(TypeError, match="n_params"):
        memory.state_bytes(1.5)
    with pytest.raises(ValueError, match="activations"):
        memory.training_memory(10, math.nan)
    with pytest.raises(ValueError, match="grad_bytes"):
        memory.state_bytes(10, grad_bytes=0)
    with pytest.raises(TypeError, match="moment_bytes"):
        memory.state_parts(10, moment_bytes=1.5)
    with pytest.raises(TypeError, match="master"):
        memory.state_bytes(10, master=1)


# --- activations and the KV cache -------------------------------------------------


def test_transformer_activations_closed_form():
    s, b, h, a, layers = 2048, 1, 4096, 32, 32
    stored = memory.transformer_activation_bytes(s, b, h, a, layers, fused_attention=False)
    assert stored == layers * s * b * h * (34 + 5 * a * s // h)  # Korthikanti et al.
    fused = memory.transformer_activation_bytes(s, b, h, a, layers)
    assert fused == layers * (34 * s * b * h + 4 * a * s * b)
    plain = memory.transformer_activation_bytes(s, b, h, a, layers, dropout=False)
    assert plain == layers * (32 * s * b * h + 4 * a * s * b)
    no_dropout_stored = memory.transformer_activation_bytes(
        s, b, h, a, layers, fused_attention=False, dropout=False
    )
    assert no_dropout_stored == layers * (32 * s * b * h + 2 * a * s * s * b)
    ckpt = memory.transformer_activation_bytes(s, b, h, a, layers, recompute=True)
    assert ckpt == 2 * layers * s * b * h + fused // layers
    assert ckpt < fused / 10 < stored / 30


def _layer_norm_stats(block, s, b, dtype):
    """Mean and 1/std of each layer norm, one number per token, in ``dtype``."""
    return 2 * 2 * s * b * torch.empty((), dtype=dtype).element_size()


@pytest.mark.parametrize("fused", [True, False])
def test_transformer_activations_match_the_saved_tensors_of_a_gpt_layer(fused):
    """Count what autograd saves in one bfloat16 GPT layer without dropout."""
    s, b, h, a = 64, 2, 128, 4
    torch.manual_seed(0)
    block = GPTBlock(h, a, fused_attention=fused).to(torch.bfloat16)
    x = torch.randn(b, s, h, dtype=torch.bfloat16, requires_grad=True)
    out, kept = memory.saved_tensor_bytes(block, x, exclude=list(block.parameters()))
    assert out.shape == x.shape
    formula = memory.transformer_activation_bytes(s, b, h, a, fused_attention=fused, dropout=False)
    assert kept - _layer_norm_stats(block, s, b, torch.bfloat16) == formula


def test_gpt_layer_count_scales_with_the_format_in_float64():
    """In float64 every 16-bit tensor of the count takes four times the bytes."""
    s, b, h, a = 32, 2, 64, 4
    kept = {}
    for dtype in (torch.bfloat16, torch.float64):
        torch.manual_seed(0)
        block = GPTBlock(h, a, fused_attention=False).to(dtype)
        x = torch.randn(b, s, h, dtype=dtype, requires_grad=True)
        _, n = memory.saved_tensor_bytes(block, x, exclude=list(block.parameters()))
        kept[dtype] = n - _layer_norm_stats(block, s, b, dtype)
    assert kept[torch.float64] == 4 * kept[torch.bfloat16]


def test_gpt_block_fused_and_written_out_attention_agree_in_float64():
    torch.manual_seed(0)
    fused = GPTBlock(32, 4).double()
    eager = GPTBlock(32, 4, fused_attention=False).double()
    eager.load_state_dict(fused.state_dict())
    x = torch.randn(2, 16, 32, dtype=torch.float64)
    torch.testing.assert_close(fused(x), eager(x))
    # causal: the first position does not see the others
    y = x.clone()
    y[:, 1:] = 0
    torch.testing.assert_close(fused(x)[:, 0], fused(y)[:, 0])


def test_gpt_block_and_saved_tensor_messages():
    with pytest.raises(ValueError, match="heads must divide hidden, got hidden=10, heads=4"):
        GPTBlock(10, 4)
    with pytest.raises(TypeError, match="fused_attention"):
        GPTBlock(8, 2, fused_attention="yes")
    with pytest.raises(TypeError, match="fn must be callable, got int"):
        memory.saved_tensor_bytes(3, torch.zeros(2))
    with pytest.raises(TypeError, match="exclude must hold tensors, got str at position 0"):
        memory.saved_tensor_bytes(torch.sin, torch.zeros(2), exclude=["w"])


def test_saved_tensor_bytes_counts_each_storage_once():
    w = torch.randn(10, requires_grad=True)

    def f(x):
        y = torch.sin(x * w)  # mul saves x and w; sin saves its input
        return y * y  # y saved twice, counted once

    x = torch.randn(10)
    _, n = memory.saved_tensor_bytes(f, x, exclude=[w])
    assert n == x.nbytes + 2 * 40  # x, the product x * w, y


def test_mlp_activations_closed_form():
    b, d, f, L, C = 4, 3, 5, 2, 7
    assert memory.mlp_activation_bytes(b, d, f, L, C) == 4 * b * (L * (d + f) + C)
    assert memory.mlp_activation_bytes(b, d, f, L, C, "bfloat16", True) == 2 * b * (L * d + C + f)


def test_kv_cache_llama3():
    # Llama 3 8B: 32 layers, 8 key-value heads of dimension 128; 70B: 80 layers
    per_token_8b = memory.kv_cache_bytes(32, 8, 128, 1)
    assert per_token_8b == 131072  # 128 KiB per token in bfloat16
    assert memory.kv_cache_bytes(80, 8, 128, 8192) == 80 * 2 * 8 * 128 * 2 * 8192
    # multi-head attention (32 key-value heads) would need four times as much
    assert memory.kv_cache_bytes(32, 32, 128, 1) == 4 * per_token_8b
    assert memory.kv_cache_bytes(32, 8, 128, 0) == 0
    # Llama 3.1 70B: 8 kv heads split over t devices, copied beyond t = 8
    per_device = [memory.kv_cache_bytes(80, 8, 128, 1, tensor_parallel=t) for t in (1, 2, 8, 16)]
    assert per_device == [327680, 163840, 40960, 40960]
    assert memory.kv_cache_bytes(2, 3, 4, 5, tensor_parallel=2) == 2 * 2 * 2 * 4 * 5 * 2


def test_kv_cache_messages():
    with pytest.raises(ValueError, match="kv_heads"):
        memory.kv_cache_bytes(32, 0, 128, 10)
    with pytest.raises(ValueError, match="dtype must be one of"):
        memory.kv_cache_bytes(32, 8, 128, 10, dtype="int4")
    with pytest.raises(ValueError, match="tensor_parallel"):
        memory.kv_cache_bytes(32, 8, 128, 10, tensor_parallel=0)


def test_training_memory_is_state_plus_activations():
    assert memory.training_memory(10, 100.0) == 16 * 10 + 100.0
    assert memory.training_memory(10, 0, "sgd", "float64") == 16 * 10


# --- the counter ------------------------------------------------------------------


def test_peak_memory_counts_known_allocations():
    with PeakMemory() as mem:
        a = torch.empty(1000)  # 4,000 bytes
        b = torch.zeros(10, 10, dtype=torch.float64)  # 800 bytes
        view = a[:10].view(2, 5)  # a view allocates nothing
        a.add_(1.0)  # nor does an in-place operation
        assert mem.live == 4800
        del a, view
        assert mem.live == 800
        c = torch.ones(250, dtype=torch.int8)
        assert mem.live == 1050
        assert mem.peak == 4800
        assert "zeros" in mem.peak_op  # b's allocation set the peak
        mem.reset_peak()
        assert mem.peak == 1050
        assert mem.peak_op is None
    del b, c


def test_peak_memory_counts_tensors_given_and_frees_autograd_buffers():
    w = torch.randn(100, 100, requires_grad=True)
    with PeakMemory([w]) as mem:
        assert mem.live == w.nbytes
        x = torch.randn(64, 100)
        y = torch.tanh(x @ w)  # tanh keeps its output for the backward pass
        y.sum().backward()
        del y
        assert mem.live == w.nbytes + x.nbytes + w.grad.nbytes


def test_peak_memory_message():
    with pytest.raises(TypeError, match="tensors must be tensors"):
        PeakMemory([torch.zeros(2), 3])


def test_residual_mlp_message():
    with pytest.raises(ValueError, match="hidden"):
        ResidualMLP(4, 0, 2, 3)
    with pytest.raises(TypeError, match="checkpoint"):
        ResidualMLP(4, 8, 2, 3, checkpoint=1)


def test_checkpointing_gives_the_same_gradients_in_float64():
    torch.manual_seed(0)
    plain = ResidualMLP(6, 12, 3, 4).double()
    ckpt = ResidualMLP(6, 12, 3, 4, checkpoint=True).double()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(5, 6, dtype=torch.float64)
    for model in (plain, ckpt):
        model(x).square().sum().backward()
    for p, q in zip(plain.parameters(), ckpt.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad)


@pytest.mark.parametrize("checkpoint", [False, True])
def test_measured_peak_is_close_to_the_calculator(checkpoint):
    torch.manual_seed(0)
    b, d, f, L, C = 256, 64, 256, 4, 10
    model = ResidualMLP(d, f, L, C, checkpoint=checkpoint)
    x, y = torch.randn(b, d), torch.randint(0, C, (b,))
    steps = memory.training_peaks(model, x, y, steps=2, detail=True)
    n = sum(p.numel() for p in model.parameters())
    acts = memory.mlp_activation_bytes(b, d, f, L, C, checkpoint=checkpoint)
    predicted = memory.training_memory(n, acts) + x.nbytes + y.nbytes
    assert steps[0]["peak"] < steps[1]["peak"]  # Adam's moments exist from step 1 on
    assert 0.9 < steps[1]["peak"] / predicted < 1.15
    assert steps[1]["start"] == 12 * n + x.nbytes + y.nbytes  # weights and moments
    assert "backward" in steps[1]["op"]  # the peak falls inside the backward pass


def test_mlp_forward_keeps_what_the_equation_counts():
    """Saved tensors of one forward pass and its loss: the equation, batch excluded."""
    torch.manual_seed(0)
    b, d, f, L, C = 8, 4, 16, 3, 5
    model = ResidualMLP(d, f, L, C).double()
    x, y = torch.randn(b, d, dtype=torch.float64), torch.randint(0, C, (b,))
    params = list(model.parameters())

    def loss(x):
        return torch.nn.functional.cross_entropy(model(x), y)

    _, kept = memory.saved_tensor_bytes(loss, x, exclude=[*params, y])
    total_weight = 8  # nll_loss keeps one float64 scalar besides the log-softmax
    expected = memory.mlp_activation_bytes(b, d, f, L, C, "float64")
    assert kept - x.nbytes - total_weight == expected


def test_training_peaks_messages():
    model = ResidualMLP(4, 8, 1, 3)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        memory.training_peaks(model, torch.zeros(5, 4), torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        memory.training_peaks(model, [1.0], torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match="steps"):
        memory.training_peaks(model, torch.zeros(1, 4), torch.zeros(1, dtype=torch.long), 0)
    with pytest.raises(TypeError, match="detail"):
        memory.training_peaks(
            model, torch.zeros(1, 4), torch.zeros(1, dtype=torch.long), detail="yes"
        )


# --- figures ----------------------------------------------------------------------


def test_plot_memory_parts():
    bars = {"a": {"weights": 2e9, "activations": 1e9}, "b": {"optimizer": 3e9}}
    ax = plot.plot_memory_parts(bars)
    assert len(ax.patches) == 6  # three parts drawn, two bars each
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="parts among"):
        plot.plot_memory_parts({"a": {"cache": 1.0}})
    with pytest.raises(ValueError, match="at least 0"):
        plot.plot_memory_parts({"a": {"weights": -1.0}})
    with pytest.raises(TypeError, match="bars must be a dict"):
        plot.plot_memory_parts([1])


def test_plot_kv_cache():
    ax = plot.plot_kv_cache([1, 10], {"m": [1e9, 1e10]}, levels={"weights": 5e9})
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="must have shape"):
        plot.plot_kv_cache([1, 10], {"m": [1e9]})
    with pytest.raises(ValueError, match="contexts must be positive"):
        plot.plot_kv_cache([0, 10], {"m": [1e9, 1e9]})


def test_cuda_training_peak_needs_a_gpu_tensor():
    model = ResidualMLP(4, 8, 1, 3)
    with pytest.raises(ValueError, match="x must be on a CUDA device, got cpu"):
        memory.cuda_training_peak(model, torch.zeros(2, 4), torch.zeros(2, dtype=torch.long))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_training_step_is_close_to_the_counted_step():
    torch.manual_seed(0)
    model = ResidualMLP(64, 256, 4, 10)
    x, y = torch.randn(256, 64), torch.randint(0, 10, (256,))
    counted = memory.training_peaks(model, x, y, steps=2, detail=True)[1]
    step = counted["peak"] - counted["start"]
    gpu = memory.cuda_training_peak(model.cuda(), x.cuda(), y.cuda())
    assert gpu["step"] == gpu["peak"] - gpu["baseline"]
    assert gpu["step"] >= 0.8 * step  # a cuBLASLt workspace may add more
    assert gpu["reserved"] >= gpu["peak"]
