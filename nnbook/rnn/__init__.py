"""Recurrent networks: the functions of the RNN chapter.

The simple recurrent cell, the LSTM and the GRU, forward and backward through time, by
hand (``rnn_forward``/``rnn_backward``, ``lstm_forward``/``lstm_backward``,
``gru_forward``/``gru_backward`` and their one-step ``*_cell_*`` functions; the sequence
pass reuses the cell step); ``torch.nn.RNN``, ``torch.nn.LSTM`` and ``torch.nn.GRU``
computed by them (:class:`RNN`, :class:`LSTM`, :class:`GRU`, :class:`TimeDistributed`);
batches of different lengths (:func:`pad`, :func:`length_mask`, :func:`last_steps`,
:func:`masked_mean`); a character-level language model (:class:`CharLM`,
:func:`perplexity`, :func:`temperature_softmax`, :func:`sample_text`, and the
counting baselines :func:`unigram_log_probs`, :func:`bigram_log_probs`,
:func:`ngram_log_probs`); several small networks trained at once as one layer, for
comparisons over many seeds (:func:`side_by_side`, :class:`NextSymbols`,
:func:`train_side_by_side`, :func:`solved`); attention and a small encoder-decoder
(:func:`attention`, :class:`Seq2Seq`); and the forecasters of the real-data pages
(:class:`Forecaster`, :func:`fit_forecaster`, :func:`ar_fit`,
:func:`recursive_forecast`).
"""

from nnbook.rnn import (
    _attention,
    _forecast,
    _gru,
    _language,
    _modules,
    _padding,
    _recurrent,
    _side_by_side,
)
from nnbook.rnn._attention import *  # noqa: F403
from nnbook.rnn._forecast import *  # noqa: F403
from nnbook.rnn._gru import *  # noqa: F403
from nnbook.rnn._language import *  # noqa: F403
from nnbook.rnn._modules import *  # noqa: F403
from nnbook.rnn._padding import *  # noqa: F403
from nnbook.rnn._recurrent import *  # noqa: F403
from nnbook.rnn._side_by_side import *  # noqa: F403

__all__ = [
    *_recurrent.__all__,
    *_modules.__all__,
    *_forecast.__all__,
    *_gru.__all__,
    *_language.__all__,
    *_padding.__all__,
    *_attention.__all__,
    *_side_by_side.__all__,
]
