"""The panels follow the session model: each function here subscribes one panel (or toolbar control) to the
`core.session.SessionModel` events it shows and sends the user's changes back as session method calls. The panels
themselves keep no copy of the session's state."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QDockWidget

from core.analysis.overlay import Explanation
from core.analysis.results import SliceResult, StudyResult, not_analysable_reason
from core.io.windowing import Window
from core.output.wording import NO_PREDICTION, study_notes, verdict_text
from core.session import SessionModel
from desktop.feedback import Feedback
from desktop.panels.metadata_panel import MetadataPanel
from desktop.panels.overlay_panel import OverlayPanel
from desktop.panels.results_panel import ResultsPanel
from desktop.panels.series_panel import SeriesPanel
from desktop.viewer.slice_loading import window_presets
from desktop.viewer.slice_viewer import SliceViewer
from desktop.viewer.three_panel_view import ThreePanelView

TAG_REFRESH_MS = 150  # tag tables can be long: refresh them once scrolling pauses, not on every slice


def _blocked(action: QAction, checked: bool) -> None:
    action.blockSignals(True)
    action.setChecked(checked)
    action.blockSignals(False)


def bind_results_panel(session: SessionModel, panel: ResultsPanel, model_problem: Callable[[], str]) -> None:
    """The shown series' results, verdict and current slice; why it cannot be analysed (`model_problem()` is the
    model's reason, "" when it is usable)."""

    def show_series(_index: int = -1) -> None:
        panel.clear()
        for result in session.slice_results().values():
            panel.add_slice_result(result)
        if (study_result := session.study_result()) is not None:
            show_verdict(study_result)
        series = session.current_series
        if model_problem():
            panel.show_model_problem(model_problem())
        elif series is not None and not_analysable_reason(series.info):
            panel.show_state(f"<b>Analysis unavailable:</b> {not_analysable_reason(series.info)}.")
        show_slice()

    def show_slice(*_changed: object) -> None:
        series = session.current_series
        if series is None:
            return
        if not_analysable_reason(series.info):
            panel.show_slice_not_analysable(session.slice_index)
        else:
            panel.show_current_slice(session.slice_index, session.is_chosen(), session.slice_result())

    def on_results_reset(series_index: int) -> None:
        if series_index == session.series_index:
            show_series()

    def on_slice_result(series_index: int, result: SliceResult) -> None:
        if series_index == session.series_index:
            panel.add_slice_result(result)
            show_slice()

    def show_verdict(result: StudyResult) -> None:
        """The verdict with its notes, as the analysis ends or when the series is shown again."""
        panel.show_study_result(result)
        panel.show_state(" ".join(study_notes(result)))

    def on_study_result(series_index: int, result: StudyResult | None) -> None:
        if series_index == session.series_index and result is not None:
            show_verdict(result)

    def on_analysis_set(series_index: int) -> None:
        if series_index == session.series_index:
            show_slice()

    session.series_changed.connect(show_series)
    session.slice_changed.connect(show_slice)
    session.analysis_set_changed.connect(on_analysis_set)
    session.results_reset.connect(on_results_reset)
    session.slice_result_added.connect(on_slice_result)
    session.study_result_changed.connect(on_study_result)
    panel.sliceActivated.connect(session.set_slice)


def bind_overlay_panel(session: SessionModel, panel: OverlayPanel, viewer: SliceViewer, action: QAction) -> None:
    """The overlay controls and the toolbar's Show overlay (H) both show and change the session's settings."""

    def show(settings: object) -> None:
        panel.show_settings(session.overlay)
        _blocked(action, session.overlay.visible)

    panel.settingsChanged.connect(session.set_overlay)
    action.toggled.connect(lambda visible: session.update_overlay(visible=visible))
    session.overlay_changed.connect(show)
    def show_explanation(explanation: Explanation | None) -> None:
        panel.show_explanation(explanation)
        # On the image too: a reader looking at the map need not look at the panel to know what it explains.
        viewer.set_overlay_caption("" if explanation is None else "Grad-CAM: " + panel.explained_words(explanation),
                                   explanation is not None and explanation.weak)

    viewer.explanationChanged.connect(show_explanation)
    show(session.overlay)


def bind_series_panel(session: SessionModel, panel: SeriesPanel, viewer: SliceViewer) -> None:
    def on_study(study: object) -> None:
        panel.set_series(session.study.series if session.study is not None else [])

    def on_series(index: int) -> None:
        if index >= 0:
            panel.select(index)

    def on_analysis_set(series_index: int) -> None:
        panel.set_chosen_count(series_index, len(session.analysis_set(series_index)))

    def on_result(series_index: int, result: StudyResult | None) -> None:
        panel.set_result(series_index, "" if result is None else
                         "Result: " + (verdict_text(result) or NO_PREDICTION))

    session.study_changed.connect(on_study)
    session.series_changed.connect(on_series)
    session.analysis_set_changed.connect(on_analysis_set)
    session.study_result_changed.connect(on_result)
    session.results_reset.connect(lambda series_index: panel.set_result(series_index, ""))
    panel.seriesSelected.connect(session.select_series)
    panel.seriesSelected.connect(lambda _index: viewer.setFocus())


def bind_include_action(session: SessionModel, action: QAction, feedback: Feedback) -> None:
    """Include this slice (I): checked when the shown slice is in the analysis set; toggling edits the set."""

    def show(*_changed: object) -> None:
        _blocked(action, session.is_chosen())

    def include(included: bool) -> None:
        session.set_included(included)
        feedback.show_status(f"{len(session.analysis_set())} slice(s) chosen for analysis")

    action.toggled.connect(include)
    for signal in (session.series_changed, session.slice_changed, session.analysis_set_changed):
        signal.connect(show)


def bind_metadata_panel(session: SessionModel, panel: MetadataPanel, dock: QDockWidget) -> None:
    """Series fields when the series changes; the slice's tags once scrolling pauses, and only while shown."""
    refresh = QTimer(panel)
    refresh.setSingleShot(True)
    refresh.setInterval(TAG_REFRESH_MS)
    refresh.timeout.connect(lambda: panel.show_tags(session.current_slice))

    def on_series(_index: int) -> None:
        series = session.current_series
        if series is not None:
            panel.show_series(series.info)
            on_slice()

    def on_slice(*_changed: object) -> None:
        if dock.isVisible():
            refresh.start()

    session.series_changed.connect(on_series)
    session.slice_changed.connect(on_slice)
    dock.visibilityChanged.connect(lambda visible: visible and refresh.start())


def bind_window_presets(session: SessionModel, box: QComboBox, viewer: SliceViewer) -> None:
    """The toolbar's W/L presets of the shown series; choosing one sets the session's window, a dragged window
    (no preset) empties the choice, and a reset shows "Default" again. The series' automatic window is computed by
    the viewer's worker: until then it is left out, and the list is filled again once the viewer has shown a
    slice."""
    complete = [True]  # whether the last fill knew the automatic window

    def fill(_index: int) -> None:
        box.clear()
        slice_ = session.current_slice
        if slice_ is None:
            return
        box.addItem("Default", None)
        complete[0] = slice_.known_automatic_window() is not None
        for window in window_presets(slice_):
            box.addItem(f"{window.name or 'Window'}  (W {window.width:.0f} / L {window.center:.0f})", window)
        if session.window() is not None:
            box.setCurrentIndex(-1)  # the series keeps a window of its own

    def on_shown(_index: int) -> None:
        if not complete[0]:
            row, chosen = box.currentIndex(), box.currentData()
            fill(session.series_index)
            if row >= 0:  # a preset chosen before the list was complete stays chosen
                box.setCurrentIndex(next((row for row in range(box.count()) if box.itemData(row) == chosen), -1))

    def on_window(window: Window | None) -> None:
        if window is not None and box.currentIndex() > 0 and box.currentData() != window:
            box.setCurrentIndex(-1)  # a dragged window is no preset

    def on_session_window(series_index: int, window: Window | None) -> None:
        if window is None and series_index == session.series_index and box.count():
            box.setCurrentIndex(0)  # back to each slice's default window

    session.series_changed.connect(fill)
    viewer.sliceShown.connect(on_shown)
    box.activated.connect(lambda row: session.set_window(box.itemData(row)))
    viewer.windowChanged.connect(on_window)
    session.window_changed.connect(on_session_window)


def bind_three_panel(session: SessionModel, view: ThreePanelView, dock: QDockWidget, viewer: SliceViewer,
                     display_names: Callable[[], list[str]]) -> None:
    """Original | heatmap | overlay of the slice the viewer shows, redrawn only while its dock is visible."""

    def refresh(*_changed: object) -> None:
        if not dock.isVisible() or viewer.slice_loading:
            return  # redrawn when the dock is shown, or the viewer has shown the slice
        series, slice_ = session.current_series, session.current_slice
        view.set_slice(viewer.displayed_image, session.prediction(), session.overlay, display_names(),
                       slice_.label if slice_ is not None else "",
                       series.info.pixel_spacing if series is not None else None,
                       slice_.orientation if slice_ is not None else None)

    # `sliceShown` comes after the viewer has painted the slice (moved to, new window), so `displayed_image` is new.
    for signal in (viewer.sliceShown, dock.visibilityChanged):
        signal.connect(refresh)
    for event in (session.overlay_changed, session.slice_result_added, session.results_reset):
        event.connect(refresh)
    view.contrast_toggle.toggled.connect(session.set_contrast_enhanced)
    session.display_changed.connect(lambda options: view.set_contrast_enhanced(options.contrast_enhanced))
