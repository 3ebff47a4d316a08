"""The main window: viewer in the centre, docked panels around it, and the wiring between them and the workers.

State kept here is only what the user chose and what the workers returned: the open study, the shown series, the
analysis set of each series and the results. Each panel is its own class so later panels (cases, model information,
three-panel view) are added as further docks without touching these.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QColor, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from core.analysis.overlay import OverlaySettings
from core.analysis.profile import probability_profile
from core.analysis.results import SliceResult, StudyResult, not_analysable_reason
from core.analysis.selection import central_slices
from core.cases.store import Case, CaseStore, CaseStoreError
from core.errors import BrainMriError
from core.io.load import Series, Study, Window
from core.logging_setup import register_study_phi
from core.model.labels import CLASSES
from core.model.remote import ClassifierProcess
from desktop import theme
from desktop.dialogs.help_dialogs import AboutDialog, ShortcutsDialog, open_dialog
from desktop.dialogs.model_info_dialog import ModelInfoDialog
from desktop.dialogs.preferences_dialog import PreferencesDialog
from desktop.panels.cases_panel import CasesPanel
from desktop.panels.metadata_panel import MetadataPanel
from desktop.panels.overlay_panel import OverlayPanel
from desktop.panels.results_panel import ResultsPanel
from desktop.panels.series_panel import SeriesPanel
from desktop.panels.skipped_panel import SkippedFilesPanel
from desktop.settings import Preferences, SettingsWriter, read_preferences, store_settings
from desktop.viewer.cine import CinePlayer, frame_rate_box
from desktop.viewer.slice_viewer import SliceNavigator, SliceViewer, window_presets
from desktop.viewer.three_panel_view import ThreePanelView, open_floating_over
from desktop.workers import AnalysisWorker, BackgroundJobs, StudyLoadWorker, TaskWorker

log = logging.getLogger(__name__)

APP_TITLE = "BrainMRI Assist"
RECENT_KEY = "recent_studies"
RECENT_LIMIT = 10
PLACEHOLDER = "Open a study: File → Open folder (Ctrl+Shift+O), Open file (Ctrl+O), or drop files or a folder here."
EXPORT_FILTERS = {
    "PDF report (*.pdf)": ".pdf",
    "DICOM Secondary Capture (*.dcm)": ".dcm",
    "JSON results (*.json)": ".json",
}


def _dock(title: str, name: str, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title)
    dock.setObjectName(name)  # lets saveState/restoreState remember the layout
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    return dock


def read_recent_studies() -> list[str]:
    value = QSettings().value(RECENT_KEY, [])
    return [value] if isinstance(value, str) else list(value or [])


def store_recent_studies(recent: Sequence[str]) -> None:
    store_settings({RECENT_KEY: list(recent)})


class MainWindow(QMainWindow):
    """Signals announce what the user sees happen (for later panels and for tests), always on the UI thread."""

    studyLoaded = Signal(object)  # Study, after its first series is shown
    sliceAnalysed = Signal(object)  # SliceResult
    analysisFinished = Signal(object)  # StudyResult
    analysisCancelled = Signal()
    analysisFailed = Signal(str)

    def __init__(self, model_dir: Path | None = None, preload_model: bool = True) -> None:
        super().__init__()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.resize(1500, 920)
        self.jobs = BackgroundJobs(self)
        # The model runs in a helper process (TensorFlow in this one would freeze the window while it loads), one
        # for the app's lifetime. It starts loading once the first study shows (`_preload_model`), so neither
        # start-up nor the first slice waits for it and the first Analyse finds it ready or nearly so.
        self.classifier = ClassifierProcess(model_dir)
        self._preload_model_pending = preload_model
        QApplication.instance().aboutToQuit.connect(self.stop_background_work)  # also when quit without closing
        self.study: Study | None = None
        self._series_index = -1
        self._analysis_sets: dict[int, set[int]] = {}
        self._slice_results: dict[int, dict[int, SliceResult]] = {}
        self._study_results: dict[int, StudyResult] = {}
        self._load_worker: StudyLoadWorker | None = None
        self._analysis_worker: AnalysisWorker | None = None
        self._analysing_series = -1
        self._model_problem = ""
        self._case_to_restore: Case | None = None  # a reopened case waiting for its study to load
        self._recent = read_recent_studies()
        self.preferences = read_preferences()
        self._settings_writer = SettingsWriter(self.jobs)

        self.viewer = SliceViewer()
        self.viewer.placeholder_text = PLACEHOLDER
        self.navigator = SliceNavigator(self.viewer)
        self.cine = CinePlayer(self.viewer, self)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.viewer, 1)
        central_layout.addWidget(self.navigator)
        self.setCentralWidget(central)

        self.series_panel = SeriesPanel()
        self.results_panel = ResultsPanel()
        self.overlay_panel = OverlayPanel()
        self.metadata_panel = MetadataPanel()
        self.skipped_panel = SkippedFilesPanel()
        self.series_dock = _dock("Series", "series", self.series_panel)
        self.results_dock = _dock("Results", "results", self.results_panel)
        self.overlay_dock = _dock("Grad-CAM overlay", "overlay", self.overlay_panel)
        self.metadata_dock = _dock("Metadata", "metadata", self.metadata_panel)
        self.skipped_dock = _dock("Files not opened", "skipped", self.skipped_panel)
        self.three_panel = ThreePanelView()
        self.three_panel_dock = _dock("Original | heatmap | overlay", "three_panel", self.three_panel)
        # The case store is opened on first use (CasesPanel replaces this placeholder), so start-up touches no disk.
        self.cases_dock = _dock("Cases", "cases", QWidget())
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.series_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.results_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.overlay_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.metadata_dock)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.skipped_dock)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.three_panel_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.cases_dock)
        self.three_panel_dock.hide()
        open_floating_over(self.three_panel_dock, self)
        self.cases_dock.hide()
        self.resizeDocks([self.series_dock, self.results_dock], [300, 360], Qt.Orientation.Horizontal)
        self.skipped_dock.hide()

        self.status_text = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(240)
        self.progress_bar.hide()
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)

        # Tag tables can be long: refresh them once scrolling pauses, not on every slice.
        self._tag_refresh = QTimer(self)
        self._tag_refresh.setSingleShot(True)
        self._tag_refresh.setInterval(150)
        self._tag_refresh.timeout.connect(self._refresh_tags)
        # QProgressBar.setValue repaints at once (measured ~10 ms); results arrive a batch at a time, so the bar and
        # the state line show the last count of a burst once, when the burst has been handled.
        self._analysis_progress = (0, 0)
        self._progress_refresh = QTimer(self)
        self._progress_refresh.setSingleShot(True)
        self._progress_refresh.setInterval(0)
        self._progress_refresh.timeout.connect(self._show_analysis_progress)

        self._create_actions()
        self._create_menus_and_toolbar()
        self._connect_panels()
        self._check_model()
        self._update_actions()

    # ----- construction --------------------------------------------------------------------------------------------

    def _action(self, text: str, shortcut: QKeySequence | str | None, handler: Callable[..., object] | None = None,
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        if handler is not None:
            (action.toggled if checkable else action.triggered).connect(handler)
        self.addAction(action)  # shortcuts work even when the toolbar is hidden
        return action

    def _create_actions(self) -> None:
        self.open_file_action = self._action("Open file…", QKeySequence.StandardKey.Open, self._choose_files)
        self.open_folder_action = self._action("Open folder…", "Ctrl+Shift+O", self._choose_folder)
        self.export_action = self._action("Export report…", "Ctrl+E", self._choose_export)
        self.anonymise_action = self._action("Anonymise exports", None, checkable=True)
        self.anonymise_action.setToolTip("Leave patient name, ID and birth date out of reports and exports")
        self.save_case_action = self._action("Save case…", QKeySequence.StandardKey.Save, self.save_case)
        self.save_case_action.setToolTip("Keep this analysis as a named case in the case history (Ctrl+S)")
        self.preferences_action = self._action("Preferences…", QKeySequence.StandardKey.Preferences,
                                               self.show_preferences)
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.model_info_action = self._action("Model information…", None, self.show_model_info)
        self.shortcuts_action = self._action("Keyboard shortcuts…", QKeySequence.StandardKey.HelpContents,
                                             lambda: open_dialog(ShortcutsDialog(self)))
        self.about_action = self._action(f"About {APP_TITLE}…", None, self.show_about)
        self.quit_action = self._action("Quit", QKeySequence.StandardKey.Quit, self.close)
        self.analyse_action = self._action("Analyse", "Ctrl+R", self.start_analysis)
        self.analyse_action.setToolTip("Run the model on the slices chosen for analysis (Ctrl+R)")
        self.analyse_all_action = self._action("Analyse all slices", "Ctrl+Shift+R", self.analyse_all_slices)
        self.analyse_all_action.setToolTip("Run the model on every slice of the series (Ctrl+Shift+R)")
        self.analyse_all_action.setIconText("All slices")  # the toolbar button, beside Analyse; 1280 px is tight
        self.cancel_action = self._action("Cancel", "Esc", self.cancel_work)
        self.include_action = self._action("Include this slice", "I", self._set_current_slice_included,
                                           checkable=True)
        self.include_action.setToolTip("Add or remove the shown slice from the analysis set (I)")
        self.overlay_action = self._action("Show overlay", "H", self.overlay_panel.visible.setChecked,
                                           checkable=True)
        self.overlay_action.setChecked(self.overlay_panel.visible.isChecked())
        self.corner_text_action = self._action("Corner text", "T", self.viewer.set_corner_text_visible,
                                               checkable=True)
        self.corner_text_action.setChecked(True)
        self.corner_text_action.setToolTip("Corner text, orientation letters and scale bar on the image (T)")
        self.reset_view_action = self._action("Reset view", "R", self.viewer.reset_view)
        self.contrast_action = self._action("Enhance contrast (CLAHE, display only)", "C",
                                            self._set_contrast_enhanced, checkable=True)
        self.contrast_action.setToolTip("Changes only what is shown; the model always receives the "
                                        "unenhanced image (C)")
        self.reset_view_action.setToolTip("Fit to window and return to the default window/level (R)")
        self.window_drag_action = self._action("W/L drag", "W", self.viewer.set_left_drag_windows, checkable=True)
        self.window_drag_action.setToolTip("Left-drag adjusts window/level: sideways the width, up and down the level "
                                           "(W). Right-drag always does.")
        self.measure_action = self._action("Measure distance", "M", self.viewer.set_measuring, checkable=True)
        self.measure_action.setToolTip("Left-drag draws a line and shows its length in mm (in pixels when the pixel "
                                       "size is unknown); Esc clears it (M)")
        left_drag_modes = QActionGroup(self)  # left-drag does one thing at a time; both modes may be off (pan)
        left_drag_modes.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        left_drag_modes.addAction(self.window_drag_action)
        left_drag_modes.addAction(self.measure_action)
        self.cine_action = self._action("Cine", "P", self.cine.set_playing, checkable=True)
        self.cine_action.setToolTip("Play through the slices of the series, looping, at the rate beside it (P)")
        self.zoom_in_action = self._action("Zoom in", None, self.viewer.zoom_in)
        self.zoom_in_action.setShortcuts([QKeySequence.StandardKey.ZoomIn, QKeySequence("+"), QKeySequence("=")])
        self.zoom_out_action = self._action("Zoom out", None, self.viewer.zoom_out)
        self.zoom_out_action.setShortcuts([QKeySequence.StandardKey.ZoomOut, QKeySequence("-")])

    def _create_menus_and_toolbar(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_file_action)
        file_menu.addAction(self.open_folder_action)
        self.recent_menu = file_menu.addMenu("Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.anonymise_action)
        file_menu.addAction(self.save_case_action)
        file_menu.addSeparator()
        file_menu.addAction(self.preferences_action)
        file_menu.addAction(self.quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for action in (self.overlay_action, self.corner_text_action, self.contrast_action, self.zoom_in_action,
                       self.zoom_out_action, self.window_drag_action, self.measure_action, self.cine_action,
                       self.reset_view_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for dock in (self.series_dock, self.results_dock, self.overlay_dock, self.metadata_dock, self.skipped_dock,
                     self.three_panel_dock, self.cases_dock):
            view_menu.addAction(dock.toggleViewAction())
        analysis_menu = self.menuBar().addMenu("&Analysis")
        for action in (self.analyse_action, self.analyse_all_action, self.cancel_action, self.include_action):
            analysis_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        for action in (self.model_info_action, self.shortcuts_action, self.about_action):
            help_menu.addAction(action)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.open_folder_action)
        toolbar.addAction(self.open_file_action)
        toolbar.addSeparator()
        toolbar.addAction(self.analyse_action)
        toolbar.widgetForAction(self.analyse_action).setObjectName("primaryAction")  # the one button that matters
        toolbar.addAction(self.analyse_all_action)
        toolbar.addAction(self.cancel_action)
        toolbar.addAction(self.include_action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" W/L "))
        self.window_presets = QComboBox()
        self.window_presets.setMinimumWidth(150)  # narrow enough that the toolbar fits a 1280-pixel screen…
        self.window_presets.view().setMinimumWidth(250)  # …while the list shows whole preset names and values
        self.window_presets.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the viewer after choosing
        self.window_presets.activated.connect(self._apply_window_preset)
        toolbar.addWidget(self.window_presets)
        toolbar.addAction(self.window_drag_action)
        toolbar.addAction(self.measure_action)
        toolbar.addAction(self.reset_view_action)
        toolbar.addSeparator()
        toolbar.addAction(self.cine_action)
        self.frame_rate = frame_rate_box(self.cine)
        toolbar.addWidget(self.frame_rate)
        toolbar.addSeparator()
        toolbar.addAction(self.overlay_action)
        toolbar.addAction(self.corner_text_action)
        self.addToolBar(toolbar)

    def _connect_panels(self) -> None:
        self.series_panel.seriesSelected.connect(self.show_series)
        self.viewer.currentIndexChanged.connect(self._on_slice_changed)
        self.viewer.windowChanged.connect(self._on_window_changed)
        self.viewer.explanationChanged.connect(self.overlay_panel.show_explanation)
        self.overlay_panel.settingsChanged.connect(self._on_overlay_settings)
        self.results_panel.sliceActivated.connect(self._show_slice)
        self.skipped_panel.dismissed.connect(self.skipped_dock.hide)
        self.metadata_dock.visibilityChanged.connect(lambda visible: visible and self._tag_refresh.start())
        self.cases_dock.visibilityChanged.connect(lambda visible: visible and self.cases_panel())
        for signal in (self.viewer.currentIndexChanged, self.viewer.windowChanged, self.overlay_panel.settingsChanged,
                       self.sliceAnalysed, self.three_panel_dock.visibilityChanged):
            signal.connect(self._refresh_three_panel)
        self.three_panel.contrast_toggle.toggled.connect(self.contrast_action.setChecked)
        self.cine.playingChanged.connect(self.cine_action.setChecked)  # also when playing stops by itself
        self.studyLoaded.connect(self._restore_pending_case)
        self.studyLoaded.connect(self._preload_model)

    def _check_model(self) -> None:
        """Read the manifest (no TensorFlow): a missing or unreadable model disables analysis, with the reason."""
        try:
            manifest = self.classifier.manifest
        except BrainMriError as error:
            self._disable_model(str(error))
            return
        self.results_panel.set_classes(manifest.classes, manifest.display_names)
        self.overlay_panel.set_class_names(manifest.display_names)

    @Slot()
    def _preload_model(self) -> None:
        """Load the model in its helper process in the background, once. A failure is only logged here: the first
        Analyse loads again and reports it where the user looks (`modelUnavailable`)."""
        if not self._preload_model_pending or self._model_problem:
            return
        self._preload_model_pending = False
        worker = TaskWorker(self.classifier.load)
        worker.failed.connect(lambda reason: log.warning("Loading the model in the background failed: %s", reason))
        self.jobs.start(worker)

    def _disable_model(self, reason: str) -> None:
        self._model_problem = reason
        self.results_panel.show_model_problem(reason)
        self._update_actions()

    # ----- opening studies -----------------------------------------------------------------------------------------

    def open_paths(self, paths: Sequence[Path]) -> None:
        """Scan files/folders in a worker; the first slice shows when `loaded` arrives."""
        if self._load_worker is not None:
            self._load_worker.cancel()
        worker = StudyLoadWorker(paths, self.preferences.slice_count)
        worker.progress.connect(self._on_load_progress)
        worker.loaded.connect(self._on_study_loaded)
        worker.seriesPrepared.connect(self._on_series_prepared)
        worker.failed.connect(self._on_load_failed)
        worker.ended.connect(self._on_load_ended)
        self._load_worker = worker
        self._remember_recent(paths)
        self._show_status(f"Opening {', '.join(Path(p).name for p in paths)}…")
        self.jobs.start(worker)
        self._update_actions()

    @Slot(int, int)
    def _on_load_progress(self, done: int, total: int) -> None:
        if self.sender() is not self._load_worker:
            return
        self._show_progress(done, total)
        self._show_status(f"Reading file headers: {done} of {total}")

    @Slot(object)
    def _on_study_loaded(self, study: Study) -> None:
        if self.sender() is not self._load_worker:
            return  # a newer open superseded this one
        register_study_phi(study)  # keeps patient names/IDs out of the log
        self.cancel_analysis()
        self.study = study
        self._analysis_sets, self._slice_results, self._study_results = {}, {}, {}
        self.series_panel.set_series(study.series)
        self._show_skipped(study)
        slice_count = sum(len(series) for series in study.series)
        self._show_status(f"{len(study.series)} series, {slice_count} slices"
                          + (f"; {len(study.skipped)} file(s) not opened" if study.skipped else ""))
        self._series_index = -1
        if study.series:
            self.series_panel.select(0)
            self.show_series(0)
        else:
            self.viewer.placeholder_text = f"No images found in {study.source}.\n\n{PLACEHOLDER}"
            self.viewer.set_series(None)
            self.navigator.refresh()
            self._update_profile()
            self.results_panel.clear()
        self.studyLoaded.emit(study)

    @Slot(int, object, object)
    def _on_series_prepared(self, series_index: int, chosen: list[int], thumbnail: np.ndarray | None) -> None:
        """The worker chose the central slices of a series (and decoded its thumbnail)."""
        if self.sender() is not self._load_worker:
            return
        if thumbnail is not None:
            self.series_panel.set_thumbnail(series_index, thumbnail)
        self._analysis_sets.setdefault(series_index, set(chosen))
        self.series_panel.set_chosen_count(series_index, len(self._analysis_sets[series_index]))
        if series_index == self._series_index:
            self._show_analysis_state(self.viewer.current_index)
            self._update_actions()

    @Slot(str)
    def _on_load_failed(self, reason: str) -> None:
        self._report_error("The study could not be opened", reason)

    @Slot()
    def _on_load_ended(self) -> None:
        if self.sender() is self._load_worker:
            self._load_worker = None
            self.progress_bar.hide()
        self._update_actions()

    def _show_skipped(self, study: Study) -> None:
        self.skipped_panel.set_skipped(study.skipped)
        self.skipped_dock.setVisible(bool(study.skipped))
        if study.skipped:
            self.resizeDocks([self.skipped_dock], [150], Qt.Orientation.Vertical)  # a list, not half the screen

    # ----- browsing ------------------------------------------------------------------------------------------------

    @property
    def current_series(self) -> Series | None:
        return self.viewer.series

    @Slot(int)
    def show_series(self, index: int) -> None:
        if self.study is None or not 0 <= index < len(self.study.series) or index == self._series_index:
            return
        series = self.study.series[index]
        self._series_index = index
        self.series_panel.select(index)
        self.results_panel.clear()
        for result in self._slice_results.get(index, {}).values():
            self.results_panel.add_slice_result(result)
        if index in self._study_results:
            self.results_panel.show_study_result(self._study_results[index])
        if self._model_problem:
            self.results_panel.show_model_problem(self._model_problem)
        elif not_analysable_reason(series.info):
            self.results_panel.show_state(f"<b>Analysis unavailable.</b> {not_analysable_reason(series.info)}.")
        self.viewer.set_series(series, len(series) // 2)  # the middle, as the worker's thumbnail
        self.viewer.set_predictions(self._predictions(index))
        self.navigator.refresh()
        self._update_profile()
        self._fill_window_presets()
        self.metadata_panel.show_series(series.info)
        self._on_slice_changed(self.viewer.current_index)
        self.viewer.setFocus()
        self._update_actions()

    def _show_slice(self, index: int) -> None:
        self.viewer.set_current_index(index)
        self.viewer.setFocus()

    @Slot(int)
    def _on_slice_changed(self, index: int) -> None:
        self._show_analysis_state(index)
        if self.metadata_dock.isVisible():
            self._tag_refresh.start()

    def _show_analysis_state(self, index: int) -> None:
        """Whether slice `index` is chosen, its result and the slider's marks. Also called when the analysis set or
        the results change, which leave the tags as they are: rebuilding the tag table for every streamed result
        cost the UI thread ~5 ms per burst of results (`benchmarks/bench_all_slices.py`)."""
        chosen = index in self._analysis_sets.get(self._series_index, set())
        self.results_panel.show_current_slice(index, chosen)
        self.include_action.blockSignals(True)
        self.include_action.setChecked(chosen)
        self.include_action.blockSignals(False)
        self._update_marks()

    def _refresh_tags(self) -> None:
        self.metadata_panel.show_tags(self.viewer.current_slice)

    def _fill_window_presets(self) -> None:
        self.window_presets.clear()
        slice_ = self.viewer.current_slice
        if slice_ is None:
            return
        self.window_presets.addItem("Default", None)
        try:
            presets = window_presets(slice_)
        except BrainMriError as error:
            self._show_status(str(error))
            return
        for window in presets:
            self.window_presets.addItem(f"{window.name or 'Window'}  (W {window.width:.0f} / L {window.center:.0f})",
                                        window)

    def _apply_window_preset(self, row: int) -> None:
        self.viewer.set_window(self.window_presets.itemData(row))

    @Slot(object)
    def _on_window_changed(self, window: Window | None) -> None:
        if window is not None and self.window_presets.currentIndex() > 0 \
                and self.window_presets.currentData() != window:
            self.window_presets.setCurrentIndex(-1)  # a dragged window is no preset

    def _set_current_slice_included(self, included: bool) -> None:
        chosen = self._analysis_sets.get(self._series_index)
        if chosen is None:
            return
        (chosen.add if included else chosen.discard)(self.viewer.current_index)
        self.series_panel.set_chosen_count(self._series_index, len(chosen))
        self._show_analysis_state(self.viewer.current_index)
        self._update_actions()
        self._show_status(f"{len(chosen)} slice(s) chosen for analysis")

    def _update_marks(self) -> None:
        chosen = self._analysis_sets.get(self._series_index, set())
        marks: dict[int, QColor] = {index: theme.ACCENT for index in chosen}
        for index, result in self._slice_results.get(self._series_index, {}).items():
            label = result.prediction.label if result.prediction is not None else None
            marks[index] = theme.class_colour(label) if label else theme.WARNING
        self.navigator.slider.set_marks(marks)

    def _update_profile(self) -> None:
        """The probability profile of the shown series once an analysis of it has started; hidden before."""
        series, results = self.current_series, self._slice_results.get(self._series_index)
        self.navigator.show_profile(None if series is None or results is None
                                    else probability_profile(results.values(), len(series), len(CLASSES)))

    def analysis_set(self) -> list[int]:
        """Slice indices of the shown series chosen for analysis, in order."""
        return sorted(self._analysis_sets.get(self._series_index, set()))

    def _choose_central_slices_again(self) -> None:
        """After the slice count changed: the open study's series get their central slices chosen anew, in a worker
        (choosing decodes slices), replacing any edits of the analysis sets."""
        study, count = self.study, self.preferences.slice_count
        if study is None:
            return
        worker = TaskWorker(lambda: [[slice_.index for slice_ in central_slices(series, count)]
                                     for series in study.series])
        worker.done.connect(lambda chosen: self._replace_analysis_sets(study, chosen))
        worker.failed.connect(lambda reason: self._report_error("The slices to analyse could not be chosen", reason))
        self.jobs.start(worker)

    def _set_analysis_set(self, series_index: int, indices: Iterable[int]) -> None:
        """Replace a series' analysis set and show its size in the series list."""
        self._analysis_sets[series_index] = set(indices)
        self.series_panel.set_chosen_count(series_index, len(self._analysis_sets[series_index]))

    def _replace_analysis_sets(self, study: Study, chosen: list[list[int]]) -> None:
        if study is not self.study:
            return  # another study was opened meanwhile
        for series_index, indices in enumerate(chosen):
            self._set_analysis_set(series_index, indices)
        self._show_analysis_state(self.viewer.current_index)
        self._update_actions()
        self._show_status(f"{self.preferences.slice_count} central slice(s) per series chosen for analysis")

    # ----- analysis ------------------------------------------------------------------------------------------------

    def _can_analyse(self) -> bool:
        """A series is shown, the model is usable and idle, and the series may be classified (MR)."""
        series = self.current_series
        return (series is not None and self._analysis_worker is None and not self._model_problem
                and not not_analysable_reason(series.info))

    def analyse_all_slices(self) -> None:
        """Make every slice of the shown series the analysis set, then analyse it."""
        if not self._can_analyse():
            return
        self._set_analysis_set(self._series_index, range(len(self.current_series)))
        self._show_analysis_state(self.viewer.current_index)
        self.start_analysis()

    def start_analysis(self) -> None:
        if not self._can_analyse() or not self.analysis_set():
            return
        series = self.current_series
        slices = [series.slices[index] for index in self.analysis_set()]
        self._analysing_series = self._series_index
        self._slice_results[self._series_index] = {}
        self._study_results.pop(self._series_index, None)
        self.results_panel.clear(hint="Starting analysis…")
        self.viewer.set_predictions({})
        self._update_profile()
        worker = AnalysisWorker(self.classifier, slices, series.info, len(series))
        worker.modelLoading.connect(self._on_model_loading)
        worker.modelUnavailable.connect(self._on_model_unavailable)
        worker.sliceDone.connect(self._on_slice_result)
        worker.progress.connect(self._on_analysis_progress)
        worker.finished.connect(self._on_analysis_finished)
        worker.failed.connect(self._on_analysis_failed)
        worker.cancelled.connect(self._on_analysis_cancelled)
        worker.ended.connect(self._on_analysis_ended)
        self._analysis_worker = worker
        self.jobs.start(worker)
        self._update_actions()

    def cancel_analysis(self) -> None:
        if self._analysis_worker is not None:
            self._analysis_worker.cancel()
            self._show_status("Cancelling…")

    def cancel_work(self) -> None:
        """Cancel: no further results of the analysis are shown, and any study still being scanned stops."""
        self.cancel_analysis()
        if self._load_worker is not None:
            self._load_worker.cancel()

    @Slot()
    def _on_model_loading(self) -> None:
        self._show_status("Loading model…")
        self.results_panel.show_state("Loading model… (first analysis only)")
        self.progress_bar.setRange(0, 0)  # busy indicator: loading has no steps
        self.progress_bar.show()

    @Slot(str)
    def _on_model_unavailable(self, reason: str) -> None:
        self._disable_model(reason)
        self._report_error("The model cannot be used", reason)

    @Slot(object)
    def _on_slice_result(self, result: SliceResult) -> None:
        self._slice_results.setdefault(self._analysing_series, {})[result.slice_index] = result
        if self._analysing_series == self._series_index:
            self._show_slice_result(result)
        self.sliceAnalysed.emit(result)

    def _show_slice_result(self, result: SliceResult) -> None:
        self.results_panel.add_slice_result(result)
        self.viewer.set_predictions(self._predictions(self._series_index))
        self._update_profile()
        self._show_analysis_state(self.viewer.current_index)

    @Slot(int, int)
    def _on_analysis_progress(self, done: int, total: int) -> None:
        self._analysis_progress = (done, total)
        self._progress_refresh.start()

    def _show_analysis_progress(self) -> None:
        done, total = self._analysis_progress
        self._show_progress(done, total)
        message = f"Analysing slice {min(done + 1, total)} of {total}" if done < total else "Combining results…"
        self._show_status(message)
        self.results_panel.show_state(message)

    @Slot(object)
    def _on_analysis_finished(self, result: StudyResult) -> None:
        self._progress_refresh.stop()  # a count still waiting to be shown would cover the verdict's notes
        self._study_results[self._analysing_series] = result
        if self._analysing_series == self._series_index:
            self.results_panel.show_study_result(result)
            self.results_panel.show_state(" ".join(result.notes()))
        self._show_status("Analysis finished")
        self.analysisFinished.emit(result)

    @Slot(str)
    def _on_analysis_failed(self, reason: str) -> None:
        self._progress_refresh.stop()
        self._report_error("The analysis failed", reason)
        self.results_panel.show_state(f"Analysis failed: {reason}")
        self.analysisFailed.emit(reason)

    @Slot()
    def _on_analysis_cancelled(self) -> None:
        self._progress_refresh.stop()
        self._show_status("Analysis cancelled")
        self.results_panel.show_state("Analysis cancelled — slices analysed so far are shown; no study verdict.")
        self.analysisCancelled.emit()

    @Slot()
    def _on_analysis_ended(self) -> None:
        self._analysis_worker = None
        self.progress_bar.hide()
        self._update_actions()

    def _predictions(self, series_index: int) -> dict[int, object]:
        return {index: result.prediction for index, result in self._slice_results.get(series_index, {}).items()
                if result.prediction is not None}

    @Slot(object)
    def _on_overlay_settings(self, settings: object) -> None:
        self.overlay_action.blockSignals(True)
        self.overlay_action.setChecked(self.overlay_panel.visible.isChecked())
        self.overlay_action.blockSignals(False)
        self.viewer.set_overlay_settings(settings)

    # ----- export --------------------------------------------------------------------------------------------------

    def current_study_result(self) -> StudyResult | None:
        return self._study_results.get(self._series_index)

    def _choose_export(self) -> None:
        result = self.current_study_result()
        if result is None:
            return
        from desktop.exporting import proposed_export_path

        proposed = proposed_export_path(result, self.anonymise_action.isChecked(), self.preferences.export_folder)
        path_text, chosen_filter = QFileDialog.getSaveFileName(self, "Export report", str(proposed),
                                                               ";;".join(EXPORT_FILTERS))
        if path_text:
            suffix = EXPORT_FILTERS.get(chosen_filter, Path(path_text).suffix or ".pdf")
            self.export(Path(path_text).with_suffix(suffix))

    def export(self, path: Path) -> TaskWorker | None:
        """Write the shown series' report (.pdf), overlay Secondary Capture (.dcm) or results (.json) off the UI
        thread; the status bar says when it is saved. None when there is nothing to export."""
        from desktop.exporting import ExportRequest, export_task

        result = self.current_study_result()
        if result is None or self.study is None or not result.counted_results:
            return None
        shown = self._slice_results.get(self._series_index, {}).get(self.viewer.current_index)
        # The Secondary Capture shows the slice on screen when it was analysed, else the first counted slice.
        slice_result = shown if shown is not None and shown.counted else result.counted_results[0]
        request = ExportRequest(path, result, slice_result, self.study, self.classifier.manifest,
                                self.overlay_panel.settings(), self.anonymise_action.isChecked(),
                                self.preferences.institution)
        worker = TaskWorker(export_task(request))
        worker.done.connect(self._on_export_done)
        worker.failed.connect(self._on_export_failed)
        self._show_status(f"Writing {path.name}…")
        self.jobs.start(worker)
        return worker

    @Slot(object)
    def _on_export_done(self, path: object) -> None:
        self._show_status(f"Saved {path}")
        self._set_preferences(dataclasses.replace(self.preferences, export_folder=str(Path(path).parent)))

    @Slot(str)
    def _on_export_failed(self, reason: str) -> None:
        self._report_error("The export failed", reason)

    # ----- preferences ---------------------------------------------------------------------------------------------

    def _set_preferences(self, preferences: Preferences) -> None:
        if preferences == self.preferences:
            return
        slice_count_changed = preferences.slice_count != self.preferences.slice_count
        self.preferences = preferences
        self._settings_writer.store(lambda: self.preferences.values(), "the preferences")
        if slice_count_changed:
            self._choose_central_slices_again()

    def show_preferences(self) -> None:
        dialog = PreferencesDialog(self.preferences, self)
        dialog.accepted.connect(lambda: self._set_preferences(dialog.preferences()))
        open_dialog(dialog)

    # ----- recent studies, drag and drop ---------------------------------------------------------------------------

    def recent_studies(self) -> list[str]:
        return list(self._recent)

    def _remember_recent(self, paths: Sequence[Path]) -> None:
        if len(paths) != 1:
            return  # a multi-file drop has no single place to reopen
        entry = str(Path(paths[0]).resolve())
        self._recent = ([entry] + [path for path in self._recent if path != entry])[:RECENT_LIMIT]
        self._settings_writer.store(lambda: {RECENT_KEY: self.recent_studies()}, "the recent studies")

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_studies():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_paths([Path(p)]))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent studies").setEnabled(False)

    def _choose_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Open file", "", "DICOM and images (*);;All files (*)")
        if names:
            self.open_paths([Path(name) for name in names])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder")
        if folder:
            self.open_paths([Path(folder)])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # ----- three-panel view, cases, model information ---------------------------------------------------------------

    def _display_names(self) -> list[str]:
        try:
            return self.classifier.manifest.display_names
        except BrainMriError:
            return []

    def _set_contrast_enhanced(self, enhanced: bool) -> None:
        """One display-only CLAHE state for the viewer and the three-panel view."""
        self.viewer.set_contrast_enhanced(enhanced)
        self.three_panel.set_contrast_enhanced(enhanced)

    def _refresh_three_panel(self) -> None:
        if not self.three_panel_dock.isVisible():
            return  # redrawn when the dock is shown
        series, slice_ = self.current_series, self.viewer.current_slice
        self.three_panel.set_slice(self.viewer.displayed_image,
                                   self._predictions(self._series_index).get(self.viewer.current_index),
                                   self.overlay_panel.settings(), self._display_names(),
                                   slice_.label if slice_ is not None else "",
                                   series.info.pixel_spacing if series is not None else None)

    def cases_panel(self) -> CasesPanel | None:
        """The Cases panel, opening the case store on first use; None (with the reason shown) if it cannot open."""
        panel = self.cases_dock.widget()
        if isinstance(panel, CasesPanel):
            return panel
        try:
            store = CaseStore()
        except CaseStoreError as error:
            self._report_error("The case history cannot be opened", error.reason)
            return None
        panel = CasesPanel(store)
        try:
            manifest = self.classifier.manifest
            panel.set_class_names(manifest.classes, manifest.display_names)
        except BrainMriError:
            pass  # results are then listed by their class keys
        panel.caseReopened.connect(self.restore_case)
        self.cases_dock.setWidget(panel)
        return panel

    def save_case(self) -> None:
        result = self.current_study_result()
        if result is None or self.study is None:
            return
        panel = self.cases_panel()
        if panel is not None and panel.save_case(result, self.study.source, self.overlay_panel.settings()):
            self.cases_dock.show()
            self._show_status("Case saved")

    @Slot(object)
    def restore_case(self, case: Case) -> None:
        """Reopen the case's study and show it with the saved results and overlay settings; the model is not run."""
        source = case.study.source_path
        if not source or not Path(source).exists():
            self._report_error("The case's study cannot be opened",
                               f"The study is no longer at {source}." if source
                               else "An anonymised case does not record where its study was.")
            return
        self._case_to_restore = case
        self.open_paths([Path(source)])

    @Slot(object)
    def _restore_pending_case(self, study: Study) -> None:
        case, self._case_to_restore = self._case_to_restore, None
        if case is None or study.source != Path(case.study.source_path):
            return  # the user opened something else meanwhile
        wanted = case.study.series_instance_uid
        index = next((n for n, series in enumerate(study.series) if series.info.series_instance_uid == wanted), None)
        if index is None:
            self._report_error("The case's series was not found", f"No series {wanted} in {study.source}.")
            return
        series = study.series[index]
        # Exports of the reopened case need the display images, which cases saved without copies get back here.
        saved = dataclasses.replace(case.study_result, slice_results=[
            self._with_display(result, series) for result in case.study_result.slice_results])
        self._slice_results[index] = {result.slice_index: result for result in saved.slice_results}
        self._study_results[index] = saved
        if saved.classes:  # name the classes as the model that made the case did (also when no model is installed)
            names = saved.display_names or saved.classes
            self.results_panel.set_classes(saved.classes, names)
            self.overlay_panel.set_class_names(names)
        self._apply_overlay_settings(case.overlay_settings)
        self._series_index = -1  # show_series redraws even when this series is already shown
        self.show_series(index)
        self._show_status(f"Case “{case.record.name}” reopened as saved (model {case.study_result.model_version})")

    @staticmethod
    def _with_display(result: SliceResult, series: Series) -> SliceResult:
        """Cases saved without slice copies get the display image back from the study (reports need it)."""
        if result.display is not None or result.error or not 0 <= result.slice_index < len(series):
            return result
        try:
            return dataclasses.replace(result, display=series.slices[result.slice_index].display())
        except BrainMriError:
            return result

    def _apply_overlay_settings(self, settings: OverlaySettings) -> None:
        panel = self.overlay_panel
        panel.visible.setChecked(settings.visible)
        panel.opacity.setValue(round(settings.opacity * 100))
        panel.threshold.setValue(round(settings.threshold * 100))
        panel.colormap.setCurrentText(settings.colormap)
        panel.explained_class.setCurrentIndex(0 if settings.class_index is None else settings.class_index + 1)

    def show_model_info(self) -> None:
        open_dialog(ModelInfoDialog(self.classifier.model_dir, self))

    def show_about(self) -> None:
        open_dialog(AboutDialog(APP_TITLE, lambda: self.classifier.manifest, self))

    # ----- status, errors, enabling --------------------------------------------------------------------------------

    def _show_status(self, text: str) -> None:
        self.status_text.setText(text)

    def _show_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        self.progress_bar.show()

    def _report_error(self, title: str, reason: str) -> None:
        """A non-blocking message with the reason; the window stays usable."""
        log.warning("%s: %s", title, reason)
        self._show_status(f"{title}: {reason}")
        box = QMessageBox(QMessageBox.Icon.Warning, title, reason, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _update_actions(self) -> None:
        analysing = self._analysis_worker is not None
        has_series = self.current_series is not None
        self.analyse_action.setEnabled(self._can_analyse() and bool(self.analysis_set()))
        self.analyse_all_action.setEnabled(self._can_analyse())
        self.cancel_action.setEnabled(analysing or self._load_worker is not None)
        self.include_action.setEnabled(has_series)
        self.export_action.setEnabled(self.current_study_result() is not None and not analysing)
        self.save_case_action.setEnabled(self.current_study_result() is not None and not analysing)

    def stop_background_work(self) -> None:
        """Cancel the workers, end the model's helper process, wait for the workers' threads. The helper ends first
        so that a worker waiting for the model to load (seconds) is released at once instead of holding up quit."""
        self.jobs.cancel_all()
        self.classifier.close()
        self.jobs.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop_background_work()
        super().closeEvent(event)
