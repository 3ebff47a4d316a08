"""Which `core` writer an export goes through, chosen by the file's suffix. Returns a call for a worker
(`desktop.workers.run_task`), so the writing (reportlab layout, DICOM encoding) runs off the UI thread; nothing is
laid out here. Also where the Save dialog starts (`proposed_export_path`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.analysis.overlay import OverlaySettings
from core.analysis.results import SliceResult, StudyResult
from core.io.load import Study
from core.model.classifier import ModelManifest
from core.output.export import StudyExport, write_json, write_secondary_capture
from core.output.report import ReportOptions, suggested_file_name

EXPORT_SUFFIXES = (".pdf", ".dcm", ".json")


class NothingToExportError(ValueError):
    """The chosen format needs something this analysis does not have."""


@dataclass(frozen=True)
class ExportRequest:
    path: Path
    study_result: StudyResult
    slice_result: SliceResult | None  # the slice whose overlay a Secondary Capture shows; None: no slice counted
    study: Study
    manifest: ModelManifest
    overlay: OverlaySettings
    anonymise: bool
    institution: str = ""  # the report header's (File → Preferences)
    page_size: str = "A4"  # of the PDF report (File → Preferences)


def export_task(request: ExportRequest) -> Callable[[], Path]:
    suffix = request.path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ValueError(f"cannot export to '{suffix}' files; choose one of {', '.join(EXPORT_SUFFIXES)}")
    slice_result = request.slice_result
    if suffix == ".dcm" and slice_result is None:
        raise NothingToExportError("No slice of this series has a prediction, so there is no Grad-CAM overlay for a "
                                   "Secondary Capture. The PDF report and the JSON results say why.")

    def write() -> Path:
        if suffix == ".pdf":
            from core.output.pdf import write_pdf  # reportlab costs ~0.3 s to import: only when a report is written

            write_pdf(request.study_result, request.path,
                      ReportOptions(anonymise=request.anonymise, institution=request.institution,
                                    page_size=request.page_size,
                                    overlay=request.overlay),
                      skipped=request.study.skipped)
        elif suffix == ".dcm":
            assert slice_result is not None  # refused above
            write_secondary_capture(request.path, slice_result, request.study_result, request.overlay,
                                    anonymise=request.anonymise)
        else:
            export = StudyExport(request.study.source, [request.study_result], request.study.skipped)
            write_json(request.path, [export], request.manifest, anonymise=request.anonymise)
        return request.path

    return write


def proposed_export_path(study_result: StudyResult, anonymise: bool, last_folder: str) -> Path:
    """Where the Save dialog starts: the last export's folder (home when there was none or it is gone) and a name
    from the study by `core.output.report.suggested_file_name`, which leaves identifying data out when anonymising."""
    folder = Path(last_folder) if last_folder and Path(last_folder).is_dir() else Path.home()
    return folder / suggested_file_name(study_result, ReportOptions(anonymise=anonymise))
