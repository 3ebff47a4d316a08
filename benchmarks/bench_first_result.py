"""Click → first result and click → verdict, with the model preloaded in the background against without (baseline).

Each run is a fresh interpreter (`python benchmarks/bench_first_result.py --child ...`) running `desktop.app.start`,
the same code as `brainmri`, offscreen, on an empty settings folder, so the bundled sample study opens as on first
run. A simulated user clicks Analyse a given time after the first slice shows (default: 2 s, and at once); when the
button is not enabled yet (the central slices are still being chosen) the click comes as soon as it is. The child
times, from the click, the first streamed result (`MainWindow.sliceAnalysed`) and the verdict
(`MainWindow.analysisFinished`), and says whether the model was ready at the click. Preload on (as shipped) and off
(`start(preload_model=False)`: the click loads the model) alternate, each in its own process; medians of the runs.
The model is the shipped one (the tiny test model when none is installed).

    python benchmarks/bench_first_result.py [--runs 3] [--delays 2 0]
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
FIRST_RESULT = "first-result"
VERDICT = "verdict"
READY_AT_CLICK = "model-ready-at-click"
CLICK_POLL_MS = 5  # how often the simulated user looks whether Analyse is enabled yet
CHILD_TIMEOUT_S = 300


def child(model: Path | None, preload: bool, delay_s: float) -> None:
    """Run in the spawned interpreter: start the app, click Analyse `delay_s` after the first slice shows, print
    "name seconds" lines for the moments after the click, then close."""
    sys.path.insert(0, str(REPO_ROOT))
    from PySide6.QtCore import QTimer

    from desktop.app import start

    app, window = start([], model, preload_model=preload)
    clicked_at: list[float] = []

    def report(name: str, value: float) -> None:
        print(f"{name} {value:.4f}", flush=True)

    def click_when_enabled() -> None:
        if not window.analyse_action.isEnabled():
            QTimer.singleShot(CLICK_POLL_MS, click_when_enabled)
            return
        report(READY_AT_CLICK, float(window.classifier.is_loaded))
        clicked_at.append(time.perf_counter())
        window.analyse_action.trigger()

    def first_result(_result: object) -> None:
        report(FIRST_RESULT, time.perf_counter() - clicked_at[0])
        window.sliceAnalysed.disconnect(first_result)  # the later results stream on unobserved

    def verdict(_result: object) -> None:
        report(VERDICT, time.perf_counter() - clicked_at[0])
        window.close()

    window.studyLoaded.connect(lambda _study: QTimer.singleShot(round(delay_s * 1000), click_when_enabled))
    window.sliceAnalysed.connect(first_result)
    window.analysisFinished.connect(verdict)
    window.analysisFailed.connect(lambda reason: (print(f"analysis failed: {reason}", file=sys.stderr),
                                                  window.close()))
    app.exec()


def timed_child(model: Path | None, preload: bool, delay_s: float, env: dict[str, str]) -> dict[str, float]:
    """One fresh process with fresh settings and logs; its "name seconds" lines."""
    arguments = [__file__, "--child", "--delay", str(delay_s), "--preload", "on" if preload else "off"]
    if model is not None:
        arguments += ["--model", str(model)]
    with tempfile.TemporaryDirectory() as home:
        env = {**env, "HOME": home, "XDG_CONFIG_HOME": f"{home}/.config", "XDG_STATE_HOME": f"{home}/.state"}
        done = subprocess.run([sys.executable, *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT_S, check=False)  # a failure is reported below, with its stderr
    times = dict(line.split(" ", 1) for line in done.stdout.splitlines()
                 if line.split(" ", 1)[0] in (FIRST_RESULT, VERDICT, READY_AT_CLICK))
    if done.returncode != 0 or not {FIRST_RESULT, VERDICT} <= times.keys():
        raise RuntimeError(f"child failed (exit code {done.returncode}): {done.stderr[-2000:]}")
    return {name: float(value) for name, value in times.items()}


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delays", type=float, nargs="+", default=[2.0, 0.0],
                        help="seconds from the first slice shown to the click")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--delay", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--preload", choices=("on", "off"), help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.model, arguments.preload == "on", arguments.delay)
        return

    # Imported here, not at the top: the model's helper process, spawned by a child, re-imports this module.
    # bench_ui_stall sets QT_QPA_PLATFORM=offscreen unless it is given, for the children too.
    from bench_ui_stall import model_folder

    from core.model.classifier import Classifier

    with tempfile.TemporaryDirectory() as scratch:
        model = model_folder(Path(scratch))
        manifest = Classifier(model).manifest
        env = dict(os.environ)
        timings: dict[tuple[float, bool], list[dict[str, float]]] = {}
        for run in range(arguments.runs):
            for delay in arguments.delays:
                for preload in (False, True) if run % 2 == 0 else (True, False):  # alternate which goes first
                    timings.setdefault((delay, preload), []).append(timed_child(model, preload, delay, env))

    print(f"model: {manifest.name} {manifest.version}, input {manifest.input_size}²; {os.cpu_count()} CPUs; platform "
          f"{env['QT_QPA_PLATFORM']}; sample study on first run; {arguments.runs} fresh processes each, median "
          "(min–max) seconds after the click")
    for delay in arguments.delays:
        when = f"{delay:g} s after the first slice shows" if delay else "as soon as Analyse is enabled"
        print(f"click {when}:")
        medians = {}
        for preload in (False, True):
            runs = timings[(delay, preload)]
            ready = sum(int(times[READY_AT_CLICK]) for times in runs)
            label = "preload on (as shipped)" if preload else "preload off (baseline)"
            first, verdict = ([times[name] for times in runs] for name in (FIRST_RESULT, VERDICT))
            medians[preload] = statistics.median(first), statistics.median(verdict)
            print(f"  {label:24s} click → first result {summary(first)}   click → verdict {summary(verdict)}   "
                  f"model ready at the click in {ready} of {len(runs)}")
        (first_off, verdict_off), (first_on, verdict_on) = medians[False], medians[True]
        print(f"  {'preload on / off':24s} first result {first_on / first_off:.2f}×   verdict "
              f"{verdict_on / verdict_off:.2f}×")


if __name__ == "__main__":
    main()
