"""Asynchronous mini-batch loading: a background thread keeps the next batches ready.

While the model computes on batch k, a thread produces batch k + 1 (reads it from disk,
decodes it, copies it to pinned memory). If loading takes ``L`` seconds per batch and
computing ``C``, an epoch of ``n`` batches takes about ``n (L + C)`` without prefetching
and ``n max(L, C)`` with it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from nnbook.contract import Instance, Int, Real, contract

__all__ = ["Prefetcher"]

_DONE = object()


class _Failure:
    def __init__(self, error):
        self.error = error


class Prefetcher:
    """Iterate over ``iterable`` while a background thread produces up to ``depth`` items ahead.

    Items come out in the order the iterable produces them. An exception raised by the
    iterable is raised again in the consumer, at the position where it happened. The
    thread stops when the iterable is exhausted, when :meth:`close` is called, or when
    the ``with`` block ends, even if iteration stopped early.

    Parameters
    ----------
    iterable : iterable
    depth : int, default 2
        How many items may wait, ready, in the queue.
    transform : callable, optional
        Applied to each item in the background thread, for example
        ``lambda batch: batch.pin_memory()``.

    Examples
    --------
    >>> with Prefetcher(range(3)) as batches:
    ...     list(batches)
    [0, 1, 2]
    """

    @contract(depth=Int(low=1), transform=Instance(Callable, optional=True))
    def __init__(self, iterable, depth=2, transform=None):
        try:
            iterator = iter(iterable)
        except TypeError:
            raise TypeError(
                "iterable must be something to iterate over, such as a list "
                f"or a generator, got {type(iterable).__name__}"
            ) from None
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._transform = transform
        self._thread = threading.Thread(
            target=self._produce,
            args=(iterator,),
            daemon=True,
            name="nnbook-prefetcher",
        )
        self._thread.start()

    def _put(self, item):
        """Put ``item`` in the queue unless asked to stop; True if it went in."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, iterator):
        try:
            for item in iterator:
                if self._transform is not None:
                    item = self._transform(item)
                if not self._put(item):
                    return
        except BaseException as error:  # noqa: BLE001 (handed to the consumer, who re-raises it)
            self._put(_Failure(error))
            return
        self._put(_DONE)

    def __iter__(self):
        return self

    def __next__(self):
        if self._stop.is_set():
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item

    def close(self):
        """Stop the background thread and wait for it to finish."""
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    @property
    def alive(self):
        """Whether the background thread is still running."""
        return self._thread.is_alive()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        stop = getattr(self, "_stop", None)  # absent if __init__ failed
        if stop is not None:
            stop.set()


@contract(
    "eq-hw-epoch-time",
    n=Int(low=1),
    load=Real(low=0),
    compute=Real(low=0),
    reference="closed form; a simulated time line",
)
def epoch_times(n, load, compute):
    r"""Seconds of an epoch of ``n`` batches, without and with prefetching.

    Implements :eq:`eq-hw-epoch-time`:

    .. math::
        \begin{aligned}
        t_{\text{sequential}} &= n \, (L + C), \\
        t_{\text{prefetched}} &= L + (n - 1) \max(L, C) + C \\
        &= n \max(L, C) + \min(L, C) .
        \end{aligned}

    Without prefetching each batch is loaded, then computed on. With it, loading
    batch :math:`k + 1` overlaps computing on batch :math:`k`; only the first load
    and the last computation overlap with nothing. The prefetcher is assumed to keep
    at least one batch ready, so loading never waits for room.

    Parameters
    ----------
    n : int
        Batches in the epoch, at least 1.
    load, compute : float
        Seconds to load one batch (:math:`L`) and to compute on it (:math:`C`).

    Returns
    -------
    tuple of float
        ``(sequential, prefetched)`` seconds.
    """
    return n * (load + compute), n * max(load, compute) + min(load, compute)


__all__ += ["epoch_times"]
