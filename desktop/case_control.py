"""The case history from the window: the Cases panel (opened on first use), saving the shown analysis as a case and
reopening a case's study with its saved results and overlay settings (the model is not run)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QDockWidget

from core.analysis.results import SliceResult, StudyResult
from core.cases.relink import relink
from core.cases.store import Case, CaseStore
from core.errors import BrainMriError, CaseStoreError
from core.io.load import Series, Study
from core.model.remote import ClassifierProcess
from core.session import SessionModel
from desktop.feedback import Feedback
from desktop.panels.cases_panel import CasesPanel
from desktop.panels.overlay_panel import OverlayPanel
from desktop.panels.results_panel import ResultsPanel
from desktop.workers import BackgroundJobs, run_task


class CaseControl(QObject):
    """`caseRestored(StudyResult)` once a reopened case's results are shown."""

    caseRestored = Signal(object)

    def __init__(self, parent: QObject, session: SessionModel, classifier: ClassifierProcess, jobs: BackgroundJobs,
                 dock: QDockWidget, feedback: Feedback, results_panel: ResultsPanel, overlay_panel: OverlayPanel,
                 open_paths: Callable[[list[Path]], None]) -> None:
        super().__init__(parent)
        self._session, self._classifier, self._dock, self._feedback = session, classifier, dock, feedback
        self._jobs = jobs
        self._results_panel, self._overlay_panel, self._open_paths = results_panel, overlay_panel, open_paths
        self._case_to_restore: Case | None = None  # a reopened case waiting for its study to load
        dock.visibilityChanged.connect(lambda visible: visible and self.cases_panel())

    def cases_panel(self) -> CasesPanel | None:
        """The Cases panel, opening the case store on first use; None (with the reason shown) if it cannot open."""
        panel = self._dock.widget()
        if isinstance(panel, CasesPanel):
            return panel
        try:
            store = CaseStore()
        except CaseStoreError as error:
            self._feedback.report_error("The case history cannot be opened", error.reason)
            return None
        panel = CasesPanel(store)
        try:
            manifest = self._classifier.manifest
            panel.set_class_names(manifest.classes, manifest.display_names)
        except BrainMriError:
            pass  # results are then listed by their class keys
        panel.caseReopened.connect(self.restore_case)
        self._dock.setWidget(panel)
        return panel

    def save_case(self) -> None:
        result, study = self._session.study_result(), self._session.study
        if result is None or study is None:
            return
        panel = self.cases_panel()
        if panel is not None and panel.save_case(result, study.source, self._session.overlay):
            self._dock.show()
            self._feedback.show_status("Case saved")

    @Slot(object)
    def restore_case(self, case: Case) -> None:
        """Reopen the case's study and show it with the saved results and overlay settings; the model is not run."""
        source = case.study.source_path
        if not source or not Path(source).exists():
            self._feedback.report_error("The case's study cannot be opened",
                                        f"The study is no longer at {source}." if source
                                        else "An anonymised case does not record where its study was.")
            return
        self._case_to_restore = case
        self._open_paths([Path(source)])

    @Slot(object)
    def restore_pending_case(self, study: Study) -> None:
        case, self._case_to_restore = self._case_to_restore, None
        if case is None or study.source != Path(case.study.source_path):
            return  # the user opened something else meanwhile
        wanted = case.study.series_instance_uid
        index = next((n for n, series in enumerate(study.series) if series.info.series_instance_uid == wanted), None)
        if index is None:
            self._feedback.report_error("The case's series was not found", f"No series {wanted} in {study.source}.")
            return
        series = study.series[index]
        relinked = relink(case.study_result.slice_results, series)
        if relinked.not_found:  # a saved result must never be shown on another image
            self._feedback.report_error(
                "The case's study has changed",
                f"The files of {len(relinked.not_found)} analysed slice(s) are no longer in the study as they were "
                "when the case was saved (removed or renamed). The saved results are not shown on the changed "
                "study; analyse it again.")
            return
        # Exports of the reopened case need the display images, which cases saved without copies get back from the
        # study (`_completed`): decoded in a worker, as the UI thread only paints.
        run_task(self._jobs, lambda: dataclasses.replace(case.study_result, slice_results=[
                     _completed(result, series) for result in relinked.placed]),
                 done=lambda saved: self._show_restored(study, index, case, saved),
                 failed=lambda reason: self._feedback.report_error("The case could not be reopened", reason))

    def _show_restored(self, study: Study, index: int, case: Case, saved: StudyResult) -> None:
        if self._session.study is not study:
            return  # the user opened something else meanwhile
        if saved.classes:  # name the classes as the model that made the case did (also when no model is installed)
            names = tuple(saved.display_name(label) for label in saved.classes)  # a case stores the ids only
            self._results_panel.set_classes(saved.classes, names)
            self._overlay_panel.set_class_names(names)
        self._session.restore_results(index, saved)
        self._session.set_overlay(case.overlay_settings)
        # Renaming the classes reset the panel's Explain choice; the session's overlay may be unchanged (no event).
        self._overlay_panel.show_settings(self._session.overlay)
        self._session.select_series(index, force=True)  # shown afresh even when this series is already shown
        self._feedback.show_status(
            f"Case “{case.record.name}” reopened as saved (model {case.study_result.model_version})")
        self.caseRestored.emit(saved)


def _completed(result: SliceResult, series: Series) -> SliceResult:
    """What a case may lack, back from the study: the display image of cases saved without slice copies, and the
    slice's orientation in cases saved before results kept it (reports need both: the image, its edge letters and
    the patient side of the attention)."""
    if not 0 <= result.slice_index < len(series):
        return result
    slice_ = series.slices[result.slice_index]
    if result.orientation is None and slice_.orientation is not None:
        result = dataclasses.replace(result, orientation=slice_.orientation)
    if result.display is not None or result.error:
        return result
    try:
        return dataclasses.replace(result, display=slice_.display())
    except BrainMriError:
        return result
