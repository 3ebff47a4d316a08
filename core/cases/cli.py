"""`cases list [QUERY]`, `cases show ID`, `cases export ID DEST`: the case history from the command line.

core.cli registers these through `add_cases_commands(subparsers)`; each sets core.cli's `handler(args) -> exit
status`. Store errors (unknown ID, unreadable case, damaged case database, export destination taken) are
`CaseStoreError`s, which core.cli reports on stderr with its failure status.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.output.wording import format_percent, overlay_look_words

if TYPE_CHECKING:
    from core.analysis.overlay import OverlaySettings
    from core.cases.schema import CaseRecord
    from core.cases.store import Case, CaseStore

Command = Callable[["CaseStore", argparse.Namespace], None]


def add_cases_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `cases` and its three commands on the CLI's subparsers."""
    cases = subparsers.add_parser("cases", help="list, show and export saved cases")
    cases.add_argument("--data-dir", type=Path, default=None,
                       help="the case store's folder (default: $BRAINMRI_DATA_DIR or the user data directory)")
    commands = cases.add_subparsers(dest="cases_command", required=True, metavar="COMMAND")

    list_command = commands.add_parser("list", help="list cases, newest first")
    list_command.add_argument("query", nargs="?", default="",
                              help="words to find in the name, patient ID, dates or result (all must match)")
    list_command.set_defaults(handler=_with_store(_list))

    show_command = commands.add_parser("show", help="show one case as it was analysed")
    show_command.add_argument("case_id", type=int, metavar="ID")
    show_command.set_defaults(handler=_with_store(_show))

    export_command = commands.add_parser("export", help="copy a case (results, images, notes, reports) to a folder")
    export_command.add_argument("case_id", type=int, metavar="ID")
    export_command.add_argument("destination", type=Path, metavar="DEST", help="folder to create the copy in")
    export_command.set_defaults(handler=_with_store(_export))


def _with_store(command: Command) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from core.cases.store import CaseStore  # lazy, like every core.cli command: `--help` stays instant

        command(CaseStore(args.data_dir), args)
        return 0

    return handler


def _list(store: CaseStore, args: argparse.Namespace) -> None:
    records = store.list(args.query)
    if not records:
        print("No cases." if not args.query else f"No cases match {args.query!r}.")
        return
    for record in records:
        print(_record_line(record))


def _record_line(record: CaseRecord) -> str:
    patient = "anonymised" if record.anonymised else record.patient_id or "-"
    saved = record.created_at[:16].replace("T", " ")
    return f"{record.case_id:>5}  {saved}  {_verdict_text(record.verdict_label):<16}  {patient:<16}  {record.name}"


def _verdict_text(label: str | None) -> str:
    from core.model.labels import display_name
    from core.output.wording import NO_PREDICTION

    return NO_PREDICTION if label is None else display_name(label)


def _show(store: CaseStore, args: argparse.Namespace) -> None:
    print("\n".join(_case_lines(store.get(args.case_id))))


def _case_lines(case: Case) -> list[str]:
    from core.output.wording import verdict_cautions

    record, result = case.record, case.study_result
    info = result.series_info
    probability = result.verdict_probability
    verdict = _verdict_text(result.verdict_label)
    if probability is not None:
        verdict += f" ({format_percent(probability)})"
    lines = [
        f"Case {record.case_id}: {record.name}",
        f"  Saved:     {record.created_at}",
        f"  Folder:    {record.folder}",
        f"  Patient:   {'anonymised' if record.anonymised else record.patient_id or '-'}",
        f"  Study:     {case.study.source_path or '-'} (study date {record.study_date or '-'})",
        f"             study UID {case.study.study_instance_uid or '-'}, "
        f"series UID {case.study.series_instance_uid or '-'}",
        f"  Series:    {info.series_description if info else '-'}",
        f"  Model:     {result.model_name} {result.model_version} (weights sha256 {result.weights_sha256})",
        f"  Result:    {verdict}",
        *(f"             caution: {caution}" for caution in verdict_cautions(result)),  # as beside it elsewhere
        "  Slices:",
        *(f"    {line}" for line in _slice_lines(case)),
        f"  Overlay:   {_overlay_text(case.overlay_settings, result.classes)}",
        f"  Notes:     {case.notes or '-'}",
        "  Reports:" + ("" if case.reports else "   -"),
        *(f"    {report.path}" for report in case.reports),
    ]
    return lines


def _slice_lines(case: Case) -> list[str]:
    from core.output.wording import slice_outcome

    result = case.study_result
    return [f"{slice_.slice_label}: {slice_outcome(slice_, result.display_name)}" for slice_ in result.slice_results]


def _overlay_text(settings: OverlaySettings, classes: Sequence[str]) -> str:
    from core.model.labels import display_name

    index = settings.class_index
    shown = ("predicted class" if index is None else display_name(classes[index]) if index < len(classes)
             else f"class {index}")
    return (f"{'shown' if settings.visible else 'hidden'}, {shown}, colormap {settings.colormap}, "
            f"{overlay_look_words(settings.opacity, settings.threshold)}")


def _export(store: CaseStore, args: argparse.Namespace) -> None:
    print(store.export(args.case_id, args.destination))
