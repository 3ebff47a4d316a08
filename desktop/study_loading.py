"""Opening studies: the load worker, what the window shows while it scans, the Recent list, and choosing the central
slices again when the preferred count changes. The opened study goes into the session model, which the views
follow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import QDockWidget, QMainWindow

from core.analysis.selection import central_slices
from core.io.load import Study
from core.logging_setup import register_study_phi
from core.session import SessionModel
from desktop.feedback import Feedback
from desktop.panels.series_panel import SeriesPanel
from desktop.panels.skipped_panel import SkippedFilesPanel
from desktop.settings import SettingsWriter, store_settings
from desktop.viewer.slice_viewer import SliceViewer
from desktop.workers import BackgroundJobs, StudyLoadWorker, TaskWorker

RECENT_KEY = "recent_studies"
RECENT_LIMIT = 10
PLACEHOLDER = "Open a study: File → Open folder (Ctrl+Shift+O), Open file (Ctrl+O), or drop files or a folder here."


def read_recent_studies() -> list[str]:
    value = QSettings().value(RECENT_KEY, [])
    return [value] if isinstance(value, str) else list(value or [])


def store_recent_studies(recent: Sequence[str]) -> None:
    store_settings({RECENT_KEY: list(recent)})


class StudyLoading(QObject):
    """`studyLoaded(Study)` once the study is in the session and its first series shown; `busyChanged` when a scan
    starts or ends."""

    studyLoaded = Signal(object)
    busyChanged = Signal()

    def __init__(self, window: QMainWindow, session: SessionModel, jobs: BackgroundJobs, feedback: Feedback,
                 settings_writer: SettingsWriter, slice_count: Callable[[], int], viewer: SliceViewer,
                 series_panel: SeriesPanel, skipped_panel: SkippedFilesPanel, skipped_dock: QDockWidget) -> None:
        super().__init__(window)
        self._window, self._session, self._jobs, self._feedback = window, session, jobs, feedback
        self._settings_writer, self._slice_count, self._viewer = settings_writer, slice_count, viewer
        self._series_panel, self._skipped_panel, self._skipped_dock = series_panel, skipped_panel, skipped_dock
        self._worker: StudyLoadWorker | None = None
        self._recent = read_recent_studies()
        viewer.placeholder_text = PLACEHOLDER

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def open_paths(self, paths: Sequence[Path]) -> None:
        """Scan files/folders in a worker; the first slice shows when `loaded` arrives."""
        if self._worker is not None:
            self._worker.cancel()
        worker = StudyLoadWorker(paths, self._slice_count())
        worker.progress.connect(self._on_progress)
        worker.loaded.connect(self._on_loaded)
        worker.seriesPrepared.connect(self._on_series_prepared)
        worker.failed.connect(lambda reason: self._feedback.report_error("The study could not be opened", reason))
        worker.ended.connect(self._on_ended)
        self._worker = worker
        self._remember_recent(paths)
        self._feedback.show_status(f"Opening {', '.join(Path(p).name for p in paths)}…")
        self._jobs.start(worker)
        self.busyChanged.emit()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if self.sender() is not self._worker:
            return
        self._feedback.show_progress(done, total)
        self._feedback.show_status(f"Reading file headers: {done} of {total}")

    @Slot(object)
    def _on_loaded(self, study: Study) -> None:
        if self.sender() is not self._worker:
            return  # a newer open superseded this one
        register_study_phi(study)  # keeps patient names/IDs out of the log
        self._show_skipped(study)
        slice_count = sum(len(series) for series in study.series)
        self._feedback.show_status(f"{len(study.series)} series, {slice_count} slices"
                                   + (f"; {len(study.skipped)} file(s) not opened" if study.skipped else ""))
        if not study.series:
            self._viewer.placeholder_text = f"No images found in {study.source}.\n\n{PLACEHOLDER}"
        self._session.open_study(study)
        self._viewer.setFocus()
        self.studyLoaded.emit(study)

    @Slot(int, object, object)
    def _on_series_prepared(self, series_index: int, chosen: list[int], thumbnail: np.ndarray | None) -> None:
        """The worker chose the central slices of a series (and decoded its thumbnail)."""
        if self.sender() is not self._worker:
            return
        if thumbnail is not None:
            self._series_panel.set_thumbnail(series_index, thumbnail)
        self._session.offer_analysis_set(series_index, chosen)
        self.busyChanged.emit()  # Analyse may now be possible

    @Slot()
    def _on_ended(self) -> None:
        if self.sender() is self._worker:
            self._worker = None
            self._feedback.hide_progress()
        self.busyChanged.emit()

    def _show_skipped(self, study: Study) -> None:
        self._skipped_panel.set_skipped(study.skipped)
        self._skipped_dock.setVisible(bool(study.skipped))
        if study.skipped:  # a list, not half the screen
            self._window.resizeDocks([self._skipped_dock], [150], Qt.Orientation.Vertical)

    # ----- the central slices, again -------------------------------------------------------------------------------

    def choose_central_slices_again(self) -> None:
        """After the slice count changed: the open study's series get their central slices chosen anew, in a worker
        (choosing decodes slices), replacing any edits of the analysis sets."""
        study, count = self._session.study, self._slice_count()
        if study is None:
            return
        worker = TaskWorker(lambda: [[slice_.index for slice_ in central_slices(series, count)]
                                     for series in study.series])
        worker.done.connect(lambda chosen: self._replace_analysis_sets(study, chosen, count))
        worker.failed.connect(
            lambda reason: self._feedback.report_error("The slices to analyse could not be chosen", reason))
        self._jobs.start(worker)

    def _replace_analysis_sets(self, study: Study, chosen: list[list[int]], count: int) -> None:
        if study is not self._session.study:
            return  # another study was opened meanwhile
        for series_index, indices in enumerate(chosen):
            self._session.set_analysis_set(series_index, indices)
        self.busyChanged.emit()
        self._feedback.show_status(f"{count} central slice(s) per series chosen for analysis")

    # ----- recent studies ------------------------------------------------------------------------------------------

    def recent_studies(self) -> list[str]:
        return list(self._recent)

    def _remember_recent(self, paths: Sequence[Path]) -> None:
        if len(paths) != 1:
            return  # a multi-file drop has no single place to reopen
        entry = str(Path(paths[0]).resolve())
        self._recent = ([entry] + [path for path in self._recent if path != entry])[:RECENT_LIMIT]
        self._settings_writer.store(lambda: {RECENT_KEY: self.recent_studies()}, "the recent studies")
