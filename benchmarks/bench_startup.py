"""Launch → window usable, next to the time of `import tensorflow`, measured in the same run.

Each launch is a fresh interpreter (`python benchmarks/bench_startup.py --child`) running `desktop.app.start`, the
same code as `brainmri`, on an empty settings folder (so the sample study is queued to open, as on first run). The
clock starts before the process is spawned and stops when the window has painted and the event loop is idle, i.e.
when a click would be handled; the time until the sample study's first slice is shown is printed too.
`import tensorflow` is timed the same way (spawn → imported). Uses the display in $DISPLAY when there is one (run
under `xvfb-run` for a real X server), else Qt's offscreen platform.

    python benchmarks/bench_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
READY = "window-usable"
SLICE_SHOWN = "first-slice-shown"


def child() -> None:
    """Run in the spawned interpreter: start the app and report the two moments on stdout."""
    sys.path.insert(0, str(REPO_ROOT))
    from PySide6.QtCore import QEvent, QObject, QTimer

    from desktop.app import start

    app, window = start([])

    def report(what: str) -> None:
        print(what, flush=True)

    class FirstPaint(QObject):
        """After the window's first paint, a zero timer fires when the event loop is idle again."""

        seen = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not self.seen:
                self.seen = True
                QTimer.singleShot(0, lambda: report(READY))
            return False

    painted = FirstPaint()
    window.installEventFilter(painted)
    window.studyLoaded.connect(lambda _study: QTimer.singleShot(0, lambda: (report(SLICE_SHOWN), window.close())))
    app.exec()


def spawn_and_time(arguments: list[str], markers: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds from spawn until each marker line appears on the child's stdout."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, *arguments], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    seen: dict[str, float] = {}
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() in markers and line.strip() not in seen:
            seen[line.strip()] = time.perf_counter() - started
    process.wait(timeout=120)
    missing = [marker for marker in markers if marker not in seen]
    if missing:
        raise RuntimeError(f"child never reported {missing} (exit code {process.returncode})")
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child()
        return
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    usable, first_slice, tensorflow = [], [], []
    for _ in range(arguments.runs):
        with tempfile.TemporaryDirectory() as home:  # fresh settings and logs: a first run
            env.update(HOME=home, XDG_CONFIG_HOME=f"{home}/.config", XDG_STATE_HOME=f"{home}/.state")
            times = spawn_and_time([__file__, "--child"], [READY, SLICE_SHOWN], env)
        usable.append(times[READY])
        first_slice.append(times[SLICE_SHOWN])
        tensorflow.append(spawn_and_time(["-c", "import tensorflow; print('imported', flush=True)"],
                                         ["imported"], env)["imported"])
    platform = env.get("QT_QPA_PLATFORM", f"X display {env.get('DISPLAY')}")
    print(f"platform: {platform}; {os.cpu_count()} CPUs; {arguments.runs} runs, median (min–max) seconds from spawn")
    for name, values in (("launch → window usable", usable), ("launch → sample study's first slice", first_slice),
                         ("python -c 'import tensorflow'", tensorflow)):
        print(f"  {name:38s} {statistics.median(values):6.2f}  ({min(values):.2f}–{max(values):.2f})")


if __name__ == "__main__":
    main()
