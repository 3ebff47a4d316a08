"""Analysis from the window: whether the model can be used, loading it in the background, running the analysis
worker over the shown series' analysis set and putting what it streams into the session model.

Results arrive a batch at a time, so what each costs the UI thread adds up within a burst: the progress bar, whose
`setValue` repaints at once (~10 ms), shows the last count of a burst once (`_progress_refresh`)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from superqt.utils import GeneratorWorker

from core.analysis.results import SliceResult, StudyResult, not_analysable_reason
from core.errors import BrainMriError, ModelIntegrityError, ModelMissingError
from core.model.remote import ClassifierProcess
from core.session import SessionModel
from desktop.feedback import Feedback
from desktop.panels.overlay_panel import OverlayPanel
from desktop.panels.results_panel import ResultsPanel
from desktop.workers import (
    BackgroundJobs,
    ModelLoading,
    analysis_steps,
    describe_error,
    generator_worker,
    run_task,
)

log = logging.getLogger(__name__)


class AnalysisControl(QObject):
    """Signals, on the UI thread: `sliceAnalysed(SliceResult)` after the session has it, `analysisFinished
    (StudyResult)`, `analysisCancelled()`, `analysisFailed(reason)`, `busyChanged()` when analysis starts or ends
    or the model becomes unusable."""

    sliceAnalysed = Signal(object)
    analysisFinished = Signal(object)
    analysisCancelled = Signal()
    analysisFailed = Signal(str)
    busyChanged = Signal()

    def __init__(self, parent: QObject, session: SessionModel, classifier: ClassifierProcess, jobs: BackgroundJobs,
                 feedback: Feedback, results_panel: ResultsPanel, overlay_panel: OverlayPanel,
                 preload_model: bool) -> None:
        super().__init__(parent)
        self._session, self._classifier, self._jobs, self._feedback = session, classifier, jobs, feedback
        self._results_panel = results_panel
        self._worker: GeneratorWorker | None = None
        self._analysed = self._total = 0
        self._analysing_series = -1
        self.model_problem = ""
        self._preload_pending = preload_model
        self._progress = (0, 0)
        self._progress_refresh = QTimer(self)
        self._progress_refresh.setSingleShot(True)
        self._progress_refresh.setInterval(0)
        self._progress_refresh.timeout.connect(self._show_progress)
        session.study_changed.connect(lambda _study: self.cancel())
        self._check_model(overlay_panel)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    # ----- the model -----------------------------------------------------------------------------------------------

    def _check_model(self, overlay_panel: OverlayPanel) -> None:
        """Read the manifest (no TensorFlow): a missing or unreadable model disables analysis, with the reason."""
        try:
            manifest = self._classifier.manifest
        except BrainMriError as error:
            self._disable_model(str(error))
            return
        self._results_panel.set_classes(manifest.classes, manifest.display_names)
        overlay_panel.set_class_names(manifest.display_names)

    def display_names(self) -> list[str]:
        try:
            return self._classifier.manifest.display_names
        except BrainMriError:
            return []

    @Slot()
    def preload_model(self) -> None:
        """Load the model in its helper process in the background, once. A failure is only logged here: the first
        Analyse loads again and reports it where the user looks (`modelUnavailable`)."""
        if not self._preload_pending or self.model_problem:
            return
        self._preload_pending = False
        run_task(self._jobs, self._classifier.load,
                 failed=lambda reason: log.warning("Loading the model in the background failed: %s", reason))

    def _disable_model(self, reason: str) -> None:
        self.model_problem = reason
        self._results_panel.show_model_problem(reason)
        self.busyChanged.emit()

    # ----- running -------------------------------------------------------------------------------------------------

    def can_analyse(self) -> bool:
        """A series is shown, the model is usable and idle, and the series may be classified (MR)."""
        series = self._session.current_series
        return (series is not None and self._worker is None and not self.model_problem
                and not not_analysable_reason(series.info))

    def analyse_all_slices(self) -> None:
        """Make every slice of the shown series the analysis set, then analyse it."""
        series = self._session.current_series
        if series is None or not self.can_analyse():
            return
        self._session.set_analysis_set(self._session.series_index, range(len(series)))
        self.start()

    def start(self) -> None:
        series, chosen = self._session.current_series, self._session.analysis_set()
        if series is None or not self.can_analyse() or not chosen:
            return
        self._analysing_series = self._session.series_index
        self._session.begin_results(self._analysing_series)
        self._results_panel.show_state("Starting analysis…")
        worker = generator_worker(analysis_steps, self._classifier, series,
                                  [series.slices[index] for index in chosen])
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(self._on_finished)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_ended)
        self._worker, self._analysed, self._total = worker, 0, len(chosen)
        self._jobs.start(worker)
        self.busyChanged.emit()
        if self._classifier.is_loaded:
            self._on_progress()

    def cancel(self) -> None:
        """No further results of the analysis are shown."""
        if self._worker is not None:
            self._worker.quit()
            self._feedback.show_status("Cancelling…")

    def _on_yielded(self, step: SliceResult | ModelLoading) -> None:
        if self._worker is None or self._worker.abort_requested:
            return  # the rest of a batch that was in flight when Cancel came is not shown
        if isinstance(step, ModelLoading):
            self._on_progress() if step.ready else self._on_model_loading()
            return
        self._analysed += 1
        self._session.add_slice_result(self._analysing_series, step)
        self.sliceAnalysed.emit(step)
        self._on_progress()

    def _on_error(self, error: Exception) -> None:
        if self._worker is None or self._worker.abort_requested:
            return  # e.g. the model's helper ended on quit: a consequence of cancelling, no error
        if isinstance(error, (ModelMissingError, ModelIntegrityError)):
            self._on_model_unavailable(describe_error(error))  # analysis is disabled for good, not just failed
        else:
            self._on_failed(describe_error(error))

    def _on_model_loading(self) -> None:
        self._feedback.show_status("Loading model…")
        self._results_panel.show_state("Loading model… (first analysis only)")
        self._feedback.show_busy()

    def _on_model_unavailable(self, reason: str) -> None:
        self._disable_model(reason)
        self._feedback.report_error("The model cannot be used", reason)

    def _on_progress(self) -> None:
        self._progress = (self._analysed, self._total)
        self._progress_refresh.start()

    def _show_progress(self) -> None:
        done, total = self._progress
        self._feedback.show_progress(done, total)
        message = f"Analysing slice {min(done + 1, total)} of {total}" if done < total else "Combining results…"
        self._feedback.show_status(message)
        self._show_state(message)

    def _show_state(self, message: str) -> None:
        """Tell the results panel about the analysis only while it shows the analysed series (another series' panel
        kept "Analysing slice 21 of 24" after the user switched series mid-analysis)."""
        if self._analysing_series == self._session.series_index:
            self._results_panel.show_state(message)

    @Slot(object)
    def _on_finished(self, result: StudyResult | None) -> None:
        if result is None or self._worker is None or self._worker.abort_requested:
            return  # cancelled (between batches, or with the verdict already on its way): `_on_ended` says so
        self._progress_refresh.stop()  # a count still waiting to be shown would cover the verdict's notes
        self._session.set_study_result(self._analysing_series, result)  # the results panel shows it with its notes
        self._feedback.show_status("Analysis finished")
        self.analysisFinished.emit(result)

    def _on_failed(self, reason: str) -> None:
        self._progress_refresh.stop()
        self._feedback.report_error("The analysis failed", reason)
        self._show_state(f"Analysis failed: {reason}")
        self.analysisFailed.emit(reason)

    def _on_cancelled(self) -> None:
        self._progress_refresh.stop()
        self._feedback.show_status("Analysis cancelled")
        self._show_state("Analysis cancelled — slices analysed so far are shown; no study verdict.")
        self.analysisCancelled.emit()

    @Slot()
    def _on_ended(self) -> None:
        if self._worker is not None and self._worker.abort_requested:
            self._on_cancelled()
        self._worker = None
        self._feedback.hide_progress()
        self.busyChanged.emit()
