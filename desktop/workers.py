"""Background work on superqt's workers, so the UI thread only paints and reacts.

Long work is a generator (`GeneratorWorker`): what it yields arrives on the UI thread as `yielded`, what it returns
as `returned`, an exception as `errored`; `quit()` asks it to stop at its next yield, and the work itself asks
`should_cancel()` (true once `quit()` was called) where it can stop sooner (between batches of slices). `finished`
comes last whatever happened. One-off calls (exports, settings, loading the model) are `FunctionWorker`s
(`run_task`). `BackgroundJobs` starts them and, on quit, asks them all to stop and waits for them.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer
from superqt.utils import FunctionWorker, GeneratorWorker, WorkerBase

from core.errors import BrainMriError

if TYPE_CHECKING:
    import numpy as np

    from core.analysis.results import SliceResult, StudyResult
    from core.io.load import Series, Slice, Study
    from core.model.remote import ClassifierProcess

log = logging.getLogger(__name__)

# Workers wait (for the model's helper, the disk) far more than they compute, and a decode for the viewer must not
# queue behind a model that is loading: more pool threads than the machine's cores (Qt's default).
MIN_POOL_THREADS = 8


def describe_error(error: BaseException) -> str:
    """A sentence for the user: `core` errors already carry file and reason; anything else is named by its type."""
    if isinstance(error, BrainMriError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _run(worker: WorkerBase) -> None:
    """superqt's `WorkerBase.run` less two things that hurt here. It takes a `RuntimeError` from the work for "the
    worker was deleted" and then emits neither `errored` nor `finished`: the window stayed busy for good and quitting
    waited 30 s (the model's helper turns errors it cannot pickle into `RuntimeError`). And it swaps the process-wide
    warning filters and `warnings.showwarning` from the worker's thread, which is not thread-safe: overlapping workers
    left them pointing at a finished worker, so warnings bypassed the log and its patient-data guard."""
    worker.started.emit()
    worker._running = True
    try:
        result = worker.work()
        if isinstance(result, Exception):  # GeneratorWorker.work returns a RuntimeError its generator raised
            raise result
        if not worker.abort_requested:
            worker.returned.emit(result)
    except Exception as error:
        worker.errored.emit(error)
    worker._running = False
    worker.finished.emit()
    worker._finished.emit(worker)


class TaskWorker(FunctionWorker):
    """One call off the UI thread (`run_task`)."""

    def run(self) -> None:
        _run(self)


class StepsWorker(GeneratorWorker):
    """A generator off the UI thread (`generator_worker`): its steps arrive as `yielded`."""

    def run(self) -> None:
        _run(self)


def generator_worker(function: Callable[..., Generator[Any, Any, Any]], *args: object) -> GeneratorWorker:
    """A worker over `function(*args, should_cancel=...)`, whose `should_cancel()` is true once the worker's
    `quit()` was called (not started: `BackgroundJobs.start` it)."""
    created: list[weakref.ref[GeneratorWorker]] = []  # weak: the generator holds `should_cancel` for its lifetime

    def should_cancel() -> bool:
        worker = created[0]() if created else None
        return worker is not None and worker.abort_requested

    worker = StepsWorker(function, *args, should_cancel=should_cancel)
    created.append(weakref.ref(worker))
    return worker


def run_task(jobs: BackgroundJobs, task: Callable[[], object], done: Callable[[Any], None] | None = None,
             failed: Callable[[str], None] | None = None) -> FunctionWorker:
    """Run one call off the UI thread; `done(result)` or `failed(reason)` on the UI thread."""
    worker = TaskWorker(task)
    if done is not None:
        worker.returned.connect(done)
    if failed is not None:
        worker.errored.connect(lambda error: failed(describe_error(error)))
    jobs.start(worker)
    return worker


# ----- opening a study ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesPrepared:
    """A series' central slices chosen for analysis, and its thumbnail (None when it cannot be decoded)."""

    series_index: int
    chosen: list[int]
    thumbnail: np.ndarray | None


def load_study_steps(paths: Sequence[Path], analysis_slice_count: int, progress: Callable[[int, int], None],
                     should_cancel: Callable[[], bool]) -> Generator[Study | SeriesPrepared, None, None]:
    """Open files or folders with `core.analysis.pipeline.open_study`, then decode what the window shows first.

    Yields the `Study` as soon as the middle slice and automatic window of the series the window opens on
    (`series_to_open`) are decoded (its pixels are then in the slice cache); then, one series at a time, that series
    first, `SeriesPrepared` with the central slices chosen for analysis
    (`core.analysis.pipeline.default_analysis_set` decodes them, which is why it runs here rather than on the UI
    thread). Nothing is yielded when the scan was cancelled."""
    from core.analysis.pipeline import default_analysis_set, open_study, series_to_open

    study = open_study(list(paths), progress=progress, should_cancel=should_cancel)  # registers the patient's PHI
    if study.cancelled:
        return
    opened = series_to_open(study.series)
    if opened >= 0:
        _middle_display(study.series[opened])
    yield study
    for series_index in sorted(range(len(study.series)), key=lambda index: index != opened):
        series = study.series[series_index]
        yield SeriesPrepared(series_index, default_analysis_set(series, analysis_slice_count), _middle_display(series))


def _middle_display(series: Series) -> np.ndarray | None:
    """The middle slice's display image (the one the viewer opens on), None when it cannot be decoded; and the
    series' automatic window, which the viewer's presets offer (here rather than on the UI thread: it decodes)."""
    middle = series.slices[len(series.slices) // 2]
    try:
        middle.automatic_window()
        return middle.display()
    except BrainMriError:
        return None


# ----- analysis ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelLoading:
    """Yielded before the first analysis loads the model in its helper process (seconds), and with `ready` once
    it is loaded."""

    ready: bool = False


def analysis_steps(
    classifier: ClassifierProcess, series: Series, slices: Sequence[Slice], should_cancel: Callable[[], bool],
) -> Generator[SliceResult | ModelLoading, None, StudyResult | None]:
    """The analysis worker's work: load the model if needed (a missing or tampered model raises `ModelMissingError`
    / `ModelIntegrityError`), then `core.analysis.pipeline.analyse_series` (None when cancelled)."""
    from core.analysis.pipeline import analyse_series

    if not classifier.is_loaded:
        yield ModelLoading()
        classifier.load()
        yield ModelLoading(ready=True)
    return (yield from analyse_series(series, classifier, slices, should_cancel))


# ----- running them ------------------------------------------------------------------------------------------------


class BackgroundJobs(QObject):
    """Starts workers on the thread pool and keeps them until they have finished; on quit, `shutdown` asks them
    all to stop and waits for them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        pool = QThreadPool.globalInstance()
        pool.setMaxThreadCount(max(pool.maxThreadCount(), MIN_POOL_THREADS))
        self._running: dict[WorkerBase, threading.Event] = {}
        self.closed = False  # set by `shutdown`: nothing more should start (the window is closing)

    def start(self, worker: WorkerBase) -> WorkerBase:
        done = threading.Event()
        # Direct: set in the worker's thread as it finishes, so `shutdown` can wait without the UI thread's events.
        worker.finished.connect(done.set, Qt.ConnectionType.DirectConnection)
        # Forgotten when its own `finished` reaches the UI thread, after what it returned or yielded: dropping the last
        # reference earlier deletes its signals object, and with it those queued signals (a reopened case's results
        # were lost that way when another worker's end came first).
        forget = weakref.ref(worker)  # weak: the connection must not keep the worker (and what it holds) alive
        worker.finished.connect(lambda: self._forget(forget()))
        self._running[worker] = done
        # Straight to the pool rather than `worker.start()`, which defers the start by a timer on the UI thread when
        # its event loop runs: a worker still waiting for that timer would keep `shutdown` waiting.
        QThreadPool.globalInstance().start(worker)
        return worker

    def _forget(self, worker: WorkerBase | None) -> None:
        """Drop a worker whose `finished` has reached the UI thread. Not at once: this runs inside that emission, and
        releasing the last reference there deletes the worker's signal object mid-emission (a segfault, seen in the
        GUI tests); a zero-time timer holds it until the event loop's next turn."""
        if worker is not None and self._running.pop(worker, None) is not None:
            QTimer.singleShot(0, lambda: worker)

    def workers(self) -> list[WorkerBase]:
        return list(self._running)

    def cancel_all(self) -> None:
        for worker in list(self._running):
            worker.quit()

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Asks every worker to stop and waits for each (on quit: the model may be mid-slice)."""
        self.closed = True
        self.cancel_all()
        for worker, done in list(self._running.items()):
            if not done.wait(timeout_ms / 1000):
                log.warning("A background worker did not stop within %d ms", timeout_ms)
        self._running.clear()
