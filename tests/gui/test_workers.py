"""Background workers: what a worker returns always reaches the UI thread, a RuntimeError is reported like any
error, the process-wide warning settings are left alone, and finished workers are not kept alive."""

from __future__ import annotations

import gc
import threading
import warnings
import weakref
from collections.abc import Callable, Generator

from PySide6.QtWidgets import QApplication

from desktop.workers import BackgroundJobs, generator_worker, run_task
from tests.gui.conftest import LOAD_TIMEOUT_MS


def test_a_result_reaches_the_ui_thread_even_when_another_worker_ended_first(qtbot) -> None:
    """Both tasks end before the UI thread looks, and nothing but the jobs holds them (as for a reopened case): the
    first end delivered must not drop the other's result."""
    jobs = BackgroundJobs()
    results: list[str] = []
    run_task(jobs, lambda: "first", done=lambda value: results.append(value))
    run_task(jobs, lambda: "second", done=lambda value: results.append(value))
    for ended in list(jobs._running.values()):  # done in their threads, nothing delivered yet
        assert ended.wait(LOAD_TIMEOUT_MS / 1000)
    qtbot.waitUntil(lambda: not jobs.workers(), timeout=LOAD_TIMEOUT_MS)
    QApplication.processEvents()
    assert sorted(results) == ["first", "second"]


def failing_steps(should_cancel: Callable[[], bool]) -> Generator[int, None, None]:
    yield 1
    raise RuntimeError("the model's helper ended: a TensorFlow error that could not be pickled")


def test_a_runtime_error_in_a_generator_worker_is_reported_and_the_worker_ends(qtbot) -> None:
    jobs = BackgroundJobs()
    worker = generator_worker(failing_steps)
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    with qtbot.waitSignal(worker.finished, timeout=LOAD_TIMEOUT_MS):
        jobs.start(worker)
    assert [type(error) for error in errors] == [RuntimeError]
    qtbot.waitUntil(lambda: not jobs.workers(), timeout=LOAD_TIMEOUT_MS)


def test_workers_leave_the_process_wide_warning_settings_alone(qtbot) -> None:
    """Two overlapping workers, the first to start ending first: the settings must be what they were before."""
    jobs = BackgroundJobs()
    filters, show = list(warnings.filters), warnings.showwarning
    started = [threading.Event(), threading.Event()]
    release = [threading.Event(), threading.Event()]

    def task(n: int) -> None:
        started[n].set()
        assert release[n].wait(LOAD_TIMEOUT_MS / 1000)

    first = run_task(jobs, lambda: task(0))
    assert started[0].wait(LOAD_TIMEOUT_MS / 1000)
    second = run_task(jobs, lambda: task(1))
    assert started[1].wait(LOAD_TIMEOUT_MS / 1000)
    for n, worker in enumerate((first, second)):
        release[n].set()
        assert jobs._running[worker].wait(LOAD_TIMEOUT_MS / 1000)
    assert warnings.filters == filters and warnings.showwarning is show


def test_finished_workers_are_not_kept_alive(qtbot) -> None:
    jobs = BackgroundJobs()
    payload = bytearray(1024)
    worker = run_task(jobs, lambda: len(payload), done=lambda _: None)
    alive = weakref.ref(worker)
    del worker
    qtbot.waitUntil(lambda: not jobs.workers(), timeout=LOAD_TIMEOUT_MS)

    def released() -> bool:
        # The pool's thread still holds the runnable for a moment after it reported its end (longer on a loaded
        # machine): wait for that, rather than expect it at once.
        QApplication.processEvents()
        gc.collect()
        return alive() is None

    qtbot.waitUntil(released, timeout=LOAD_TIMEOUT_MS)
