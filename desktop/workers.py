"""Background work, as QObjects moved to QThreads, so the UI thread only paints and reacts.

Each worker has `run()` (connected to `QThread.started`), a `cancel()` that only sets a thread-safe flag (the worker is
busy inside `run`, so a queued slot would never be delivered in time), and an `ended` signal emitted last whatever
happened, which `BackgroundJobs` uses to stop and clean up the thread. Signals carry plain `core` objects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from core.errors import BrainMriError, ModelIntegrityError, ModelMissingError

if TYPE_CHECKING:
    import numpy as np

    from core.io.load import Series, SeriesInfo, Slice
    from core.model.remote import ClassifierProcess


def describe_error(error: BaseException) -> str:
    """A sentence for the user: `core` errors already carry file and reason; anything else is named by its type."""
    if isinstance(error, BrainMriError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class _Worker(QObject):
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._cancel_requested = threading.Event()

    def cancel(self) -> None:
        self._cancel_requested.set()

    def is_cancel_requested(self) -> bool:
        return self._cancel_requested.is_set()

    @Slot()
    def run(self) -> None:
        try:
            self._work()
        except Exception as error:  # any failure becomes a message; the app must stay usable
            if self.is_cancel_requested():
                self.cancelled.emit()  # e.g. the model's helper ended on quit: a consequence of cancelling, no error
            else:
                self.failed.emit(describe_error(error))
        finally:
            self.ended.emit()

    def _work(self) -> None:
        raise NotImplementedError


class StudyLoadWorker(_Worker):
    """Scans files or folders with `core.io.load.load_study`, then decodes what the window shows first.

    `loaded(Study)` comes as soon as the first series' middle slice is decoded (its pixels are then in the slice
    cache); then, one series at a time,
    `seriesPrepared(series_index, chosen slice indices, thumbnail uint8 image)` with the central slices chosen for
    analysis (`core.analysis.selection.central_slices` decodes them, which is why it runs here rather than on the UI
    thread).
    """

    progress = Signal(int, int)
    loaded = Signal(object)
    seriesPrepared = Signal(int, object, object)

    def __init__(self, paths: Sequence[Path], analysis_slice_count: int) -> None:
        super().__init__()
        self._paths = list(paths)
        self._analysis_slice_count = analysis_slice_count

    def _work(self) -> None:
        from core.analysis.selection import central_slices
        from core.io.load import load_study
        from core.logging_setup import register_study_phi

        study = load_study(self._paths, progress=self.progress.emit, should_cancel=self.is_cancel_requested)
        register_study_phi(study)  # from here on, any log record naming this patient is redacted
        if study.cancelled:
            self.cancelled.emit()
            return
        if study.series:
            _middle_display(study.series[0])
        self.loaded.emit(study)
        for series_index, series in enumerate(study.series):
            if self.is_cancel_requested():
                return
            chosen = [slice_.index for slice_ in central_slices(series, self._analysis_slice_count)]
            self.seriesPrepared.emit(series_index, chosen, _middle_display(series))


def _middle_display(series: Series) -> np.ndarray | None:
    """The middle slice's display image (the one the viewer opens on), None when it cannot be decoded."""
    try:
        return series.slices[len(series.slices) // 2].display()
    except BrainMriError:
        return None


class AnalysisWorker(_Worker):
    """Runs the classifier over the chosen slices (in batches, `core.analysis.results.iter_analysis`), streaming one
    `SliceResult` at a time.

    The first run starts the model's helper process and loads the model there, announced by `modelLoading`; a
    missing or tampered model is reported by `modelUnavailable(reason)` rather than `failed`, because the window must
    then disable analysis for good.
    """

    modelLoading = Signal()
    modelReady = Signal()
    modelUnavailable = Signal(str)
    sliceDone = Signal(object)
    progress = Signal(int, int)
    finished = Signal(object)

    def __init__(self, classifier: ClassifierProcess, slices: Sequence[Slice], series_info: SeriesInfo | None,
                 series_length: int | None = None) -> None:
        super().__init__()
        self._classifier = classifier
        self._slices = list(slices)
        self._series_info = series_info
        self._series_length = series_length

    def _work(self) -> None:
        from core.analysis.results import aggregate, iter_analysis

        if not self._classifier.is_loaded:
            self.modelLoading.emit()
            try:
                self._classifier.load()
            except (ModelMissingError, ModelIntegrityError) as error:
                self.modelUnavailable.emit(describe_error(error))
                return
            self.modelReady.emit()
        total = len(self._slices)
        self.progress.emit(0, total)
        results = []
        for result in iter_analysis(self._slices, self._classifier, should_cancel=self.is_cancel_requested):
            if self.is_cancel_requested():
                break  # the rest of a batch that was in flight when Cancel came is not shown
            results.append(result)
            self.sliceDone.emit(result)
            self.progress.emit(len(results), total)
        if self.is_cancel_requested():
            self.cancelled.emit()
            return
        self.finished.emit(aggregate(results, self._classifier.manifest, self._series_info,
                                     series_length=self._series_length))


class TaskWorker(_Worker):
    """Runs one call off the UI thread (report and export writing); `done(result)` or `failed(reason)`."""

    done = Signal(object)

    def __init__(self, task: Callable[[], object]) -> None:
        super().__init__()
        self._task = task

    def _work(self) -> None:
        self.done.emit(self._task())


class BackgroundJobs(QObject):
    """Starts workers in their own QThreads and keeps both alive until the thread has really finished.

    Lives on the UI thread, so `_forget` runs there (queued) rather than in the ending thread itself.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[QThread, _Worker] = {}

    def start(self, worker: _Worker) -> QThread:
        thread = QThread()
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # Direct: QThread.quit is thread-safe, and a queued call would wait for the UI thread, which may itself be
        # waiting for this thread in shutdown().
        worker.ended.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._forget)
        self._running[thread] = worker
        thread.start()
        return thread

    @Slot()
    def _forget(self) -> None:
        for thread in [thread for thread in self._running if thread.isFinished()]:
            thread.wait()
            del self._running[thread]

    def cancel_all(self) -> None:
        for worker in list(self._running.values()):
            worker.cancel()

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Cancels every worker and waits for the threads (on quit: the model may be mid-slice)."""
        self.cancel_all()
        for thread in list(self._running):
            thread.wait(timeout_ms)
        self._running.clear()
