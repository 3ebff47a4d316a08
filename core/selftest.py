"""Installation self-test: run the whole pipeline once on the bundled sample study, headless.

Run by `brainmri --self-test`, `brainmri-cli --self-test` or `python -m core.selftest`, e.g. after installing on a
hospital workstation or in the installer build. Steps: load the model in its helper process as the desktop application
does (verifying its sha256), open the sample study, pick central slices, analyse them, render a Grad-CAM overlay, write
a PDF report. Each step reports pass/fail with a reason; a step whose input is missing because an earlier step failed
is reported as not run (a failure). The process exit code is 0 only when every step passed. Needs no display and no
Qt.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import __version__
from core.errors import BrainMriError

#: Few slices keep the self-test at a few seconds on a 2-core CPU while still exercising batching and aggregation.
SELF_TEST_SLICES = 3
_MIN_PDF_BYTES = 1024


class StepFailed(Exception):
    """A self-test check did not hold; the message is the reason shown to the user."""


@dataclass(frozen=True)
class StepResult:
    name: str
    passed: bool
    detail: str
    seconds: float


@dataclass
class SelfTestReport:
    steps: list[StepResult] = field(default_factory=list)
    pdf_path: Path | None = None

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(step.passed for step in self.steps)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def summary(self) -> str:
        """A printable multi-line summary, one line per step."""
        width = max(len(step.name) for step in self.steps) if self.steps else 0
        lines = [f"BrainMRI Assist {__version__} self-test"]
        lines += [f"  [{'PASS' if step.passed else 'FAIL'}] {step.name:<{width}}  {step.detail} ({step.seconds:.1f} s)"
                  for step in self.steps]
        passed = sum(step.passed for step in self.steps)
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(f"Self-test {verdict}: {passed} of {len(self.steps)} steps passed.")
        return "\n".join(lines)


def _failure_reason(error: Exception) -> str:
    if isinstance(error, BrainMriError):
        return f"{error.reason} ({error.path})" if error.path is not None else error.reason
    if isinstance(error, StepFailed):
        return str(error)
    return f"{type(error).__name__}: {error}"


class _Runner:
    """Runs steps in order; each step returns (value, detail) and a failed step's dependents are not run."""

    def __init__(self) -> None:
        self.report = SelfTestReport()

    def step(self, name: str, action: Callable[[], tuple[Any, str]], *needs: object) -> Any:
        if any(need is None for need in needs):
            self.report.steps.append(StepResult(name, False, "not run: an earlier step failed", 0.0))
            return None
        started = time.perf_counter()
        try:
            value, detail = action()
        except Exception as error:  # a self-test reports every failure instead of crashing
            self.report.steps.append(StepResult(name, False, _failure_reason(error), time.perf_counter() - started))
            return None
        self.report.steps.append(StepResult(name, True, detail, time.perf_counter() - started))
        return value


def _load_model(classifier: Any) -> tuple[Any, str]:
    classifier.load()  # verifies the weights' sha256 against the manifest before building the network
    manifest = classifier.manifest
    return classifier, (f"{manifest.name} {manifest.version}, weights sha256 {manifest.weights_sha256[:12]}… "
                        "verified, loaded in the helper process")


def _open_sample_study() -> tuple[Any, str]:
    from core.analysis.pipeline import open_study
    from core.paths import sample_study_dir

    study = open_study(sample_study_dir())
    if study.skipped:
        first = study.skipped[0]
        raise StepFailed(f"{len(study.skipped)} sample file(s) unreadable, e.g. {first.path.name}: {first.reason}")
    if not study.series or not study.series[0].slices:
        raise StepFailed(f"no images found in {sample_study_dir()}")
    slices = sum(len(series) for series in study.series)
    return study.series[0], f"{len(study.series)} series, {slices} slices"


def _pick_slices(series: Any) -> tuple[Any, str]:
    from core.analysis.selection import SlicePolicy, select_slices

    slices = select_slices(series, SlicePolicy.central(SELF_TEST_SLICES)).chosen
    if not slices:
        raise StepFailed("no usable central slice in the sample study")
    return slices, f"{len(slices)} central slices: " + ", ".join(slice_.label for slice_ in slices)


def _analyse(slices: Any, classifier: Any, series: Any) -> tuple[Any, str]:
    import numpy as np

    from core.analysis.pipeline import analyse_series, collect

    results, study_result = collect(analyse_series(series, classifier, slices))
    assert study_result is not None  # None only when cancelled
    failed = [result for result in results if result.prediction is None]
    if failed:
        example = failed[0]
        raise StepFailed(f"{len(failed)} slice(s) could not be analysed, e.g. {example.slice_label}: {example.error}")
    for result in results:
        assert result.prediction is not None  # failures raised above
        probabilities, cams = result.prediction.probabilities, result.prediction.cams
        if not np.all(np.isfinite(probabilities)) or abs(float(np.sum(probabilities)) - 1.0) > 1e-3:
            raise StepFailed(f"{result.slice_label}: probabilities are not a distribution ({probabilities})")
        if cams.ndim != 3 or not np.all((cams >= 0.0) & (cams <= 1.0)):
            raise StepFailed(f"{result.slice_label}: Grad-CAM maps are malformed (shape {cams.shape})")
    verdict = study_result.verdict_label or "no study-level prediction (out of distribution)"
    return study_result, f"{len(results)} slices analysed; study-level result: {verdict}"


def _render_overlay(study_result: Any) -> tuple[Any, str]:
    from core.analysis.overlay import OverlaySettings, render_overlay

    first = study_result.slice_results[0]
    cam = first.prediction.cam_for(first.prediction.predicted_index)
    image = render_overlay(first.display, cam, OverlaySettings())
    if image.shape != (*first.display.shape[:2], 3) or image.dtype.name != "uint8":
        raise StepFailed(f"overlay has shape {image.shape} and type {image.dtype}, expected an RGB uint8 image")
    return image, f"{image.shape[1]}×{image.shape[0]} RGB overlay rendered"


def _write_report(study_result: Any, output_dir: Path) -> tuple[Path, str]:
    from core.output.pdf import write_pdf
    from core.output.report import ReportOptions

    pdf_path = output_dir / "self-test-report.pdf"
    write_pdf(study_result, pdf_path, ReportOptions())
    size = pdf_path.stat().st_size if pdf_path.is_file() else 0
    with pdf_path.open("rb") as stream:
        if stream.read(5) != b"%PDF-" or size < _MIN_PDF_BYTES:
            raise StepFailed(f"{pdf_path} is not a complete PDF ({size} bytes)")
    return pdf_path, f"{size / 1024:.0f} KiB written to {pdf_path}"


def run_self_test(output_dir: Path | None = None, model_dir: Path | None = None) -> SelfTestReport:
    """Run every step; the PDF goes to `output_dir` (default: a temporary folder removed when the process exits)."""
    from core.output.tempfiles import new_temp_subdir

    target = Path(output_dir) if output_dir is not None else new_temp_subdir("self-test-")
    target.mkdir(parents=True, exist_ok=True)
    from core.model.remote import ClassifierProcess

    runner = _Runner()
    helper = ClassifierProcess(model_dir)  # the model runs as in the desktop application, in a helper process
    try:
        classifier = runner.step("model", lambda: _load_model(helper))
        series = runner.step("sample study", _open_sample_study)
        slices = runner.step("slice selection", lambda: _pick_slices(series), series)
        study_result = runner.step("analysis", lambda: _analyse(slices, classifier, series), slices, classifier)
    finally:
        helper.close()
    runner.step("overlay", lambda: _render_overlay(study_result), study_result)
    runner.report.pdf_path = runner.step("PDF report", lambda: _write_report(study_result, target), study_result)
    return runner.report


def main() -> int:
    """Headless entry point shared by the desktop's and the CLI's `--self-test`: prints the summary, returns the
    exit code. Sets the offscreen Qt platform first so nothing it triggers can ask for a display."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from core.logging_setup import configure_logging

    configure_logging()
    report = run_self_test()
    print(report.summary(), flush=True)
    return report.exit_code


class SelfTestAction(argparse.Action):
    """`parser.add_argument("--self-test", action=SelfTestAction)`: like `--version`, runs and exits at once, so
    it works alongside required positional arguments or subcommands."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 help: str = "run the installation self-test headless and exit (0 = all steps passed)") -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        parser.exit(main())


if __name__ == "__main__":
    sys.exit(main())
