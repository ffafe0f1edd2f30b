"""The package's earlier module names, kept importable.

The second edition gave every chapter one subpackage (``nnbook.fnn``, ``nnbook.cnn``,
``nnbook.rnn``, ...). Code written against the first edition's names keeps working:
``from nnbook import conv`` or ``from nnbook.feedforward.linear import linear_forward``
import a stand-in module that forwards every attribute to the module that now holds it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

#: Each earlier module name and the modules that now hold its contents, searched in order.
ALIASES: dict[str, tuple[str, ...]] = {
    "nnbook.feedforward": ("nnbook.fnn",),
    "nnbook.conv": ("nnbook.cnn._conv",),
    "nnbook.architectures": ("nnbook.cnn._architectures",),
    "nnbook.cnn_training": ("nnbook.cnn._training",),
    "nnbook.recurrent": ("nnbook.rnn._recurrent",),
    "nnbook.forecast": ("nnbook.rnn._forecast",),
    "nnbook.modules": (
        "nnbook.fnn._modules",
        "nnbook.cnn._modules",
        "nnbook.rnn._modules",
    ),
    "nnbook.discriminative": ("nnbook.generative._discriminative",),
    "nnbook.estimator": ("nnbook.generative._estimator",),
    **{
        f"nnbook.{old}.{module}": (f"nnbook.{new}._{module}",)
        for (old, new), modules in {
            ("feedforward", "fnn"): (
                "activations",
                "init",
                "linear",
                "losses",
                "mlp",
                "regularization",
            ),
            ("generative", "generative"): ("bayes", "gan", "rbm"),
            ("invertible", "invertible"): (
                "blocks",
                "classifier",
                "flows",
                "logdet",
                "spectral",
                "toy",
            ),
            ("optim", "optim"): (
                "landscapes",
                "optimizers",
                "rules",
                "schedules",
            ),
        }.items()
        for module in modules
    },
}


class _Forward(types.ModuleType):
    """A stand-in module: every attribute comes from the modules in ``_targets``."""

    def __getattr__(self, name):
        for target in self.__dict__["_targets"]:
            module = importlib.import_module(target)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(
            f"module {self.__name__!r} has no attribute {name!r}"
        )

    def __dir__(self):
        names = set()
        for target in self.__dict__["_targets"]:
            names.update(dir(importlib.import_module(target)))
        return sorted(names)


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the earlier module names and loads a :class:`_Forward` for each."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in ALIASES:
            return None
        return importlib.util.spec_from_loader(
            fullname, self, is_package=fullname == "nnbook.feedforward"
        )

    def create_module(self, spec):
        module = _Forward(spec.name)
        module._targets = ALIASES[spec.name]
        return module

    def exec_module(self, module):
        pass


def install():
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
