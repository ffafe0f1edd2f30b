"""Every dataset the book uses, from installed packages or generated: nothing is downloaded.

Images and signals (:func:`digits`, :func:`mnist5k`, :func:`mnist1d`), each a
:class:`Split` of float tensors scaled to [0, 1] and int64 labels, split the same way on
every machine (stratified, fixed seed); generated images of ten shapes in clutter, a
harder task, the same bit for bit on every CPU (:func:`shapes`, classes named in
:data:`SHAPES`); a table (:func:`weight_and_foot`); a noisy 1-D curve to regress
(:func:`noisy_sine`); time series
from statsmodels (:func:`sunspots`, :func:`co2`) and the :func:`windows` a forecaster
reads; and the symbolic sequence tasks of the recurrent chapter, as a
:class:`SequenceTask`. Generated English-like text with a known entropy rate, for the
language model (:func:`toy_english`, :func:`toy_english_entropy`,
:func:`toy_english_log_loss`, :func:`toy_english_char_probs`,
:func:`toy_english_sentences`), and the character helpers :func:`char_vocabulary`,
:func:`encode` and :func:`decode`. The 2-D toy densities live with the chapter that uses them,
:mod:`nnbook.invertible`; ``nnbook.data.toy2d`` and its siblings still lead there.
"""

from nnbook.data import (
    _curves,
    _images,
    _sequences,
    _series,
    _shapes,
    _tables,
    _text,
)
from nnbook.data._curves import *  # noqa: F403
from nnbook.data._images import *  # noqa: F403
from nnbook.data._sequences import *  # noqa: F403
from nnbook.data._series import *  # noqa: F403
from nnbook.data._shapes import *  # noqa: F403
from nnbook.data._tables import *  # noqa: F403
from nnbook.data._text import *  # noqa: F403

# Constants are named again here, so that their descriptions reach the API page.

#: The floating-point dtypes a loader can return its features in.
FLOATS = _images.FLOATS

#: The class names of :func:`shapes`, in label order.
SHAPES = _shapes.SHAPES

#: The words of :func:`toy_english`: determiners, adjectives, nouns and verbs, in that order.
WORDS = _text.WORDS

__all__ = [
    *_images.__all__,
    *_shapes.__all__,
    *_tables.__all__,
    *_curves.__all__,
    *_series.__all__,
    *_sequences.__all__,
    *_text.__all__,
]

_MOVED = {"TOY2D", "toy2d", "toy2d_entropy", "toy2d_log_density"}


def __getattr__(name):
    """The toy densities moved to :mod:`nnbook.invertible`; their old names still work."""
    if name in _MOVED:
        from nnbook.invertible import _densities

        return getattr(_densities, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
