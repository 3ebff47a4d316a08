"""Decoding for the slice viewer off the UI thread: the shown slice when it is not cached, then its neighbours.

The viewer asks `Slice.cached_display` first; on a miss it asks a `SliceLoader`, whose worker decodes the slice
(`Slice.display`, which also computes the series' automatic window the first time) and hands the image back on the
UI thread as `decoded`. After the shown slice the same worker decodes the next slices in the scroll direction
(`PREFETCH_AHEAD`) and the one behind (`PREFETCH_BEHIND`), so scrolling on finds them in the cache.

Prefetching pauses while a study is being opened (`prefetch_paused`): the load worker is then decoding slices
itself (the central slices it chooses, the thumbnails), and a second decoding thread made the UI thread wait for the
interpreter lock (a 120-slice JPEG 2000 series: longest UI gap 32-55 ms while opening, 22-30 ms without prefetch).

The work is bounded: one worker at a time. A new request quits the running worker (it stops before its next slice)
and waits until that has finished; only the latest request waits, so scrolling quickly past many slices skips the
ones the user has already left rather than queueing a decode for each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker

from core.errors import BrainMriError
from core.io.load import Series, Slice
from core.io.windowing import Window
from desktop.workers import BackgroundJobs, describe_error, generator_worker

log = logging.getLogger(__name__)

#: Slices decoded ahead of the shown one in the direction the user is scrolling, and behind it.
PREFETCH_AHEAD = 2
PREFETCH_BEHIND = 1


@dataclass(frozen=True)
class SliceRequest:
    """What the viewer wants painted: a slice of a series in a window (None: the slice's default)."""

    series: Series
    index: int
    window: Window | None

    @property
    def slice_(self) -> Slice:
        return self.series.slices[self.index]


@dataclass(frozen=True)
class SliceDecoded:
    """A request's display image, or why the slice cannot be shown (`image` None)."""

    request: SliceRequest
    image: np.ndarray | None
    error: str = ""


def window_presets(slice_: Slice) -> list[Window]:
    """Windows offered for a slice: the file's own, the series' automatic one, and narrower/wider versions of the
    default — as far as they are known without decoding (the UI thread asks; a worker computes the rest)."""
    default, automatic = slice_.known_default_window(), slice_.known_automatic_window()
    presets = list(slice_.windows) + ([automatic] if automatic is not None else [])
    if default is not None:
        presets.append(default.adjusted(default.center, default.width * 0.6, "High contrast"))
        presets.append(default.adjusted(default.center, default.width * 1.6, "Low contrast"))
    return presets


def neighbours(index: int, count: int, direction: int) -> list[int]:
    """The slices to prefetch around `index`, nearest first, ahead (`direction` ±1) before behind."""
    ahead = [index + direction * step for step in range(1, PREFETCH_AHEAD + 1)]
    behind = [index - direction * step for step in range(1, PREFETCH_BEHIND + 1)]
    return [neighbour for neighbour in ahead + behind if 0 <= neighbour < count]


def decode_steps(request: SliceRequest, shown_needed: bool, prefetch: Sequence[int],
                 should_cancel: Callable[[], bool]) -> Generator[SliceDecoded, None, None]:
    """The loader's worker: the requested slice (when `shown_needed`), yielded, then the `prefetch` slices into the
    caches, stopping when cancelled."""
    if shown_needed:
        yield decode(request)
    for index in prefetch:
        if should_cancel():
            return
        try:
            request.series.slices[index].display(request.window)
        except BrainMriError:
            continue  # its message is shown if the user gets there


def decode(request: SliceRequest) -> SliceDecoded:
    """The request's display image, and the automatic window the presets and the corner text show."""
    slice_ = request.slice_
    try:
        image = slice_.display(request.window)
        slice_.automatic_window()  # once per series; a slice's own from its now cached pixels
    except BrainMriError as error:  # one broken file in a series must not stop browsing
        return SliceDecoded(request, None, error.reason)
    except Exception as error:  # a bug must not leave the viewer waiting: shown as the slice's message
        log.exception("Decoding %s failed", slice_.label)
        return SliceDecoded(request, None, describe_error(error))
    return SliceDecoded(request, image)


class SliceLoader(QObject):
    """Decodes what the viewer asks for on the thread pool, one worker at a time; `decoded(SliceDecoded)` on the
    UI thread for each requested slice it had to decode (the viewer ignores one it no longer shows)."""

    decoded = Signal(object)

    def __init__(self, jobs: BackgroundJobs, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._worker: GeneratorWorker | None = None
        self._waiting: tuple[SliceRequest, bool, list[int]] | None = None  # the latest request while one runs
        self._requested: SliceRequest | None = None  # the request of the running or waiting work
        self._last: tuple[Series, int] | None = None
        self._direction = 1
        self.prefetch_paused = False  # set while a study is opened; the shown slice is still decoded

    @property
    def busy(self) -> bool:
        return self._worker is not None or self._waiting is not None

    def load(self, request: SliceRequest, shown_needed: bool) -> None:
        """Decode the request's slice if `shown_needed`, then prefetch its neighbours when the slice has changed
        (a new window alone does not prefetch: dragging W/L would decode the neighbours at every step)."""
        moved = self._last != (request.series, request.index)
        if self._last is not None and self._last[0] is request.series and moved:
            self._direction = 1 if request.index > self._last[1] else -1
        self._last = (request.series, request.index)
        prefetch = neighbours(request.index, len(request.series), self._direction) \
            if moved and not self.prefetch_paused else []
        if (not shown_needed and not prefetch) or (not moved and request == self._requested and self.busy):
            return  # nothing to decode, or it is being decoded (a repaint while it loads)
        self._waiting, self._requested = (request, shown_needed, prefetch), request
        if self._worker is not None:
            self._worker.quit()  # stops before its next slice; the waiting request starts when it has finished
        else:
            self._start_waiting()

    def cancel(self) -> None:
        """Nothing more to show (the series is closed): stop decoding."""
        self._waiting, self._last, self._requested = None, None, None
        if self._worker is not None:
            self._worker.quit()

    def _start_waiting(self) -> None:
        work, self._waiting = self._waiting, None
        if work is None or self._jobs.closed:
            return
        worker = generator_worker(decode_steps, *work)
        worker.yielded.connect(self.decoded.emit)
        worker.errored.connect(lambda error: log.error("Prefetching slices failed: %s", describe_error(error)))
        worker.finished.connect(self._finished)
        self._worker = worker
        self._jobs.start(worker)

    def _finished(self) -> None:
        self._worker = None
        self._start_waiting()
