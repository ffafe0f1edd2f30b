"""Feed every public function of nnbook bad input and count how it answers.

For every function with a contract, a valid call is built (as tests/test_contracts.py
builds it), then each declared argument in turn gets a wrong type, NaN, a value out of
range, a wrong shape, and so on. Each answer is counted as

- clear: TypeError or ValueError whose message names the argument;
- unclear: any other exception, or a message that does not name the argument;
- silent: no exception at all: the function returned something for bad input.

It also lists the public functions of every module's ``__all__`` that declare no
contract, so nothing is left out of the count unseen::

    python tools/bad_input_sweep.py            # the counts, and what is not clear
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def sweep():
    """``(counts, problems, uncovered)`` over the whole package."""
    import test_contracts as t  # the registry's valid calls and bad values

    from nnbook import contract as c

    counts, problems = Counter(), []
    for name, arg, value, _error in _cases(t):
        try:
            call = t._sample(name)
        except BaseException:  # noqa: BLE001 (pytest's skip when no valid call exists)
            counts["no valid call"] += 1
            continue
        call[arg] = value
        try:
            t._public(name)(**call)
        except (TypeError, ValueError) as err:
            if re.search(rf"\b{re.escape(arg)}\b", str(err)):
                counts["clear"] += 1
                continue
            counts["unclear"] += 1
            problems.append(f"unclear  {name}({arg}={value!r}): {err}")
        except Exception as err:  # noqa: BLE001 (anything else is what we count)
            counts["unclear"] += 1
            problems.append(f"unclear  {name}({arg}={value!r}): {type(err).__name__}")
        else:
            counts["silent"] += 1
            problems.append(f"silent   {name}({arg}={value!r})")
    return counts, problems, _uncovered(c)


def _cases(t):
    for name in t.NAMES:
        for arg, spec in t.c.REGISTRY[name].specs.items():
            for value, error in t._bad_values(spec):
                yield name, arg, value, error


def _uncovered(c):
    """Public functions and classes in some ``__all__`` with no contract anywhere."""
    import pkgutil

    import nnbook

    covered = {d.function for d in c.REGISTRY.values()}
    owners = {n.rsplit(".", 2)[-2] for n in c.REGISTRY if ".__init__" in n}
    missing = []
    for info in pkgutil.walk_packages(nnbook.__path__, "nnbook."):
        if ".exercises" in info.name or ".plot" in info.name:
            continue
        module = importlib.import_module(info.name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr, None)
            if getattr(obj, "__module__", None) != info.name:
                continue  # re-exported: counted where it is defined
            if inspect.isfunction(obj) and inspect.unwrap(obj) not in covered:
                if getattr(obj, "contract", None) is None and "__wrapped__" not in vars(obj):
                    missing.append(f"{info.name}.{attr}")
            elif inspect.isclass(obj) and attr not in owners:
                if not any(getattr(m, "contract", None) is not None for m in vars(obj).values()):
                    missing.append(f"{info.name}.{attr} (class)")
    return missing


def main() -> int:
    counts, problems, uncovered = sweep()
    total = sum(counts.values())
    print(f"{total} bad calls: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for line in problems:
        print(line)
    print(f"{len(uncovered)} public functions or classes declare no contract:")
    for name in uncovered:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
