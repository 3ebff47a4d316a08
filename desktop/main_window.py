"""The main window: the viewer in the centre, docked panels around it, menus, the toolbar and the connections
between them. No behaviour of its own: what is shown lives in the `core.session.SessionModel` (views follow it,
`desktop.panel_binding`), and opening studies, analysis, export and cases are their controllers'
(`desktop.study_loading`, `desktop.analysis_control`, `desktop.export_control`, `desktop.case_control`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import FunctionWorker

from core.analysis.results import StudyResult, not_analysable_reason
from core.cases.store import Case
from core.io.load import Series, Study
from core.model.remote import ClassifierProcess
from core.session import SessionModel
from desktop.analysis_control import AnalysisControl
from desktop.case_control import CaseControl
from desktop.dialogs.help_dialogs import AboutDialog, ShortcutsDialog, open_dialog
from desktop.dialogs.model_info_dialog import ModelInfoDialog
from desktop.dialogs.preferences_dialog import PreferencesDialog
from desktop.export_control import ExportControl
from desktop.feedback import Feedback
from desktop.panel_binding import (
    bind_include_action,
    bind_metadata_panel,
    bind_overlay_panel,
    bind_results_panel,
    bind_series_panel,
    bind_three_panel,
    bind_window_presets,
)
from desktop.panels.cases_panel import CasesPanel
from desktop.panels.metadata_panel import MetadataPanel
from desktop.panels.overlay_panel import OverlayPanel
from desktop.panels.results_panel import ResultsPanel
from desktop.panels.series_panel import SeriesPanel
from desktop.panels.skipped_panel import SkippedFilesPanel
from desktop.settings import Preferences, SettingsWriter, read_preferences
from desktop.study_loading import StudyLoading
from desktop.viewer.cine import CinePlayer, frame_rate_box
from desktop.viewer.navigator import SliceNavigator
from desktop.viewer.slice_viewer import SliceViewer
from desktop.viewer.three_panel_view import ThreePanelView, open_floating_over
from desktop.workers import BackgroundJobs

APP_TITLE = "BrainMRI Assist"


def _dock(title: str, name: str, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title)
    dock.setObjectName(name)  # lets saveState/restoreState remember the layout
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    return dock


class MainWindow(QMainWindow):
    """Signals announce what the user sees happen (for later panels and for tests), always on the UI thread."""

    studyLoaded = Signal(object)  # Study, after its first series is shown
    sliceAnalysed = Signal(object)  # SliceResult
    analysisFinished = Signal(object)  # StudyResult
    analysisCancelled = Signal()
    analysisFailed = Signal(str)
    caseRestored = Signal(object)  # StudyResult of a reopened case, once shown

    def __init__(self, model_dir: Path | None = None, preload_model: bool = True) -> None:
        super().__init__()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.resize(1500, 920)
        self.session = SessionModel()
        self.jobs = BackgroundJobs(self)
        # The model runs in a helper process (TensorFlow in this one would freeze the window while it loads), one
        # for the app's lifetime. It starts loading once the first study shows (`AnalysisControl.preload_model`), so
        # neither start-up nor the first slice waits for it and the first Analyse finds it ready or nearly so.
        self.classifier = ClassifierProcess(model_dir)
        QApplication.instance().aboutToQuit.connect(self.stop_background_work)  # also when quit without closing
        self.preferences = read_preferences()
        self._settings_writer = SettingsWriter(self.jobs)
        self.feedback = Feedback(self)

        self.viewer = SliceViewer(self.session, jobs=self.jobs)
        self.navigator = SliceNavigator(self.session)
        self.cine = CinePlayer(self.viewer, self)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.viewer, 1)
        central_layout.addWidget(self.navigator)
        self.setCentralWidget(central)
        self._create_docks()
        self.status_text, self.progress_bar = self.feedback.status_text, self.feedback.progress_bar
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)

        self.loading = StudyLoading(self, self.session, self.jobs, self.feedback, self._settings_writer,
                                    lambda: self.preferences.slice_count, self.viewer, self.series_panel,
                                    self.skipped_panel, self.skipped_dock)
        self.analysis = AnalysisControl(self, self.session, self.classifier, self.jobs, self.feedback,
                                        self.results_panel, self.overlay_panel, preload_model)
        self.exports = ExportControl(self, self.session, self.classifier, self.jobs, self.feedback,
                                     self.anonymise_requested, lambda: self.preferences, self._on_exported)
        self.cases = CaseControl(self, self.session, self.classifier, self.jobs, self.cases_dock, self.feedback,
                                 self.results_panel, self.overlay_panel, self.open_paths)
        self._create_actions()
        self._create_menus_and_toolbar()
        self._connect()
        self._update_actions()

    # ----- construction --------------------------------------------------------------------------------------------

    def _create_docks(self) -> None:
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
        # The series list keeps room for two or three series; the metadata's own splitter shares the rest.
        self.resizeDocks([self.series_dock, self.metadata_dock], [320, 480], Qt.Orientation.Vertical)
        self.skipped_dock.hide()

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
        self.export_action = self._action("Export report…", "Ctrl+E", lambda: self.exports.choose())
        self.anonymise_action = self._action("Anonymise exports", None, checkable=True)
        self.anonymise_action.setToolTip("Leave patient name, ID and birth date out of reports and exports")
        self.save_case_action = self._action("Save case…", QKeySequence.StandardKey.Save,
                                             lambda: self.cases.save_case())
        self.save_case_action.setToolTip("Keep this analysis as a named case in the case history (Ctrl+S)")
        self.preferences_action = self._action("Preferences…", QKeySequence.StandardKey.Preferences,
                                               self.show_preferences)
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.model_info_action = self._action("Model information…", None, self.show_model_info)
        self.shortcuts_action = self._action("Keyboard shortcuts…", QKeySequence.StandardKey.HelpContents,
                                             lambda: open_dialog(ShortcutsDialog(self)))
        self.about_action = self._action(f"About {APP_TITLE}…", None, self.show_about)
        self.quit_action = self._action("Quit", QKeySequence.StandardKey.Quit, self.close)
        self.analyse_action = self._action("Analyse", "Ctrl+R", lambda: self.analysis.start())
        self.analyse_action.setToolTip("Run the model on the slices chosen for analysis (Ctrl+R)")
        self.analyse_all_action = self._action("Analyse all slices", "Ctrl+Shift+R",
                                               lambda: self.analysis.analyse_all_slices())
        self.analyse_all_action.setToolTip("Run the model on every slice of the series (Ctrl+Shift+R)")
        self.analyse_all_action.setIconText("All slices")  # the toolbar button, beside Analyse; 1280 px is tight
        self.cancel_action = self._action("Cancel", "Esc", self.cancel_work)
        self.include_action = self._action("Include this slice", "I", checkable=True)
        self.include_action.setToolTip("Add or remove the shown slice from the analysis set (I)")
        self.include_action.setIconText("Include slice")
        self.overlay_action = self._action("Show overlay", "H", checkable=True)
        self.corner_text_action = self._action("Corner text", "T", self.viewer.set_corner_text_visible,
                                               checkable=True)
        self.corner_text_action.setChecked(True)
        self.corner_text_action.setToolTip("Corner text, orientation letters and scale bar on the image (T)")
        self.reset_view_action = self._action("Reset view", "R", self.viewer.reset_view)
        self.contrast_action = self._action("Enhance contrast (CLAHE, display only)", "C",
                                            self.session.set_contrast_enhanced, checkable=True)
        self.contrast_action.setToolTip("Changes only what is shown; the model always receives the "
                                        "unenhanced image (C)")
        self.reset_view_action.setToolTip("Fit to window and return to the default window/level (R)")
        self.window_drag_action = self._action("W/L drag", "W", self.viewer.set_left_drag_windows, checkable=True)
        self.window_drag_action.setToolTip("Left-drag adjusts window/level: sideways the width, up and down the level "
                                           "(W). Right-drag always does.")
        self.measure_action = self._action("Measure distance", "M", self.viewer.set_measuring, checkable=True)
        self.measure_action.setIconText("Measure")  # short toolbar texts: every button fits a 1280-pixel screen
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
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
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

    def _connect(self) -> None:
        session = self.session
        bind_series_panel(session, self.series_panel, self.viewer)
        bind_results_panel(session, self.results_panel, lambda: self.analysis.model_problem)
        bind_overlay_panel(session, self.overlay_panel, self.viewer, self.overlay_action)
        bind_include_action(session, self.include_action, self.feedback)
        bind_metadata_panel(session, self.metadata_panel, self.metadata_dock)
        bind_window_presets(session, self.window_presets, self.viewer)
        bind_three_panel(session, self.three_panel, self.three_panel_dock, self.viewer, self.analysis.display_names)
        session.display_changed.connect(lambda options: _set_checked(self.contrast_action,
                                                                     options.contrast_enhanced))
        for event in (session.series_changed, session.analysis_set_changed, session.study_result_changed):
            event.connect(self._update_actions)
        self.skipped_panel.dismissed.connect(self.skipped_dock.hide)
        self.cine.playingChanged.connect(self.cine_action.setChecked)  # also when playing stops by itself
        self.loading.studyLoaded.connect(self.cases.restore_pending_case)
        self.cases.caseRestored.connect(self.caseRestored)
        self.loading.studyLoaded.connect(self.analysis.preload_model)
        self.loading.studyLoaded.connect(self.studyLoaded)
        for controller in (self.loading, self.analysis):
            controller.busyChanged.connect(self._update_actions)
        self.loading.busyChanged.connect(lambda: self.viewer.pause_prefetch(self.loading.busy))
        self.analysis.sliceAnalysed.connect(self.sliceAnalysed)
        self.analysis.analysisFinished.connect(self.analysisFinished)
        self.analysis.analysisCancelled.connect(self.analysisCancelled)
        self.analysis.analysisFailed.connect(self.analysisFailed)

    # ----- what tests and other windows use ------------------------------------------------------------------------

    @property
    def study(self) -> Study | None:
        return self.session.study

    @property
    def current_series(self) -> Series | None:
        return self.session.current_series

    def analysis_set(self) -> list[int]:
        """Slice indices of the shown series chosen for analysis, in order."""
        return self.session.analysis_set()

    def current_study_result(self) -> StudyResult | None:
        return self.session.study_result()

    def open_paths(self, paths: list[Path]) -> None:
        self.loading.open_paths(paths)

    def show_series(self, index: int) -> None:
        self.session.select_series(index)
        self.viewer.setFocus()

    def start_analysis(self) -> None:
        self.analysis.start()

    def analyse_all_slices(self) -> None:
        self.analysis.analyse_all_slices()

    def cancel_work(self) -> None:
        """Cancel: no further results of the analysis are shown, and any study still being scanned stops."""
        self.analysis.cancel()
        self.loading.cancel()

    def export(self, path: Path) -> FunctionWorker | None:
        return self.exports.export(path)

    def anonymise_requested(self) -> bool:
        return self.anonymise_action.isChecked()

    def cases_panel(self) -> CasesPanel | None:
        return self.cases.cases_panel()

    def save_case(self) -> None:
        self.cases.save_case()

    def restore_case(self, case: Case) -> None:
        self.cases.restore_case(case)

    def recent_studies(self) -> list[str]:
        return self.loading.recent_studies()

    # ----- preferences, recent studies, drag and drop --------------------------------------------------------------

    def _on_exported(self, path: Path) -> None:
        self._set_preferences(dataclasses.replace(self.preferences, export_folder=str(path.parent)))

    def _set_preferences(self, preferences: Preferences) -> None:
        if preferences == self.preferences:
            return
        slice_count_changed = preferences.slice_count != self.preferences.slice_count
        self.preferences = preferences
        self._settings_writer.store(lambda: self.preferences.values(), "the preferences")
        if slice_count_changed:
            self.loading.choose_central_slices_again()

    def show_preferences(self) -> None:
        dialog = PreferencesDialog(self.preferences, self)
        dialog.accepted.connect(lambda: self._set_preferences(dialog.preferences()))
        open_dialog(dialog)

    def fill_recent_menu(self) -> None:
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

    def show_model_info(self) -> None:
        open_dialog(ModelInfoDialog(self.classifier.model_dir, self))

    def show_about(self) -> None:
        open_dialog(AboutDialog(APP_TITLE, lambda: self.classifier.manifest, self))

    # ----- enabling, closing ---------------------------------------------------------------------------------------

    def _update_actions(self, *_changed: object) -> None:
        analysing, has_result = self.analysis.busy, self.current_study_result() is not None
        self.analyse_action.setEnabled(self.analysis.can_analyse() and bool(self.analysis_set()))
        self.analyse_all_action.setEnabled(self.analysis.can_analyse())
        self.cancel_action.setEnabled(analysing or self.loading.busy)
        self.include_action.setEnabled(self.current_series is not None
                                       and not not_analysable_reason(self.current_series.info))
        self.export_action.setEnabled(has_result and not analysing)
        self.save_case_action.setEnabled(has_result and not analysing)

    def stop_background_work(self) -> None:
        """Cancel the workers, end the model's helper process, wait for the workers' threads. The helper ends first
        so that a worker waiting for the model to load (seconds) is released at once instead of holding up quit."""
        self.jobs.cancel_all()
        self.classifier.close()
        self.jobs.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop_background_work()
        super().closeEvent(event)


def _set_checked(action: QAction, checked: bool) -> None:
    action.blockSignals(True)
    action.setChecked(checked)
    action.blockSignals(False)
