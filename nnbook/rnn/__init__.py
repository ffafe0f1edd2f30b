"""Recurrent networks: the functions of the RNN chapter.

The simple recurrent cell and the LSTM, forward and backward through time, by hand
(``rnn_forward``/``rnn_backward``, ``lstm_forward``/``lstm_backward`` and their one-step
``*_cell_*`` functions; the sequence pass reuses the cell step); ``torch.nn.RNN`` and
``torch.nn.LSTM`` computed by them (:class:`RNN`, :class:`LSTM`, :class:`TimeDistributed`);
and the sunspot forecaster (:class:`Forecaster`, :func:`fit_forecaster`,
:func:`recursive_forecast`).
"""

from nnbook.rnn import _forecast, _modules, _recurrent
from nnbook.rnn._forecast import *  # noqa: F403
from nnbook.rnn._modules import *  # noqa: F403
from nnbook.rnn._recurrent import *  # noqa: F403

__all__ = [
    *_recurrent.__all__,
    *_modules.__all__,
    *_forecast.__all__,
]
