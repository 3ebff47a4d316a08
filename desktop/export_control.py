"""Export from the window: the Save dialog, and writing the shown series' report (.pdf), overlay Secondary Capture
(.dcm) or results (.json) off the UI thread (`desktop.exporting` chooses the writer)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QWidget
from superqt.utils import FunctionWorker

from core.model.remote import ClassifierProcess
from core.session import SessionModel
from desktop.feedback import Feedback
from desktop.settings import Preferences
from desktop.workers import BackgroundJobs, run_task

EXPORT_FILTERS = {
    "PDF report (*.pdf)": ".pdf",
    "DICOM Secondary Capture (*.dcm)": ".dcm",
    "JSON results (*.json)": ".json",
}


def export_caption(anonymise: bool) -> str:
    """The Save dialog's title, which says whether the export will name the patient: the choice is a menu toggle
    (File → Anonymise exports), out of sight when the file is named."""
    if anonymise:
        return "Export report — anonymised (no patient name, ID or birth date)"
    return "Export report — with patient identifiers (File → Anonymise exports leaves them out)"


class ExportControl(QObject):
    """`anonymise()` and `preferences()` read the window's current choices; `saved(path)` is called after a write."""

    def __init__(self, parent: QWidget, session: SessionModel, classifier: ClassifierProcess, jobs: BackgroundJobs,
                 feedback: Feedback, anonymise: Callable[[], bool], preferences: Callable[[], Preferences],
                 saved: Callable[[Path], None]) -> None:
        super().__init__(parent)
        self._parent, self._session, self._classifier, self._jobs = parent, session, classifier, jobs
        self._feedback, self._anonymise, self._preferences, self._saved = feedback, anonymise, preferences, saved

    def choose(self) -> None:
        result = self._session.study_result()
        if result is None:
            return
        from desktop.exporting import proposed_export_path

        proposed = proposed_export_path(result, self._anonymise(), self._preferences().export_folder)
        path_text, chosen_filter = QFileDialog.getSaveFileName(self._parent, export_caption(self._anonymise()),
                                                               str(proposed), ";;".join(EXPORT_FILTERS))
        if path_text:
            suffix = EXPORT_FILTERS.get(chosen_filter, Path(path_text).suffix or ".pdf")
            self.export(Path(path_text).with_suffix(suffix))

    def export(self, path: Path) -> FunctionWorker | None:
        """Write the export in a worker; the status bar says when it is saved. None when there is nothing to export
        (no analysis, or a Secondary Capture asked of a series where no slice has a prediction: the user is told)."""
        from desktop.exporting import ExportRequest, NothingToExportError, export_task

        result, study = self._session.study_result(), self._session.study
        if result is None or study is None:
            return None
        shown = self._session.slice_result()
        # The Secondary Capture shows the slice on screen when it was analysed, else the first counted slice. A
        # series without any (every slice out of distribution) still gets its report and JSON, which say so.
        counted = result.counted_results
        slice_result = shown if shown is not None and shown.counted else (counted[0] if counted else None)
        preferences = self._preferences()
        request = ExportRequest(path, result, slice_result, study, self._classifier.manifest, self._session.overlay,
                                self._anonymise(), preferences.institution, preferences.page_size)
        try:
            task = export_task(request)
        except NothingToExportError as refusal:
            self._feedback.report_error(f"{path.name} was not written", str(refusal))
            return None
        self._feedback.show_status(f"Writing {path.name}…")
        return run_task(self._jobs, task, done=self._on_done,
                        failed=lambda reason: self._feedback.report_error("The export failed", reason))

    @Slot(object)
    def _on_done(self, path: object) -> None:
        self._feedback.show_status(f"Saved {path}")
        self._saved(Path(str(path)))
