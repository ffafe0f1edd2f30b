"""The memory of training and inference: what a calculator predicts, and a way to count it.

Training keeps, for every parameter, its weight, its gradient and the optimizer's state
(:func:`state_bytes`), and, for every example of the mini-batch, the activations that
the backward pass needs (:func:`transformer_activation_bytes` for a transformer layer,
:func:`mlp_activation_bytes` for the residual MLP that the book measures). Inference
keeps the weights and the keys and values of past tokens (:func:`kv_cache_bytes`).
:class:`PeakMemory` counts the bytes of the tensors a computation really allocates, so
the calculator can be checked against a real training step.

Bytes are plain bytes; divide by ``GB`` (:math:`10^9`) for decimal GB.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.checkpoint import checkpoint as _checkpoint
from torch.utils.weak import WeakIdKeyDictionary

from nnbook.contract import Choice, Flag, Int, Real, contract
from nnbook.hardware.calculators import BYTES_PER_ELEMENT, MIXED_PRECISION

__all__ = [
    "GPTBlock",
    "OPTIMIZER_MOMENTS",
    "PeakMemory",
    "ResidualMLP",
    "STATE_SETUPS",
    "cuda_training_peak",
    "kv_cache_bytes",
    "mlp_activation_bytes",
    "saved_tensor_bytes",
    "state_bytes",
    "state_parts",
    "training_memory",
    "training_peaks",
    "transformer_activation_bytes",
]

#: Values per parameter that each optimizer keeps between steps.
OPTIMIZER_MOMENTS = {"sgd": 0, "momentum": 1, "adam": 2}

#: Adam setups in use, as ``{name: (precision, options)}``: the arguments of
#: :func:`state_parts` that give each one's bytes per parameter. ZeRO's count
#: (Rajbhandari et al., 2020), the two 16-bit setups that Megatron-Core documents
#: (float32 gradients; 16-bit gradients plus a float32 copy of them), 16-bit moments
#: without a master copy (Zamirai et al., 2020), and 8-bit moments (Dettmers et al.,
#: 2022).
STATE_SETUPS = {
    "float32 (torch.optim)": ("float32", {}),
    "mixed, ZeRO's count": ("bfloat16", {}),
    "mixed, float32 gradients": ("bfloat16", {"grad_bytes": 4}),
    "mixed, 16-bit and float32 gradients": ("float16", {"grad_bytes": 6}),
    "bfloat16 moments, no master": (
        "bfloat16",
        {"moment_bytes": 2, "master": False},
    ),
    "8-bit moments, float32 master": ("bfloat16", {"moment_bytes": 1}),
}

_PRECISIONS = ("float64", "float32", *MIXED_PRECISION)
_COUNT = Int(low=1)
_STATE_SPECS = {
    "n_params": Int(low=0),
    "optimizer": Choice(*OPTIMIZER_MOMENTS),
    "precision": Choice(*_PRECISIONS),
    "grad_bytes": Int(low=1, optional=True),
    "moment_bytes": Int(low=1, optional=True),
    "master": Flag(optional=True),
}


@contract(**_STATE_SPECS)
def state_parts(
    n_params,
    optimizer="adam",
    precision="float32",
    *,
    grad_bytes=None,
    moment_bytes=None,
    master=None,
):
    r"""Bytes of weights, gradients and optimizer state, one number each.

    The parts of :func:`state_bytes`, in the same units: see equation
    :eq:`eq-hw-state-memory` for the rule, and :data:`STATE_SETUPS` for the options
    of setups in use.

    Parameters
    ----------
    n_params : int
    optimizer : {"sgd", "momentum", "adam"}, default "adam"
    precision : {"float64", "float32", "bfloat16", "float16"}, default "float32"
        The format of the weights; "bfloat16" and "float16" mean mixed precision.
    grad_bytes : int, optional
        Bytes of gradient storage per parameter, all copies together. By default
        those of ``precision``; 4 for float32 gradients of 16-bit weights, 6 for
        16-bit gradients plus a float32 copy.
    moment_bytes : int, optional
        Bytes of each optimizer moment per parameter. By default 4 in mixed
        precision, otherwise those of ``precision``; 2 for bfloat16 moments, 1 for
        8-bit moments.
    master : bool, optional
        Whether the optimizer keeps a float32 master copy of the weights. By
        default True in mixed precision and False otherwise.

    Returns
    -------
    tuple
        ``(weights, gradients, optimizer)`` in bytes, three ints.
    """
    k = OPTIMIZER_MOMENTS[optimizer]
    beta = BYTES_PER_ELEMENT[precision]
    mixed = precision in MIXED_PRECISION
    if grad_bytes is None:
        grad_bytes = beta
    if moment_bytes is None:
        moment_bytes = 4 if mixed else beta
    if master is None:
        master = mixed
    optim = 4 * bool(master) + k * moment_bytes
    return beta * n_params, grad_bytes * n_params, optim * n_params


@contract(
    "eq-hw-state-memory",
    reference="the bytes of torch.optim's parameters, gradients and state",
    **_STATE_SPECS,
)
def state_bytes(
    n_params,
    optimizer="adam",
    precision="float32",
    *,
    grad_bytes=None,
    moment_bytes=None,
    master=None,
):
    r"""Bytes of weights, gradients and optimizer state. Implements :eq:`eq-hw-state-memory`.

    .. math::
        M_\text{state} = N \, (b_w + b_g + b_o)

    In one format of :math:`\beta` bytes, :math:`b_w = b_g = \beta` and
    :math:`b_o = k \beta`, with :math:`k` = 0 (SGD), 1 (momentum) or 2 (Adam's two
    moments). In mixed precision the weights are 16-bit (:math:`b_w = 2`) and, by
    default, so are the gradients; the optimizer keeps a float32 master copy besides
    its float32 moments, :math:`b_o = 4 (1 + k)`: Adam needs 2 + 2 + 12 = 16 bytes
    per parameter, the count of Rajbhandari et al. (ZeRO, 2020) and the least of the
    mixed-precision setups in use. Float32 gradients make it 18, 8-bit moments 10,
    bfloat16 moments without a master copy 8 (see :data:`STATE_SETUPS`).

    Parameters
    ----------
    n_params : int
        Number of parameters :math:`N`.
    optimizer : {"sgd", "momentum", "adam"}, default "adam"
    precision : {"float64", "float32", "bfloat16", "float16"}, default "float32"
        The format of the weights in the forward pass; "bfloat16" and "float16" mean
        mixed precision.
    grad_bytes : int, optional
        Gradient bytes per parameter :math:`b_g`; see :func:`state_parts`.
    moment_bytes : int, optional
        Bytes of each moment; see :func:`state_parts`.
    master : bool, optional
        Whether a float32 master copy is kept; see :func:`state_parts`.

    Returns
    -------
    int
        Bytes. Adam with the defaults: 16 per parameter in float32 and in mixed
        precision alike.
    """
    return sum(
        state_parts(
            n_params,
            optimizer,
            precision,
            grad_bytes=grad_bytes,
            moment_bytes=moment_bytes,
            master=master,
        )
    )


@contract(
    "eq-hw-activation-memory",
    reference=(
        "the list of saved tensors of Korthikanti et al. (2022), summed, with the "
        "book's one recomputed layer and fused attention's log-sum-exp"
    ),
    seq_len=_COUNT,
    batch=_COUNT,
    hidden=_COUNT,
    heads=_COUNT,
    layers=_COUNT,
    recompute=Flag(),
    fused_attention=Flag(),
    dropout=Flag(),
)
def transformer_activation_bytes(
    seq_len,
    batch,
    hidden,
    heads,
    layers=1,
    recompute=False,
    fused_attention=True,
    dropout=True,
):
    r"""Activation bytes of a transformer's layers in 16-bit training.

    Implements :eq:`eq-hw-activation-memory`.

    .. math::
        \begin{aligned}
        A_\text{fused} &= L \left[(32 + 2\delta)\, s b h + 4 a s b\right], \\
        A_\text{stored} &= L \left[(32 + 2\delta)\, s b h
            + (2 + 3\delta)\, a s^2 b\right], \\
        A_\text{ckpt} &= 2 L \, s b h + A_1 .
        \end{aligned}

    The count of Korthikanti et al. (2022) for a GPT layer without parallelism:
    16-bit activations, an MLP of width 4h with GeLU, and, with dropout
    (:math:`\delta = 1`), one-byte dropout masks. With the attention matrix stored
    (``fused_attention=False``) this is their :math:`34 s b h + 5 a s^2 b`: the
    softmax output, its dropout mask and the dropout's output. A fused kernel
    (FlashAttention, ``torch.nn.functional.scaled_dot_product_attention``) keeps
    instead one float32 log-sum-exp per head and token, :math:`4 a s b` bytes, and
    recomputes the scores in its backward pass. With full recomputation
    (``recompute=True``) only each layer's 16-bit input (2sbh bytes) is kept, plus
    :math:`A_1`, one layer of the line above, which exists again while that layer
    is recomputed; Korthikanti et al. count only the :math:`2 s b h L`, the
    :math:`A_1` is this book's. Neither line counts the output layer (the logits).

    Parameters
    ----------
    seq_len : int
        Sequence length :math:`s`.
    batch : int
        Micro-batch size :math:`b`.
    hidden : int
        Model width :math:`h`.
    heads : int
        Attention heads :math:`a`.
    layers : int, default 1
        Number of layers :math:`L`.
    recompute : bool, default False
        Full activation recomputation (checkpointing of every layer).
    fused_attention : bool, default True
        A fused attention kernel; False stores the attention matrix.
    dropout : bool, default True
        Dropout after attention's softmax, the attention block and the MLP
        (:math:`\delta = 1`); False for training without dropout.

    Returns
    -------
    int
        Bytes.
    """
    s, b, h, a = seq_len, batch, hidden, heads
    delta = int(dropout)
    one_layer = (32 + 2 * delta) * s * b * h
    if fused_attention:
        one_layer += 4 * a * s * b
    else:
        one_layer += (2 + 3 * delta) * a * s * s * b
    if recompute:
        return 2 * layers * s * b * h + one_layer
    return layers * one_layer


@contract(
    "eq-hw-mlp-activations",
    reference="the bytes a forward pass leaves allocated, counted by PeakMemory",
    batch=_COUNT,
    width=_COUNT,
    hidden=_COUNT,
    blocks=_COUNT,
    classes=_COUNT,
    dtype=Choice(*BYTES_PER_ELEMENT),
    checkpoint=Flag(),
)
def mlp_activation_bytes(
    batch, width, hidden, blocks, classes, dtype="float32", checkpoint=False
):
    r"""Activation bytes that :class:`ResidualMLP` keeps for its backward pass.

    Implements :eq:`eq-hw-mlp-activations`.

    .. math::
        \begin{aligned}
        A &= \beta b \left[L (d + d_\text{ff}) + C\right], \\
        A_\text{ckpt} &= \beta b \left[L d + C + d_\text{ff}\right].
        \end{aligned}

    Each block keeps its hidden ReLU output (:math:`b \times d_\text{ff}`) and its
    output, which is the next block's input or the head's (:math:`b \times d`); the
    loss keeps the log-softmax (:math:`b \times C`). The first block's input is the
    batch itself, counted with the batch and not here. With every block
    checkpointed only the block outputs stay, and the hidden output of one block
    exists again while it is recomputed.

    Parameters
    ----------
    batch : int
        Mini-batch size :math:`b`.
    width : int
        Block width :math:`d`.
    hidden : int
        Hidden width of a block :math:`d_\text{ff}`.
    blocks : int
        Number of blocks :math:`L`.
    classes : int
        Classes :math:`C`.
    dtype : str, default "float32"
        A key of :data:`nnbook.hardware.calculators.BYTES_PER_ELEMENT`.
    checkpoint : bool, default False

    Returns
    -------
    int
        Bytes.
    """
    beta = BYTES_PER_ELEMENT[dtype]
    kept = blocks * width + classes
    kept += hidden if checkpoint else blocks * hidden
    return beta * batch * kept


@contract(
    "eq-hw-kv-cache",
    reference="the nbytes of per-layer key and value tensors",
    layers=_COUNT,
    kv_heads=_COUNT,
    head_dim=_COUNT,
    seq_len=Int(low=0),
    batch=_COUNT,
    dtype=Choice(*BYTES_PER_ELEMENT),
    tensor_parallel=_COUNT,
)
def kv_cache_bytes(
    layers,
    kv_heads,
    head_dim,
    seq_len,
    batch=1,
    dtype="bfloat16",
    tensor_parallel=1,
):
    r"""Bytes of the key-value cache of a decoder, on one device.

    Implements :eq:`eq-hw-kv-cache`.

    .. math::
        M_\text{KV} = 2 \, L \left\lceil \frac{n_\text{kv}}{t} \right\rceil
            d_\text{head} \, s \, b \, \beta

    A key and a value (the 2) per layer, per key-value head, per token and per
    sequence of the batch. With grouped-query attention :math:`n_\text{kv}` is smaller
    than the number of query heads; with multi-head attention the two are equal.
    Tensor parallelism over :math:`t` devices gives each device
    :math:`\lceil n_\text{kv} / t \rceil` key-value heads: beyond
    :math:`t = n_\text{kv}` every device keeps a copy of one head, so the cache per
    device stops shrinking. :math:`t = 1` is the whole cache.

    Parameters
    ----------
    layers : int
        :math:`L`.
    kv_heads : int
        Key-value heads :math:`n_\text{kv}`.
    head_dim : int
        :math:`d_\text{head}`.
    seq_len : int
        Tokens held per sequence :math:`s` (prompt and generated).
    batch : int, default 1
        Sequences served at once :math:`b`.
    dtype : str, default "bfloat16"
        A key of :data:`nnbook.hardware.calculators.BYTES_PER_ELEMENT`.
    tensor_parallel : int, default 1
        Devices :math:`t` that split the attention heads.

    Returns
    -------
    int
        Bytes on one device.
    """
    beta = BYTES_PER_ELEMENT[dtype]
    heads = -(-kv_heads // tensor_parallel)  # ceiling division
    return 2 * layers * heads * head_dim * seq_len * batch * beta


@contract(
    "eq-hw-training-memory",
    reference="state_bytes plus the activations",
    n_params=Int(low=0),
    activations=Real(low=0),
    optimizer=Choice(*OPTIMIZER_MOMENTS),
    precision=Choice(*_PRECISIONS),
)
def training_memory(
    n_params, activations, optimizer="adam", precision="float32"
):
    r"""Bytes of a training step: state plus activations.

    Implements :eq:`eq-hw-training-memory`.

    .. math::
        M_\text{train} = N \, (b_w + b_g + b_o) + A

    An upper bound of the peak rather than the peak: the backward pass frees
    activations while it creates gradients, so the two are never all held at once.

    Parameters
    ----------
    n_params : int
    activations : float
        Activation bytes :math:`A`, from :func:`transformer_activation_bytes` or
        :func:`mlp_activation_bytes`.
    optimizer : {"sgd", "momentum", "adam"}, default "adam"
    precision : {"float64", "float32", "bfloat16", "float16"}, default "float32"

    Returns
    -------
    float
        Bytes.
    """
    return state_bytes(n_params, optimizer, precision) + activations


class PeakMemory(TorchDispatchMode):
    """Count the bytes of live tensor storage, and its peak, inside a ``with`` block.

    Every storage that an operation allocates while the mode is active is counted
    until Python or autograd frees it. Storages that exist before (a model's
    parameters, a batch) are counted from the start when passed as ``tensors``.

    What it cannot see: the rounding and caching of an allocator (the CUDA caching
    allocator rounds to 512-byte blocks inside 2 MiB or 20 MiB segments, and keeps
    freed blocks reserved); scratch memory that a library allocates inside a kernel
    (oneDNN or MKL buffers on a CPU, the cuBLAS workspace on a GPU); storages created
    before the block and not passed in; and memory that no ATen operation allocates
    (the CUDA context, communication buffers). It counts ``nbytes`` of storages,
    which equal the allocator's bytes only before rounding.

    Parameters
    ----------
    *tensors : torch.Tensor or iterable of torch.Tensor
        Tensors allocated before the block that should count as live.

    Attributes
    ----------
    live : int
        Bytes held now.
    peak : int
        Most bytes held at once since the block began or :meth:`reset_peak`.
    peak_op : str or None
        The operation whose output set the peak, such as
        ``"aten.threshold_backward.default"``; None until an operation does.
    """

    def __init__(self, *tensors):
        super().__init__()
        self.live = 0
        self.peak = 0
        self.peak_op = None
        self._seen = WeakIdKeyDictionary()
        for group in tensors:
            items = [group] if isinstance(group, torch.Tensor) else list(group)
            for k, t in enumerate(items):
                if not isinstance(t, torch.Tensor):
                    raise TypeError(
                        f"tensors must be tensors or iterables of tensors, "
                        f"got {type(t).__name__} at position {k}"
                    )
                self._count(t.untyped_storage())

    def reset_peak(self):
        """Start a new peak from the bytes held now."""
        self.peak = self.live
        self.peak_op = None

    def _count(self, storage, op=None):
        if storage in self._seen:
            return
        n = storage.nbytes()
        self._seen[storage] = n
        self.live += n
        if self.live > self.peak:
            self.peak = self.live
            self.peak_op = op
        weakref.finalize(storage, self._free, n)

    def _free(self, n):
        self.live -= n

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {
            id(t.untyped_storage())
            for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, torch.Tensor)
        }
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                storage = t.untyped_storage()
                if id(storage) not in inputs:
                    self._count(storage, str(func))
        return out


def saved_tensor_bytes(fn, *args, exclude=()):
    """Bytes of the distinct storages that autograd saves for the backward pass.

    Runs ``fn(*args)`` under ``torch.autograd.graph.saved_tensors_hooks`` and adds
    up the storage of every tensor an operation saves for its backward pass, each
    storage once (a view shares its base's storage). Storages of ``exclude`` (a
    model's parameters) are left out; the inputs in ``args`` count when an operation
    saves them, as the input of a transformer layer does.

    Parameters
    ----------
    fn : callable
        The forward computation, for instance a module.
    *args : torch.Tensor
        Its inputs.
    exclude : iterable of torch.Tensor, default ()
        Tensors whose storage is not counted.

    Returns
    -------
    tuple
        ``(output, bytes)``: what ``fn`` returned, and an int.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    skip = set()
    for k, t in enumerate(exclude):
        if not isinstance(t, torch.Tensor):
            raise TypeError(
                f"exclude must hold tensors, got {type(t).__name__} at position {k}"
            )
        skip.add(t.untyped_storage().data_ptr())
    saved = {}

    def pack(t):
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in skip:
            saved[ptr] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, sum(saved.values())


class GPTBlock(nn.Module):
    """One pre-norm GPT layer: causal self-attention and a GeLU MLP of width 4h.

    ``x + proj(attention(ln1(x)))``, then ``x + fc2(gelu(fc1(ln2(x))))``, without
    dropout. Attention is ``torch.nn.functional.scaled_dot_product_attention`` when
    ``fused_attention`` is True, else written out: scores, softmax, weighted sum, so
    that autograd keeps the softmax output.

    Parameters
    ----------
    hidden : int
        Width ``h``.
    heads : int
        Attention heads ``a``; must divide ``hidden``.
    fused_attention : bool, default True
    """

    def __init__(self, hidden, heads, fused_attention=True):
        super().__init__()
        _COUNT.check("hidden", hidden, {}, {})
        _COUNT.check("heads", heads, {}, {})
        Flag().check("fused_attention", fused_attention, {}, {})
        if hidden % heads:
            raise ValueError(
                f"heads must divide hidden, got hidden={hidden}, heads={heads}"
            )
        self.heads = heads
        self.fused_attention = fused_attention
        self.ln1 = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.ln2 = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, 4 * hidden)
        self.fc2 = nn.Linear(4 * hidden, hidden)

    def forward(self, x):
        """The layer's output for ``x`` of shape ``(B, S, h)``, same shape."""
        b, s, h = x.shape
        qkv = self.qkv(self.ln1(x)).view(b, s, 3, self.heads, h // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        if self.fused_attention:
            o = nn.functional.scaled_dot_product_attention(
                q, k, v, is_causal=True
            )
        else:
            mask = torch.full((s, s), float("-inf"), dtype=x.dtype).triu(1)
            scores = q @ k.transpose(-1, -2) / (h // self.heads) ** 0.5
            o = (scores + mask).softmax(-1) @ v
        x = x + self.proj(o.transpose(1, 2).reshape(b, s, h))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


class ResidualMLP(nn.Module):
    """Blocks ``x + W2 relu(W1 x)`` and a linear head: a transformer's MLP, alone.

    Parameters
    ----------
    width : int
        Block width ``d``.
    hidden : int
        Hidden width ``d_ff`` of each block.
    blocks : int
        Number of blocks ``L``.
    classes : int
        Outputs of the head ``C``.
    checkpoint : bool, default False
        Recompute each block in the backward pass (``torch.utils.checkpoint``)
        instead of keeping its hidden activation.
    """

    def __init__(self, width, hidden, blocks, classes, checkpoint=False):
        super().__init__()
        for name, value in (
            ("width", width),
            ("hidden", hidden),
            ("blocks", blocks),
            ("classes", classes),
        ):
            _COUNT.check(name, value, {}, {})
        Flag().check("checkpoint", checkpoint, {}, {})
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width)
            )
            for _ in range(blocks)
        )
        self.head = nn.Linear(width, classes)
        self.checkpoint = checkpoint

    def forward(self, x):
        """Logits of shape ``(B, C)`` for ``x`` of shape ``(B, d)``."""
        for block in self.blocks:
            if self.checkpoint:
                x = x + _checkpoint(block, x, use_reentrant=False)
            else:
                x = x + block(x)
        return self.head(x)


def _check_batch(x, y):
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(t).__name__}"
            )
    if y.shape != x.shape[:1]:
        raise ValueError(
            f"y must have shape ({x.shape[0]},) to match x, got {tuple(y.shape)}"
        )


def _adam_step(model, optimizer, x, y):
    """Forward, cross-entropy, backward, ``optimizer.step()`` and ``zero_grad()``."""
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    del loss
    optimizer.step()
    optimizer.zero_grad()


def training_peaks(model, x, y, steps=3, lr=1e-3, detail=False):
    """Peak bytes of each of ``steps`` Adam steps on ``(x, y)``, counted by :class:`PeakMemory`.

    Each step is a forward pass, cross-entropy, a backward pass, ``optimizer.step()``
    and ``zero_grad()``. The model's parameters and the batch are counted as live.
    Adam runs with ``foreach=False``, one parameter at a time, as it does on a CPU.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor
        Inputs of shape ``(B, ...)``.
    y : torch.Tensor
        Integer labels of shape ``(B,)``.
    steps : int, default 3
    lr : float, default 1e-3
    detail : bool, default False
        Return a dict per step instead of its peak.

    Returns
    -------
    list
        ``steps`` ints, the peak bytes of each step; with ``detail``, ``steps``
        dicts with the ``peak``, the bytes held at the ``start`` of the step, and
        the operation (``op``) at which the peak was reached.
    """
    _COUNT.check("steps", steps, {}, {})
    Flag().check("detail", detail, {}, {})
    _check_batch(x, y)
    params = list(model.parameters())
    optimizer = torch.optim.Adam(params, lr=lr, foreach=False)
    peaks = []
    with PeakMemory(params, x, y) as memory:
        for _ in range(steps):
            memory.reset_peak()
            start = memory.live
            _adam_step(model, optimizer, x, y)
            peaks.append(
                dict(peak=memory.peak, start=start, op=memory.peak_op)
                if detail
                else memory.peak
            )
    return peaks


def cuda_training_peak(model, x, y, lr=1e-3):
    """The CUDA allocator's statistics for one Adam step, after a first step.

    The first step creates Adam's moments and the libraries' workspaces (cuBLAS
    keeps 32 MiB of workspace per handle and stream with the
    ``CUBLAS_WORKSPACE_CONFIG`` of :func:`nnbook.setup`, allocated through PyTorch's
    caching allocator; the forward pass and autograd's backward thread may each hold
    one, and some versions add a cuBLASLt workspace). The peak
    statistics are then reset, the bytes allocated at that moment taken as the
    baseline, and a second step is measured. ``step`` is the peak minus the
    baseline: what the step itself added, comparable with the peak minus the start
    that :func:`training_peaks` counts, above it by the allocator's rounding and, in
    versions that allocate a cuBLASLt workspace for each matrix product with a bias,
    by that workspace.
    Adam runs with ``foreach=False``; the default ``foreach=True`` on a GPU groups
    parameters and allocates temporaries of the size of all of them at once.

    Parameters
    ----------
    model : torch.nn.Module
        On the GPU.
    x : torch.Tensor
        Inputs of shape ``(B, ...)`` on the GPU.
    y : torch.Tensor
        Integer labels of shape ``(B,)`` on the GPU.
    lr : float, default 1e-3

    Returns
    -------
    dict
        Bytes: ``peak`` (``max_memory_allocated``), ``baseline``, ``step``,
        ``reserved`` (``max_memory_reserved``: what the caching allocator holds)
        and ``device_used`` (total minus free memory of the device, as
        ``torch.cuda.mem_get_info`` reports it, which includes the CUDA context).
    """
    _check_batch(x, y)
    if x.device.type != "cuda":
        raise ValueError(f"x must be on a CUDA device, got {x.device}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=False)
    _adam_step(model, optimizer, x, y)
    torch.cuda.synchronize(x.device)
    torch.cuda.reset_peak_memory_stats(x.device)
    baseline = torch.cuda.memory_allocated(x.device)
    _adam_step(model, optimizer, x, y)
    torch.cuda.synchronize(x.device)
    peak = torch.cuda.max_memory_allocated(x.device)
    free, total = torch.cuda.mem_get_info(x.device)
    return dict(
        peak=peak,
        baseline=baseline,
        step=peak - baseline,
        reserved=torch.cuda.max_memory_reserved(x.device),
        device_used=total - free,
    )
