"""Longest UI-thread stall while opening a 300-slice series, scrolling through it and analysing 9 slices (goal:
≤ 50 ms each).

A QTimer heartbeat fires every 5 ms on the UI thread of a real MainWindow; the longest gap between two beats during
a phase is the longest time the window could not react. Phases:

1. open a synthetic 300-slice MR series (tests/dicom_factory.py, 256×256) until the load worker has finished;
2. scroll 100 slices down from the middle, one every 20 ms (a quick wheel), through slices not yet decoded, until
   the last is shown;
3. the first analysis of the 9 central slices: the model's helper process starts (TensorFlow import + model build
   there), then 9 slices;
4. a second analysis of the same 9 slices (model already loaded);
5. and 6. open a 120-slice JPEG 2000 series of 512×512 slices, whose pixels cost more to decode, and scroll it as in 2.

The shipped model is used when models/manifest.json exists, else the tiny random-weight test model (written by a
subprocess, so this process never imports TensorFlow, as the application never does).

    python benchmarks/bench_ui_stall.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from PySide6.QtCore import QEventLoop, QObject, QSettings, QTimer, Slot  # noqa: E402 - after the environment is set
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.model.classifier import MANIFEST_NAME  # noqa: E402
from core.paths import models_dir  # noqa: E402

HEARTBEAT_MS = 5
CONDITION_CHECK_MS = 10  # how often `wait_until` looks at its condition when no event wakes it
GOAL_MS = 50.0
SERIES_SLICES = 300
SCROLL_STEPS, SCROLL_INTERVAL_MS = 100, 20
COMPRESSED_SLICES, COMPRESSED_SIZE = 120, 512


class Heartbeat(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.beats: list[float] = []
        self._timer = QTimer(self)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)

    @Slot()
    def _beat(self) -> None:
        self.beats.append(time.perf_counter())

    def start(self) -> None:
        self.beats = [time.perf_counter()]
        self._timer.start()

    def longest_gap_ms(self) -> float:
        self._timer.stop()
        self.beats.append(time.perf_counter())
        return float(np.max(np.diff(self.beats))) * 1000.0


def wait_until(app: QApplication, condition: Callable[[], bool], timeout_s: float) -> None:
    """Run the event loop, sleeping between events as `app.exec()` does, until `condition()` holds.

    Not `processEvents(flags, ms)`: that overload drops WaitForMoreEvents and returns at once when idle, so a loop
    over it kept one of the 2 cores busy, leaving the model's helper process one core and the window's analysis
    ~1.7× slower than the same pipeline (issue 12). A timer wakes the wait to check `condition()` even when nothing
    else happens."""
    deadline = time.perf_counter() + timeout_s
    wake = QTimer()
    wake.start(CONDITION_CHECK_MS)
    try:
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the phase did not finish in time")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finally:
        wake.stop()


def scroll(app: QApplication, viewer) -> Callable[[], bool]:
    """Start stepping the viewer one slice every SCROLL_INTERVAL_MS; the condition that it has shown the last."""
    timer, steps = QTimer(app), [0]
    timer.setInterval(SCROLL_INTERVAL_MS)

    def step() -> None:
        viewer.step(1)
        steps[0] += 1
        if steps[0] == SCROLL_STEPS:
            timer.stop()

    timer.timeout.connect(step)
    timer.start()
    return lambda: steps[0] == SCROLL_STEPS and not getattr(viewer, "slice_loading", False)


def resident_mib(pid: int | str | None) -> str:
    """VmRSS of a process from /proc (Linux), as "N MiB"; "n/a" elsewhere."""
    status = Path(f"/proc/{pid}/status")
    if pid is None or not status.is_file():
        return "n/a"
    kib = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmRSS:"))
    return f"{kib / 1024:.0f} MiB"


def model_folder(scratch: Path) -> Path | None:
    """None = the shipped model; else a tiny test model written by a subprocess."""
    if (models_dir() / MANIFEST_NAME).is_file():
        return None
    folder = scratch / "tiny-model"
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from tests.model_fixtures import write_tiny_model; write_tiny_model(Path(sys.argv[1]))",
                    str(folder)], cwd=REPO_ROOT, check=True, stderr=subprocess.DEVNULL)
    return folder


def main() -> None:
    from pydicom.uid import JPEG2000Lossless

    from desktop.app import apply_app_identity, start
    from desktop.study_loading import store_recent_studies
    from tests.dicom_factory import write_mr_series

    scratch = Path(tempfile.mkdtemp(prefix="bench_ui_stall_"))
    write_mr_series(scratch / "mr300", n_slices=SERIES_SLICES, rows=256, cols=256)
    write_mr_series(scratch / "j2k", n_slices=COMPRESSED_SLICES, rows=COMPRESSED_SIZE, cols=COMPRESSED_SIZE,
                    transfer_syntax=JPEG2000Lossless, SeriesInstanceUID="1.2.826.0.1.3680043.9.7.2")
    model = model_folder(scratch)
    # A returning user (a recent study exists, so nothing opens at start) in settings of its own.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    apply_app_identity(QApplication(sys.argv[:1]))  # start() reuses this application
    store_recent_studies([str(scratch / "mr300")])
    app, window = start([], model)  # as the application starts: heap frozen, settings, logging
    wait_until(app, lambda: window.isVisible() and window.viewer.isVisible(), 10)
    app.processEvents()  # the window's first paint is part of launch, not of opening
    heartbeat = Heartbeat()
    results: list[tuple[str, float, float]] = []

    def phase(name: str, begin, finished, timeout_s: float) -> None:
        heartbeat.start()
        started = time.perf_counter()
        begin()
        wait_until(app, finished, timeout_s)
        results.append((name, time.perf_counter() - started, heartbeat.longest_gap_ms()))

    phase(f"open {SERIES_SLICES}-slice series", lambda: window.open_paths([scratch / "mr300"]),
          lambda: window.study is not None and not window.loading.busy, 300)

    def scroll_phase(name: str) -> None:
        scrolled: list[Callable[[], bool]] = []
        phase(name, lambda: scrolled.append(scroll(app, window.viewer)), lambda: bool(scrolled) and scrolled[0](), 120)

    scroll_phase(f"scroll {SCROLL_STEPS} slices, one per {SCROLL_INTERVAL_MS} ms")
    finished: list[object] = []
    window.analysisFinished.connect(finished.append)
    for run, name in enumerate(("analyse 9 slices (first: model process starts)", "analyse 9 slices (model loaded)")):
        phase(name, window.start_analysis,
              lambda run=run: len(finished) > run and not window.analysis.busy, 900)
    phase(f"open {COMPRESSED_SLICES}-slice JPEG 2000 {COMPRESSED_SIZE}² series",
          lambda: window.open_paths([scratch / "j2k"]),
          lambda: len(window.current_series or ()) == COMPRESSED_SLICES and not window.loading.busy, 300)
    scroll_phase(f"scroll {SCROLL_STEPS} of its slices, one per {SCROLL_INTERVAL_MS} ms")
    memory = f"resident memory: app {resident_mib('self')}, model helper {resident_mib(window.classifier.pid)}"
    window.close()
    shutil.rmtree(scratch, ignore_errors=True)

    print(f"model: {'shipped' if model is None else 'tiny random-weight test model'}; {os.cpu_count()} CPUs; "
          f"heartbeat {HEARTBEAT_MS} ms; platform {os.environ['QT_QPA_PLATFORM']}")
    for name, seconds, gap in results:
        verdict = "ok" if gap <= GOAL_MS else "OVER GOAL"
        print(f"  {name:52s} took {seconds:6.2f} s   longest UI gap {gap:6.1f} ms  {verdict}")
    print(f"  {memory}")


if __name__ == "__main__":
    main()
