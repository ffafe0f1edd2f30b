"""Every function with a contract, in the style of torch's OpInfo tests.

The registry (:data:`nnbook.contract.REGISTRY`) lists each function with its equation,
its arguments' specs and its reference. From one valid call per function, built from
the specs (or given below where a cache or a constraint is needed), this file checks:

- the equation is one the book numbers, and the docstring cites the same one;
- each checked argument, given a wrong type, NaN, a value out of range or a wrong
  shape, is refused with TypeError or ValueError and a message that names it;
- float32 inputs give float32 outputs, and on a GPU, when there is one, GPU outputs
  that agree with the CPU's;
- the values agree with the reference, where the reference takes the same call.
"""

import importlib
import inspect
import math
import pkgutil
import re
from pathlib import Path

import pytest
import torch

import nnbook
from nnbook import contract as c
from nnbook.equations import number


def _import_everything():
    for info in pkgutil.walk_packages(nnbook.__path__, "nnbook."):
        if ".exercises" not in info.name:
            importlib.import_module(info.name)


_import_everything()
NAMES = sorted(c.REGISTRY)


def _randn(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _collect():
    """SAMPLES and REFERENCES from every ``tests/contracts_*.py``, one per part."""
    samples, references = {}, {}
    for path in sorted(Path(__file__).parent.glob("contracts_*.py")):
        part = importlib.import_module(path.stem)
        for name in part.SAMPLES:
            assert name not in samples, f"{name} has two samples"
        samples.update(part.SAMPLES)
        references.update(part.REFERENCES)
    return samples, references


#: Calls that the specs alone cannot build (a backward pass needs its cache), and
#: the reference each function is compared with, given the same call.
SAMPLES, REFERENCES = _collect()


def _example(spec, dims, seed):
    """A valid value for ``spec``, binding named sizes in ``dims``."""
    if isinstance(spec, c.Tensor):
        shape = spec.shape or (3, 2)
        shape = tuple(s for s in shape if s is not Ellipsis)
        sizes = []
        for s in shape:
            if isinstance(s, str):
                s = dims.setdefault(s, 2 + (len(dims) % 3))
            sizes.append(3 if s is None else s)
        if spec.dtype == "bool":
            return torch.rand(*sizes, generator=torch.Generator().manual_seed(seed)) > 0.5
        if spec.dtype == "int":
            high = dims.get(spec.high, spec.high) if spec.high else 3
            low = spec.low or 0
            g = torch.Generator().manual_seed(seed)
            return torch.randint(low, high, tuple(sizes), generator=g)
        return _randn(*sizes, seed=seed)
    if isinstance(spec, c.Real):
        low = spec.low if spec.low is not None else 0
        high = spec.high if spec.high is not None else low + 2
        value = (low + high) / 2
        return max(int(value), int(low) + (1 if spec.low_open else 0)) if spec.integer else value
    if isinstance(spec, c.Pair):
        return (spec.low or 0) + 1
    if isinstance(spec, c.Ints):
        return [(spec.low or 0) + 1, (spec.low or 0) + 2]
    if isinstance(spec, c.Choice):
        return spec.values[0]
    if isinstance(spec, c.Flag):
        return True
    if isinstance(spec, c.Axis):
        return -1
    if isinstance(spec, c.Tensors):
        return [_randn(3, 2, seed=seed), _randn(2, seed=seed + 1)]
    if isinstance(spec, c.Instance) and spec.cls is torch.dtype:
        return torch.float64
    if isinstance(spec, c.Instance) and isinstance(torch.device("cpu"), spec.cls):
        return "cpu" if isinstance("cpu", spec.cls) else torch.device("cpu")
    if isinstance(spec, c.Instance):
        return None if spec.optional else pytest.skip(f"no example of {spec.cls}")
    if isinstance(spec, c.Methods):
        return None if spec.optional else pytest.skip(f"no example of {spec!r}")
    if isinstance(spec, c.Reals):
        low = spec.low if spec.low is not None else 0
        high = spec.high if spec.high is not None else low + 2
        return ((low + high) / 2,) * (spec.count or 3)
    raise AssertionError(f"no example for {spec!r}")  # pragma: no cover


def _sample(name):
    """One valid call: ``(args, kwargs)`` as keyword arguments by name."""
    declared = c.REGISTRY[name]
    if name in SAMPLES:
        args, kwargs = SAMPLES[name]()
        constructor = name.endswith(".__init__")
        if constructor and not (args and isinstance(args[0], _public(name))):
            args = (None, *args)  # self, which the class supplies
        bound = declared.signature.bind(*args, **kwargs)
        call = dict(bound.arguments)
        if constructor:
            del call["self"]
        return call
    dims, call = {}, {}
    # tensors first, so named sizes are bound before integer labels use them
    order = sorted(
        declared.specs.items(),
        key=lambda kv: not isinstance(kv[1], c.Tensor) or kv[1].dtype != "float",
    )
    for seed, (arg, spec) in enumerate(order):
        if isinstance(spec, c.Tensor) and spec.like is not None and isinstance(spec.like, str):
            continue
        call[arg] = _example(spec, dims, seed)
    for arg, spec in declared.specs.items():
        if isinstance(spec, c.Tensor) and isinstance(spec.like, str):
            like = call[spec.like]
            call[arg] = (
                (torch.rand(like.shape) > 0.5)
                if spec.dtype == "bool"
                else _randn(*like.shape, seed=9)
            )
    constructor = name.endswith(".__init__")
    missing = [
        p.name
        for p in declared.signature.parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name not in call
        and not (constructor and p.name == "self")
    ]
    if missing:
        pytest.fail(f"{name}: add a sample to SAMPLES; no spec for {missing}")
    order = list(declared.signature.parameters)
    return {k: call[k] for k in sorted(call, key=order.index)}


def _public(name):
    """The callable a reader calls: a function, a class for ``__init__``, or a method.

    It is found where the contract's function was defined, so that private base classes
    (``_Flow``) resolve as well as the names a package exports.
    """
    function = c.REGISTRY[name].function
    obj = importlib.import_module(function.__module__)
    for attr in function.__qualname__.split("."):
        if attr == "__init__":
            return obj  # the class: calling it runs __init__
        obj = getattr(obj, attr)
    return obj


def test_the_registry_covers_the_feedforward_package():
    assert len(NAMES) >= 25
    assert all(n.startswith("nnbook.") for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_equation_is_numbered_and_cited_in_the_docstring(name):
    declared = c.REGISTRY[name]
    doc = inspect.getdoc(declared.function) or ""
    cited = re.findall(r"Implements :eq:`([^`]+)`", doc)
    if declared.equation is None:
        assert not cited, f"{name} cites {cited} in its docstring but declares none"
        return
    number(declared.equation)  # raises for a label the book does not number
    assert cited in ([], [declared.equation]), (
        f"{name} declares {declared.equation} but its docstring cites {cited}"
    )


@pytest.mark.parametrize("name", NAMES)
def test_a_valid_call_runs(name):
    _public(name)(**_sample(name))


def _bad_values(spec):
    """(value, error) pairs that ``spec`` must refuse."""
    takes_str = isinstance(spec, c.Choice) or (
        isinstance(spec, c.Instance) and isinstance("x", spec.cls)
    )
    yield object() if takes_str else "x", (TypeError, ValueError)
    if isinstance(spec, c.Real) and not spec.integer:
        yield math.nan, ValueError
    if isinstance(spec, c.Int):
        yield 1.5, TypeError
    if isinstance(spec, c.Real):
        if spec.low is not None:
            yield spec.low - 1, ValueError
        if spec.high is not None:
            yield spec.high + 1, ValueError
    if isinstance(spec, c.Flag):
        yield 1, TypeError
    if isinstance(spec, c.Reals):
        yield 0.5, TypeError
        if spec.count is None:
            yield (), ValueError
            yield (0.5, math.nan), ValueError
        else:
            yield (0.5,) * (spec.count + 1), ValueError
            yield (math.nan,) * spec.count, ValueError
    if isinstance(spec, c.Methods) and not spec.names and not spec.many:
        yield 3, (TypeError, ValueError)
    if isinstance(spec, c.Ints):
        yield [(spec.low or 0) + 1, 1.5], TypeError
        yield [], ValueError
        if spec.low is not None:
            yield [spec.low - 1], ValueError
    if isinstance(spec, c.Pair):
        yield 1.5, TypeError
        yield (1, 2, 3), ValueError
        if spec.low is not None:
            yield spec.low - 1, ValueError
    if isinstance(spec, c.Axis):
        yield 99, ValueError
    if isinstance(spec, c.Tensor):
        if spec.dtype == "float":
            yield torch.zeros(2, 2, dtype=torch.int64), (TypeError, ValueError)
        if spec.shape is not None and spec.shape[0] is Ellipsis:
            last = spec.shape[-1]
            if isinstance(last, int):
                yield torch.zeros(2, last + 1, dtype=torch.float64), ValueError
        elif spec.shape is not None and spec.shape[-1] is not Ellipsis:
            yield (
                torch.zeros(*(2,) * (len(spec.shape) + 1), dtype=torch.float64),
                (
                    TypeError,
                    ValueError,
                ),
            )


def _bad_cases():
    for name in NAMES:
        for arg, spec in c.REGISTRY[name].specs.items():
            for k, (value, error) in enumerate(_bad_values(spec)):
                yield pytest.param(
                    name, arg, value, error, id=f"{name.rsplit('.', 1)[1]}-{arg}-{k}"
                )


@pytest.mark.parametrize(("name", "arg", "value", "error"), list(_bad_cases()))
def test_a_bad_argument_is_refused_by_name(name, arg, value, error):
    call = _sample(name)
    call[arg] = value
    with pytest.raises(error) as info:
        _public(name)(**call)
    assert re.search(rf"\b{re.escape(arg)}\b", str(info.value)), str(info.value)


def _floats(x, dtype, device="cpu"):
    if isinstance(x, torch.Tensor):
        return x.to(device, dtype) if x.is_floating_point() else x.to(device)
    if isinstance(x, list):
        return [_floats(e, dtype, device) for e in x]
    return x


def _outputs(result):
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, tuple | list):
        return [r for r in result if isinstance(r, torch.Tensor)]
    return []


@pytest.mark.parametrize("name", [n for n in NAMES if n not in SAMPLES])
def test_float32_in_float32_out(name):
    call = {k: _floats(v, torch.float32) for k, v in _sample(name).items()}
    for out in _outputs(_public(name)(**call)):
        if out.is_floating_point():
            assert out.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("name", [n for n in NAMES if n not in SAMPLES])
def test_gpu_agrees_with_cpu(name):
    call = _sample(name)
    cpu = _outputs(_public(name)(**call))
    gpu = _outputs(_public(name)(**{k: _floats(v, torch.float64, "cuda") for k, v in call.items()}))
    for a, b in zip(cpu, gpu, strict=True):
        torch.testing.assert_close(b.cpu(), a)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_agree_with_the_reference(name):
    call = _sample(name)
    ours = _public(name)(**call)
    ours = ours[0] if isinstance(ours, tuple) else ours
    torch.testing.assert_close(ours, REFERENCES[name](*call.values()))
