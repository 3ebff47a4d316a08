"""`brainmri-cli`: the headless shell over the same core calls the desktop uses.

    brainmri-cli classify PATH... [--slices N] [--json OUT.json] [--report OUT.pdf] [--anonymise] [--model-dir DIR]

Each PATH (file or folder) is opened and every series in it analysed on its central slices by the one pipeline
(`core.analysis.pipeline`; slices chosen by `core.analysis.selection.SlicePolicy.central`), each series summarised in
one line. Exit status: 0 every input analysed, 1 some files, series (not MR) or slices (undecodable) were skipped or
a series got no verdict (every slice out of distribution; reasons in the JSON and the printed lines), 2 usage error,
3 the model or an output file could not be used, 4 internal error (a defect: traceback in the log file only).
Subcommands are registered in `_SUBCOMMANDS` (`classify` here, `cases` from core.cases.cli).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import core
from core.analysis.selection import DEFAULT_SLICE_COUNT
from core.cases.cli import add_cases_commands
from core.errors import BrainMriError, ModelIntegrityError, ModelMissingError, ReportWriteError
from core.selftest import SelfTestAction

if TYPE_CHECKING:
    from core.analysis.results import SliceResult, StudyResult
    from core.io.types import SeriesInfo
    from core.model.classifier import Classifier, ModelManifest
    from core.output.export import StudyExport

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_FAILED, EXIT_INTERNAL = 0, 1, 2, 3, 4


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal (nothing in logs or pipes)."""

    WIDTH = 30

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty()

    def update(self, done: int, total: int, what: str) -> None:
        if not self._enabled or total <= 0:
            return
        filled = self.WIDTH * done // total
        self._stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} {what[:40]:<40}")
        self._stream.flush()

    def clear(self) -> None:
        if self._enabled:
            self._stream.write("\r" + " " * (self.WIDTH + 50) + "\r")
            self._stream.flush()


class _ReaderMayLeave(io.TextIOBase):
    """Standard output while a command runs: when its reader goes away (`brainmri-cli classify … | head -1`), the
    remaining lines are dropped and the work goes on, so the reports asked for are still written; without this the
    first print after that raised BrokenPipeError and the run ended as an internal error."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream, self._gone = stream, False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                self._stream.write(text)
                self._stream.flush()  # a pipe buffers: find out now, not at exit
            except BrokenPipeError:
                self._reader_left()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_left()

    def _reader_left(self) -> None:
        self._gone = True
        # What is still buffered goes nowhere instead of failing again when Python exits.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


@dataclass
class _ClassifyOutcome:
    exports: list[StudyExport]
    skipped_any: bool
    input_files: set[str]  # every file the studies were read from (real paths): outputs must not replace them


def _summary_line(source: Path, series_description: str, study_result: StudyResult) -> str:
    from core.output.wording import NO_PREDICTION, counted_words, no_verdict_reason, verdict_text

    reason = no_verdict_reason(study_result)
    if study_result.verdict_label is None and len(study_result.failed_results) == len(study_result.slice_results):
        reason += ", listed on stderr"
    verdict = verdict_text(study_result) or f"{NO_PREDICTION}: {reason}"
    disagreement = ", slices disagree" if study_result.disagreeing_results else ""
    return f"{source} | {series_description} | {verdict} ({counted_words(study_result)}{disagreement})"


def _classify_paths(paths: Sequence[Path], slices_per_series: int, classifier: Classifier,
                    progress: ProgressBar) -> _ClassifyOutcome:
    from core.analysis.pipeline import analyse_series, collect, open_study, refuse_unanalysable
    from core.analysis.selection import SlicePolicy, select_slices
    from core.errors import NotAnalysableError
    from core.output.export import StudyExport
    from core.output.wording import NO_PREDICTION, disagreement, verdict_cautions

    exports, skipped_any, input_files = [], False, set[str]()
    for path in paths:
        study = open_study(path, progress=lambda done, total: progress.update(done, total, f"reading {path.name}"))
        # realpath, not Path.resolve: a skipped symbolic-link loop must not raise here
        input_files |= {os.path.realpath(slice_.path) for series in study.series for slice_ in series.slices}
        input_files |= {os.path.realpath(skipped.path) for skipped in study.skipped}
        results, refused = [], []
        for series in study.series:
            try:
                refuse_unanalysable(series)  # before choosing slices, which decodes them
            except NotAnalysableError as refusal:
                print(f"{path} | {series.description} | {NO_PREDICTION}: {refusal.reason}")
                print(f"not analysed: {series.description} in {path}: {refusal.reason}", file=sys.stderr)
                refused.append((series.info, refusal.reason))
                skipped_any = True
                continue
            selection = select_slices(series, SlicePolicy.central(slices_per_series))
            total = len(selection.chosen) + len(selection.unreadable)
            done = iter(range(1, total + 1))

            def show(analysed: SliceResult, what: str = series.description) -> None:
                if analysed.error:
                    print(f"could not decode: {analysed.slice_label} ({analysed.source_path}): {analysed.error}",
                          file=sys.stderr)
                progress.update(next(done), total, f"analysing {what}")

            _, result = collect(analyse_series(series, classifier, selection), each=show)
            assert result is not None  # None only when cancelled, and nothing cancels here
            progress.clear()
            results.append(result)
            skipped_any |= bool(result.failed_results) or result.verdict_label is None
            print(_summary_line(path, series.description, result))
            for caution in verdict_cautions(result):  # what the window and the report put beside the verdict
                print(f"    caution: {caution}")
            if result.disagreeing_results:  # which slices, named as in the viewer, so they can be looked at
                print(f"    note: {disagreement(result)}")
            if not result.sequence_hint.validated and result.verdict_label is not None:  # as the window says it
                print(f"    note: {result.sequence_hint.sentence()}")
        progress.clear()
        if not study.series:
            print(f"{path} | nothing to analyse ({len(study.skipped)} file(s) skipped)")
        for skipped in study.skipped:
            print(f"skipped: {skipped.path}: {skipped.reason}", file=sys.stderr)
        skipped_any |= bool(study.skipped) or not study.series
        exports.append(StudyExport(path, results, study.skipped, refused))
    return _ClassifyOutcome(exports, skipped_any, input_files)


def _series_words(info: SeriesInfo | None) -> str:
    """E.g. "series 4, AX T2 FLAIR"; "pictures" for a folder of pictures."""
    if info is None or info.from_pictures:
        return "pictures"
    number = f"series {info.series_number}" if info.series_number else "series"
    return f"{number}, {info.series_description}" if info.series_description else number


def _report_paths(requested: Path, count: int) -> list[Path]:
    """OUT.pdf for a single series; OUT_1.pdf, OUT_2.pdf, ... when several series were analysed."""
    if count == 1:
        return [requested]
    return [requested.with_name(f"{requested.stem}_{k}{requested.suffix or '.pdf'}") for k in range(1, count + 1)]


def _write_outputs(args: argparse.Namespace, outcome: _ClassifyOutcome, manifest: ModelManifest) -> None:
    from core.output.export import write_json
    from core.output.pdf import write_pdf
    from core.output.report import ReportOptions

    results = [(result, export.skipped) for export in outcome.exports for result in export.results]
    report_paths = _report_paths(args.report, len(results)) if args.report is not None else []
    outputs = ([args.json] if args.json is not None else []) + report_paths
    real_outputs = [os.path.realpath(output) for output in outputs]
    for position, (output, real) in enumerate(zip(outputs, real_outputs)):
        if real in outcome.input_files:
            raise ReportWriteError(output, "it is one of the files the study was read from; choose another name")
        if real in real_outputs[:position]:
            raise ReportWriteError(output, "the JSON and a report would be written to this one file")
    if args.json is not None:
        write_json(args.json, outcome.exports, manifest, anonymise=args.anonymise)
    options = ReportOptions(page_size=args.page_size, anonymise=args.anonymise, institution=args.institution)
    for (result, skipped), path in zip(results, report_paths):
        write_pdf(result, path, options, skipped=skipped)
        print(f"report: {path} ({_series_words(result.series_info)})")  # which file holds which series


def run_classify(args: argparse.Namespace) -> int:
    from core.model.classifier import Classifier

    classifier = Classifier(args.model_dir)
    try:
        classifier.load()
    except (ModelMissingError, ModelIntegrityError) as error:
        print(f"error: the model cannot be used: {error}", file=sys.stderr)
        return EXIT_FAILED
    outcome = _classify_paths(args.paths, args.slices, classifier, ProgressBar())
    try:
        _write_outputs(args, outcome, classifier.manifest)
    except ReportWriteError as error:
        print(f"error: could not write {error.path}: {error.reason}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_SKIPPED if outcome.skipped_any else EXIT_OK


def _add_classify(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify", help="classify the central slices of studies (files or folders)",
        description="Open each study, classify its central slices, print one line per series and optionally write "
                    "JSON and PDF reports. Exit status: 0 all analysed, 1 some inputs skipped or undecodable or a "
                    "series without a verdict, 2 usage error, 3 model or output unusable, 4 internal error (details "
                    "in the log file).")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="DICOM/JPEG/PNG file or folder")
    parser.add_argument("--slices", type=_positive_int, default=DEFAULT_SLICE_COUNT, metavar="N",
                        help=f"central slices analysed per series (default {DEFAULT_SLICE_COUNT})")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write all results as JSON (schema in README)")
    parser.add_argument("--report", type=Path, metavar="OUT.pdf",
                        help="write a PDF report (OUT_k.pdf per series when there are several)")
    parser.add_argument("--anonymise", action="store_true",
                        help="de-identify JSON and PDF by the DICOM basic confidentiality profile (see "
                             "core/output/anonymise.py): no patient data, dates, descriptions, UIDs or file paths")
    parser.add_argument("--model-dir", type=Path, metavar="DIR", help="model folder (default: the shipped model)")
    parser.add_argument("--institution", default="", help="institution name for the report header")
    parser.add_argument("--page-size", choices=("A4", "Letter"), default="A4", help="report page size")
    parser.set_defaults(handler=run_classify)


# Each entry adds one subcommand whose parser sets `handler(args) -> exit status`.
_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_classify, add_cases_commands]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brainmri-cli",
                                     description="Offline brain MRI decision support (headless). Not a diagnosis.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {core.__version__}")
    parser.add_argument("--self-test", action=SelfTestAction)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_subcommand in _SUBCOMMANDS:
        add_subcommand(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 on usage errors
    missing = [str(path) for path in getattr(args, "paths", []) if not path.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    outputs = [os.path.realpath(path) for path in (getattr(args, "json", None), getattr(args, "report", None)) if path]
    if len(outputs) == 2 and outputs[0] == outputs[1]:
        parser.error("--json and --report name the same file")
    from core.logging_setup import configure_logging, crash_message

    # As in the desktop: library warnings go to the log file (not the terminal) through the PHI guard, which
    # redacts the patients of the studies opened.
    log_path = configure_logging()
    stdout, sys.stdout = sys.stdout, _ReaderMayLeave(sys.stdout)
    try:
        return args.handler(args)
    except BrainMriError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # a defect of ours: its own status, the traceback to the log only (it may quote PHI)
        logging.getLogger("brainmri.cli").exception("Internal error")
        print(f"internal error: {crash_message(type(error), log_path)}", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
