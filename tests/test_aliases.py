"""The first edition's module names still import and lead to the same objects."""

import importlib

import pytest

import nnbook
from nnbook import _aliases

pytestmark = pytest.mark.spine


@pytest.mark.parametrize("alias", sorted(_aliases.ALIASES))
def test_every_earlier_name_imports_and_forwards(alias):
    module = importlib.import_module(alias)
    targets = [importlib.import_module(t) for t in _aliases.ALIASES[alias]]
    exported = [name for t in targets for name in getattr(t, "__all__", [])]
    assert exported, f"{alias} leads to modules that export nothing"
    for name in exported:
        owner = next(t for t in targets if name in getattr(t, "__all__", []))
        assert getattr(module, name) is getattr(owner, name), f"{alias}.{name}"


def test_the_readers_old_imports_work():
    from nnbook.feedforward.linear import linear_forward

    from nnbook import conv, modules, recurrent
    from nnbook.data import toy2d
    from nnbook.invertible import logdet as ld

    assert conv.conv2d_forward is nnbook.cnn.conv2d_forward
    assert recurrent.lstm_forward is nnbook.rnn.lstm_forward
    assert modules.Linear is nnbook.fnn.Linear and modules.LSTM is nnbook.rnn.LSTM
    assert toy2d is nnbook.invertible.toy2d
    assert linear_forward is nnbook.fnn.linear_forward
    assert ld.exact_logdet is nnbook.invertible.exact_logdet


def test_a_package_name_is_its_function_not_a_module():
    import nnbook.fnn

    assert callable(nnbook.fnn.linear) and not isinstance(nnbook.fnn.linear, type(nnbook))


def test_an_unknown_name_on_an_alias_is_an_attribute_error():
    from nnbook import conv

    with pytest.raises(AttributeError, match="nnbook.conv.*no_such"):
        _ = conv.no_such
