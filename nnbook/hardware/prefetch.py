"""Asynchronous mini-batch loading: a background thread keeps the next batches ready.

While the model computes on batch k, a thread produces batch k + 1 (reads it from disk,
decodes it, copies it to pinned memory). If loading takes ``L`` seconds per batch and
computing ``C``, an epoch of ``n`` batches takes about ``n (L + C)`` without prefetching
and ``n max(L, C)`` with it.
"""

from __future__ import annotations

import queue
import threading

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

    def __init__(self, iterable, depth=2, transform=None):
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be an int >= 1, got {depth!r}")
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._transform = transform
        self._thread = threading.Thread(
            target=self._produce,
            args=(iter(iterable),),
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
