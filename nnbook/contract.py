r"""Contracts: what a function of the book accepts, declared once above its body.

A contract names the equation a function implements, the shape and dtype of each
tensor argument, and the range of each number. The body is then only the math::

    @contract(
        "eq-fnn-weight-avg",
        h=Tensor("T_mb", "F_in"),
        W=Tensor("F_out", "F_in"),
        b=Tensor("F_out", optional=True),
        reference="torch.nn.functional.linear",
    )
    def linear_forward(h, W, b=None):
        a = h @ W.T
        ...

Every call is checked against the contract before the body runs, through one set of
rules:

- a wrong type raises :class:`TypeError`, a wrong value raises :class:`ValueError`;
- NaN is a wrong value for every number;
- the message names the argument, what was expected and what arrived, in the book's
  notation: ``W must have shape (F_out, F_in=64), got (10, 65)``.

A named size (``"T_mb"``) is bound by the first tensor that has it, so the tensors of
one call must agree with each other. Floating-point tensors must share one dtype.

Every contract is kept in :data:`REGISTRY`, which the test suite walks: each equation
label must be one the book numbers, and every argument is fed wrong types, NaN, values
out of range and wrong shapes, which must be refused with a message that names it.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from nnbook import _validate

__all__ = [
    "REGISTRY",
    "Spec",
    "Axis",
    "Choice",
    "Contract",
    "Flag",
    "Instance",
    "Int",
    "Methods",
    "Ints",
    "Pair",
    "Real",
    "Reals",
    "Tensor",
    "Tensors",
    "contract",
]


class Spec:
    """What one argument must be. Subclasses implement :meth:`check`."""

    optional = False

    def check(self, name, value, dims, arguments):
        """Return ``value`` if it fits, else raise TypeError or ValueError."""
        raise NotImplementedError  # pragma: no cover

    def describe(self) -> str:
        """A short description for the API page."""
        raise NotImplementedError  # pragma: no cover


_KINDS = {
    "float": ("a floating-point dtype", lambda t: t.is_floating_point()),
    "int": (
        "an integer dtype",
        lambda t: (
            not t.is_floating_point()
            and not t.is_complex()
            and t.dtype != torch.bool
        ),
    ),
    "bool": ("dtype torch.bool", lambda t: t.dtype == torch.bool),
    "any": ("any dtype", lambda t: True),
}


@dataclass(frozen=True, init=False)
class Tensor(Spec):
    """A tensor argument.

    Parameters
    ----------
    *shape : int, str or None
        The size of each dimension: a fixed size, a name bound across the call's
        tensors, or None for any size. No shape means any number of dimensions;
        ``...`` first or last stands for any number of leading or trailing ones.
    dtype : {"float", "int", "bool", "any"}, default "float"
        The kind of dtype. Floating-point tensors of one call share one dtype.
    optional : bool, default False
        ``None`` is accepted.
    like : str or callable, optional
        Another tensor argument whose shape (and dtype) this one must have, or a
        function of some arguments, by name, that returns that tensor, such as
        ``lambda cache: cache.h``.
    low, high : int or str, optional
        For integer tensors, the range of values ``[low, high)``; ``high`` may be a
        named size ("C").
    """

    shape: tuple | None
    dtype: str
    optional: bool
    like: str | Callable | None
    low: int | None
    high: int | str | None

    def __init__(
        self,
        *shape,
        dtype="float",
        optional=False,
        like=None,
        low=None,
        high=None,
    ):
        if dtype not in _KINDS:
            raise ValueError(
                f"dtype must be one of {', '.join(_KINDS)}, got {dtype!r}"
            )
        object.__setattr__(self, "shape", shape or None)
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "optional", optional)
        object.__setattr__(self, "like", like)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        want, fits = _KINDS[self.dtype]
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(value).__name__}"
            )
        if not fits(value):
            raise TypeError(f"{name} must have {want}, got {value.dtype}")
        floating = self.dtype == "float"
        shape = self.shape
        if self.like is not None:
            other, what = _resolve_like(self.like, arguments)
            if isinstance(other, torch.Tensor):
                if value.shape != other.shape:
                    raise ValueError(
                        f"{name} must have the shape of {what}, "
                        f"{tuple(other.shape)}, got {tuple(value.shape)}"
                    )
                if floating and other.is_floating_point():
                    dims.setdefault("dtype", other.dtype)
        if shape is not None and shape[0] is Ellipsis and len(shape) > 1:
            tail = shape[1:]
            if value.ndim < len(tail):
                raise ValueError(
                    f"{name} must have at least {len(tail)} dimensions "
                    f"{_shape_text(shape)}, got {tuple(value.shape)}"
                )
            shape = (None,) * (value.ndim - len(tail)) + tail
        elif shape is not None and shape[-1] is Ellipsis:
            lead = shape[:-1]
            if value.ndim < len(lead):
                raise ValueError(
                    f"{name} must have at least {len(lead)} dimensions "
                    f"{_shape_text(shape)}, got {tuple(value.shape)}"
                )
            shape = lead + (None,) * (value.ndim - len(lead))
        _validate.tensor(name, value, shape=shape, dims=dims, floating=floating)
        if self.low is not None or self.high is not None:
            self._check_values(name, value, dims)
        return value

    def _check_values(self, name, value, dims):
        high = dims.get(self.high, self.high) if self.high else None
        if value.numel() == 0:
            return
        lo, hi = int(value.min()), int(value.max())
        if (self.low is not None and lo < self.low) or (
            high is not None and hi >= high
        ):
            low = "-inf" if self.low is None else self.low
            top = "inf" if high is None else high
            if isinstance(self.high, str):
                top = f"{self.high}={high}"
            bad = lo if self.low is not None and lo < self.low else hi
            raise ValueError(
                f"{name} must have values in [{low}, {top}), got {bad}"
            )

    def describe(self) -> str:
        dims = "" if self.shape is None else _shape_text(self.shape)
        return f"{self.dtype} tensor {dims}".strip()


def _resolve_like(like, arguments):
    """The tensor that ``like`` points at, and how to name it in a message."""
    if isinstance(like, str):
        return arguments[like], like
    wanted = inspect.signature(like).parameters
    what = "the forward pass's tensors"
    return like(**{k: arguments[k] for k in wanted}), what


def _shape_text(shape) -> str:
    parts = [
        "*" if s is None else "..." if s is Ellipsis else str(s) for s in shape
    ]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


@dataclass(frozen=True)
class Tensors(Spec):
    """A list or tuple of floating-point tensors of one dtype, such as weights."""

    optional: bool = False

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        if not isinstance(value, list | tuple):
            raise TypeError(
                f"{name} must be a list of tensors, got {type(value).__name__}"
            )
        return [
            _validate.tensor(f"{name}[{i}]", x, dims=dims)
            for i, x in enumerate(value)
        ]

    def describe(self) -> str:
        return "list of float tensors"


@dataclass(frozen=True)
class Instance(Spec):
    """An instance of a class, such as ``torch.Generator``."""

    cls: type = object
    optional: bool = False

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        if not isinstance(value, self.cls):
            raise TypeError(
                f"{name} must be a {self.describe()}, "
                f"got {type(value).__name__}"
            )
        return value

    def describe(self) -> str:
        classes = getattr(
            self.cls, "__args__", (self.cls,)
        )  # str | torch.device
        return " or ".join(getattr(c, "__name__", str(c)) for c in classes)


@dataclass(frozen=True)
class Real(Spec):
    """A real number in a range; NaN is refused.

    ``low_open`` and ``high_open`` exclude the bounds.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False
    integer = False

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        return _validate.number(
            name,
            value,
            low=self.low,
            high=self.high,
            low_open=self.low_open,
            high_open=self.high_open,
            integer=self.integer,
        )

    def describe(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        kind = "int" if self.integer else "real"
        return f"{kind} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Int(Real):
    """An integer in a range (``bool`` is not an integer here)."""

    integer = True


@dataclass(frozen=True)
class Reals(Spec):
    """A tuple of ``count`` real numbers, each in a range, such as Adam's betas.

    ``count=None`` takes a list or tuple of any nonzero length, such as one result per seed.
    """

    count: int | None = 2
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        if not isinstance(value, tuple | list):
            raise TypeError(
                f"{name} must be a tuple of {self.count or 'one or more'} numbers, "
                f"got {type(value).__name__}"
            )
        if self.count is None and not value:
            raise ValueError(f"{name} must hold at least one number, got none")
        if self.count is not None and len(value) != self.count:
            raise ValueError(
                f"{name} must have {self.count} numbers, got {len(value)}"
            )
        for i, x in enumerate(value):
            _validate.number(
                f"{name}[{i}]",
                x,
                low=self.low,
                high=self.high,
                low_open=self.low_open,
                high_open=self.high_open,
            )
        return tuple(value)

    def describe(self) -> str:
        return f"{self.count or 'one or more'} reals"


@dataclass(frozen=True)
class Ints(Spec):
    """A non-empty sequence of ints, each in a range; passed on as a list.

    ``increasing`` requires each to be larger than the one before.
    """

    low: int | None = None
    increasing: bool = False
    optional: bool = False

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        if isinstance(value, str | bytes | torch.Tensor) or not hasattr(
            value, "__iter__"
        ):
            raise TypeError(
                f"{name} must be a sequence of ints, got {type(value).__name__}"
            )
        values = list(value)
        if not values:
            raise ValueError(f"{name} must hold at least one int, got []")
        for k, x in enumerate(values):
            _validate.number(f"{name}[{k}]", x, low=self.low, integer=True)
        if self.increasing and any(
            b <= a for a, b in zip(values, values[1:], strict=False)
        ):
            raise ValueError(f"{name} must be increasing, got {values}")
        return values

    def describe(self) -> str:
        low = "" if self.low is None else f" >= {self.low}"
        return f"sequence of ints{low}"


@dataclass(frozen=True)
class Pair(Spec):
    """An int, or a pair of ints, in a range; passed on as a pair ``(a, b)``.

    Kernel sizes, strides and padding take this form: ``3`` means ``(3, 3)``.
    """

    low: int | None = None
    optional: bool = False

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        pair = (
            tuple(value) if isinstance(value, tuple | list) else (value, value)
        )
        if len(pair) != 2:
            raise ValueError(
                f"{name} must be an int or a pair of ints, got {value!r}"
            )
        for x in pair:
            _validate.number(name, x, low=self.low, integer=True)
        return pair

    def describe(self) -> str:
        low = "" if self.low is None else f" >= {self.low}"
        return f"int or pair of ints{low}"


@dataclass(frozen=True)
class Choice(Spec):
    """One of a fixed set of values."""

    values: tuple = ()
    optional: bool = False

    def __init__(self, *values, optional=False):
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "optional", optional)

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        try:
            ok = value in self.values
        except TypeError:  # an unhashable or incomparable value
            ok = False
        if not ok:
            options = ", ".join(str(v) for v in self.values)
            exc = ValueError
            kinds = {type(v) for v in self.values}
            if not any(isinstance(value, k) for k in kinds):
                exc = TypeError
            raise exc(f"{name} must be one of {options}, got {value!r}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True, init=False)
class Methods(Spec):
    """An object with the named methods, such as an optimizer's ``step``.

    Parameters
    ----------
    *names : str
        The methods the object must have. With none, the object must be callable.
    many : bool, default False
        The argument is a list or tuple, and each of its items must fit.
    optional : bool, default False
        ``None`` is accepted.
    """

    names: tuple
    many: bool
    optional: bool

    def __init__(self, *names, many=False, optional=False):
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "many", many)
        object.__setattr__(self, "optional", optional)

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        if not self.many:
            self._check_one(name, value)
            return value
        if not isinstance(value, list | tuple):
            raise TypeError(
                f"{name} must be a list or tuple, got {type(value).__name__}"
            )
        for i, item in enumerate(value):
            self._check_one(f"{name}[{i}]", item)
        return value

    def _check_one(self, name, value):
        if not self.names:
            if not callable(value):
                raise TypeError(
                    f"{name} must be callable, got {type(value).__name__}"
                )
            return
        if not all(callable(getattr(value, m, None)) for m in self.names):
            raise TypeError(
                f"{name} must have {self._wanted()}, got {type(value).__name__}"
            )

    def _wanted(self):
        return " and ".join(f"a {m}() method" for m in self.names)

    def describe(self) -> str:
        one = "callable" if not self.names else f"object with {self._wanted()}"
        return f"list of {one}s" if self.many else one


@dataclass(frozen=True)
class Flag(Spec):
    """A ``bool``."""

    optional: bool = False

    def check(self, name, value, dims, arguments):
        if value is None and self.optional:
            return None
        if not isinstance(value, bool):
            raise TypeError(
                f"{name} must be a bool, got {type(value).__name__}"
            )
        return value

    def describe(self) -> str:
        return "bool"


@dataclass(frozen=True)
class Axis(Spec):
    """A dimension index of another tensor argument, negative ones included."""

    of: str = ""
    optional: bool = False

    def check(self, name, value, dims, arguments):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(
                f"{name} must be an int, got {type(value).__name__}"
            )
        tensor = arguments.get(self.of)
        n = tensor.ndim if isinstance(tensor, torch.Tensor) else None
        if n is not None and not -n <= value < n:
            raise ValueError(
                f"{name} must be a dimension of {self.of}, in [{-n}, {n}), "
                f"got {value}"
            )
        return value

    def describe(self) -> str:
        return f"a dimension of {self.of}"


@dataclass(frozen=True)
class Contract:
    """The declared interface of one function; see :func:`contract`."""

    function: Callable
    equation: str | None
    specs: dict[str, Spec]
    reference: str | None = None
    bind: Callable | None = None
    signature: inspect.Signature = field(repr=False, default=None)

    def __post_init__(self):
        # worked out once, so that a checked call costs a few microseconds
        object.__setattr__(self, "_layout", _layout(self.signature))
        names = (
            () if self.bind is None else inspect.signature(self.bind).parameters
        )
        object.__setattr__(self, "_bind_names", tuple(names))

    @property
    def name(self) -> str:
        """``package.function``, as the API page writes it.

        Private implementation modules (``nnbook.cnn._conv``) are left out: the name is
        the one a reader imports (``nnbook.cnn.conv2d_forward``).
        """
        module = ".".join(
            part
            for part in self.function.__module__.split(".")
            if not part.startswith("_")
        )
        return f"{module}.{self.function.__qualname__}"

    def rst(self) -> str:
        """The contract as one paragraph for the API page, generated from the specs."""
        items = "; ".join(
            f"``{name}``: ``{spec.describe()}``"
            for name, spec in self.specs.items()
        )
        tested = (
            f" Tested against ``{self.reference}``." if self.reference else ""
        )
        return f"*Checked on every call:* {items}.{tested}"

    def validate(self, args, kwargs) -> dict:
        """The call's arguments by name, defaults filled in, each checked by its spec."""
        arguments = self._arguments(args, kwargs)
        dims = {}
        if self.bind is not None:
            wanted = self._bind_names
            dims.update(self.bind(**{k: arguments[k] for k in wanted}))
        for name, spec in self.specs.items():
            arguments[name] = spec.check(name, arguments[name], dims, arguments)
        return arguments

    def _arguments(self, args, kwargs) -> dict:
        """Bind ``args`` and ``kwargs`` to names, as Python would, but faster."""
        names, defaults, plain = self._layout
        if plain and len(args) <= len(names):
            arguments = dict(zip(names, args, strict=False))
            for key, value in kwargs.items():
                if key in arguments or key not in defaults:
                    break  # a duplicate or unknown name: let Python say so
                arguments[key] = value
            else:
                for key, value in defaults.items():
                    if key not in arguments:
                        if value is inspect.Parameter.empty:
                            break
                        arguments[key] = value
                else:
                    return arguments
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{self.function.__name__}(): {err}") from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def call(self, args, kwargs):
        """Check the call, then run the function with the checked arguments."""
        arguments = self.validate(args, kwargs)
        if self._layout[2]:
            return self.function(**arguments)
        bound = inspect.BoundArguments(self.signature, arguments)
        return self.function(*bound.args, **bound.kwargs)


def _layout(signature):
    """Positional names, every name's default, and whether names alone can bind."""
    kinds = {p.kind for p in signature.parameters.values()}
    plain = kinds <= {
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    }
    positional = [
        name
        for name, p in signature.parameters.items()
        if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    defaults = {name: p.default for name, p in signature.parameters.items()}
    return positional, defaults, plain


def _with_paragraph(doc: str, paragraph: str) -> str:
    """``doc`` with ``paragraph`` after its summary, before any numpydoc section."""
    head, _, rest = inspect.cleandoc(doc).partition("\n\n")
    return f"{head}\n\n{paragraph}\n\n{rest}".rstrip() + "\n"


#: Every contract, by ``module.function``.
REGISTRY: dict[str, Contract] = {}


def contract(equation=None, *, reference=None, bind=None, **specs):
    """Declare what a function accepts and which equation it implements.

    Parameters
    ----------
    equation : str, optional
        The label of the book's equation, such as ``"eq-fnn-weight-avg"``.
    reference : str, optional
        What the function is tested against ("torch.nn.functional.linear").
    bind : callable, optional
        Called with some of the arguments by name; returns named sizes (and
        ``"dtype"``) that the tensors must match, e.g. the sizes stored in a cache.
    **specs : Spec
        One :class:`Tensor`, :class:`Real`, :class:`Int`, :class:`Choice`,
        :class:`Flag`, :class:`Axis`, :class:`Instance` or :class:`Methods` per
        checked argument.

    Returns
    -------
    callable
        A decorator. The decorated function checks its arguments, then runs.
    """
    if equation is not None and not isinstance(equation, str):
        raise TypeError(
            f"equation must be a label (str) or None, "
            f"got {type(equation).__name__}"
        )
    for name, spec in specs.items():
        if not isinstance(spec, Spec):
            raise TypeError(
                f"{name} must be given a Spec (Tensor, Real, Int, ...), "
                f"got {type(spec).__name__}"
            )

    def decorate(function):
        signature = inspect.signature(function)
        unknown = set(specs) - set(signature.parameters)
        if unknown:
            raise ValueError(
                f"{function.__name__} has no argument named "
                f"{', '.join(sorted(unknown))}"
            )
        declared = Contract(
            function, equation, specs, reference, bind, signature
        )

        @functools.wraps(function)
        def checked(*args, **kwargs):
            return declared.call(args, kwargs)

        checked.contract = declared
        if function.__doc__ and specs:
            checked.__doc__ = _with_paragraph(function.__doc__, declared.rst())
        if declared.name in REGISTRY:
            raise RuntimeError(f"two contracts are named {declared.name}")
        REGISTRY[declared.name] = declared
        return checked

    return decorate
