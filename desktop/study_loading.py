"""Opening studies: the load worker, what the window shows while it scans, the Recent list, and choosing the central
slices again when the preferred count changes. The opened study goes into the session model, which the views
follow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import QDockWidget, QMainWindow
from superqt.utils import GeneratorWorker

from core.analysis.pipeline import default_analysis_set
from core.io.load import Study
from core.session import SessionModel
from desktop.feedback import Feedback
from desktop.panels.series_panel import SeriesPanel
from desktop.panels.skipped_panel import SkippedFilesPanel
from desktop.settings import SettingsWriter, store_settings
from desktop.viewer.slice_viewer import SliceViewer
from desktop.workers import BackgroundJobs, SeriesPrepared, describe_error, generator_worker, load_study_steps, run_task

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
    _progress = Signal(object, int, int)  # (worker, files read, files found), from the worker's thread

    def __init__(self, window: QMainWindow, session: SessionModel, jobs: BackgroundJobs, feedback: Feedback,
                 settings_writer: SettingsWriter, slice_count: Callable[[], int], viewer: SliceViewer,
                 series_panel: SeriesPanel, skipped_panel: SkippedFilesPanel, skipped_dock: QDockWidget) -> None:
        super().__init__(window)
        self._window, self._session, self._jobs, self._feedback = window, session, jobs, feedback
        self._settings_writer, self._slice_count, self._viewer = settings_writer, slice_count, viewer
        self._series_panel, self._skipped_panel, self._skipped_dock = series_panel, skipped_panel, skipped_dock
        self._worker: GeneratorWorker | None = None
        self._recent = read_recent_studies()
        viewer.placeholder_text = PLACEHOLDER
        self._progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def open_paths(self, paths: Sequence[Path]) -> None:
        """Scan files/folders in a worker; the first slice shows when the study arrives."""
        self.cancel()
        worker = generator_worker(load_study_steps, list(paths), self._slice_count(),
                                  lambda done, total: self._progress.emit(worker, done, total))
        worker.yielded.connect(lambda step: self._on_step(worker, step))
        worker.errored.connect(lambda error: self._on_failed(worker, error))
        worker.finished.connect(lambda: self._on_ended(worker))
        self._worker = worker
        self._remember_recent(paths)
        self._feedback.show_status(f"Opening {', '.join(Path(p).name for p in paths)}…")
        self._jobs.start(worker)
        self.busyChanged.emit()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.quit()

    @Slot(object, int, int)
    def _on_progress(self, worker: GeneratorWorker, done: int, total: int) -> None:
        if worker is self._worker:
            self._feedback.show_progress(done, total)
            self._feedback.show_status(f"Reading file headers: {done} of {total}")

    def _on_step(self, worker: GeneratorWorker, step: Study | SeriesPrepared) -> None:
        if worker is not self._worker or worker.abort_requested:
            return  # a newer open superseded this one, or Cancel was pressed
        if isinstance(step, SeriesPrepared):
            self._on_series_prepared(step)
        else:
            self._on_loaded(step)

    def _on_loaded(self, study: Study) -> None:
        self._show_skipped(study)
        slice_count = sum(len(series) for series in study.series)
        self._feedback.show_status(f"{len(study.series)} series, {slice_count} slices"
                                   + (f"; {len(study.skipped)} file(s) not opened" if study.skipped else ""))
        if not study.series:
            self._viewer.placeholder_text = f"No images found in {study.source}.\n\n{PLACEHOLDER}"
        self._session.open_study(study)
        self._viewer.setFocus()
        self.studyLoaded.emit(study)

    def _on_series_prepared(self, prepared: SeriesPrepared) -> None:
        """The worker chose the central slices of a series (and decoded its thumbnail)."""
        if prepared.thumbnail is not None:
            self._series_panel.set_thumbnail(prepared.series_index, prepared.thumbnail)
        self._session.offer_analysis_set(prepared.series_index, prepared.chosen)
        self.busyChanged.emit()  # Analyse may now be possible

    def _on_failed(self, worker: GeneratorWorker, error: Exception) -> None:
        if not worker.abort_requested:
            self._feedback.report_error("The study could not be opened", describe_error(error))

    def _on_ended(self, worker: GeneratorWorker) -> None:
        if worker is self._worker:
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
        run_task(self._jobs, lambda: [default_analysis_set(series, count) for series in study.series],
                 done=lambda chosen: self._replace_analysis_sets(study, chosen, count),
                 failed=lambda reason: self._feedback.report_error("The slices to analyse could not be chosen",
                                                                   reason))

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
