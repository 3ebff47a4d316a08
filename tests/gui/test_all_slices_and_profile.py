"""Analysing every slice of a series, the slice-count preference and the probability profile above the slider."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from core.analysis.profile import SliceState
from core.analysis.results import AGGREGATION_RULE
from core.analysis.selection import DEFAULT_SLICE_COUNT, central_slices
from desktop import theme
from desktop.dialogs.preferences_dialog import PreferencesDialog
from desktop.settings import MAX_SLICE_COUNT, SLICE_COUNT_KEY, read_preferences, store_settings
from desktop.viewer import profile_view
from tests.dicom_factory import write_mr_series
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, LOAD_TIMEOUT_MS, open_and_wait, wait_for_analysis_set, wait_shown
from tests.gui.test_help_dialogs import open_dialog_of_type

pytest_plugins = ["tests.model_fixtures"]

SERIES_LENGTH = 20


@pytest.fixture
def series_folder(tmp_path: Path) -> Path:
    write_mr_series(tmp_path / "mr", n_slices=SERIES_LENGTH, rows=64, cols=64)
    return tmp_path / "mr"


def run_to_the_end(qtbot, window, action) -> object:
    with qtbot.waitSignal(window.analysisFinished, timeout=ANALYSIS_TIMEOUT_MS) as finished:
        action.trigger()
    qtbot.waitUntil(lambda: window.analyse_action.isEnabled())  # the worker has ended
    return finished.args[0]


def profile_colour(window, index: int, y: int) -> QColor:
    """The colour the profile paints at slice `index`, `y` pixels from its top."""
    profile = window.navigator.profile
    image = profile.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    ratio = image.devicePixelRatio()
    return QColor(image.pixel(round(profile.slice_x(index) * ratio), round(y * ratio)))


def test_analyse_all_slices_streams_every_slice_into_the_profile_under_the_same_rule(
        qtbot, tiny_window, series_folder: Path) -> None:
    window = tiny_window
    open_and_wait(qtbot, window, series_folder)
    wait_for_analysis_set(qtbot, window)
    assert len(window.analysis_set()) == DEFAULT_SLICE_COUNT
    assert window.analyse_all_action in window.menuBar().actions()[2].menu().actions()  # Analysis menu
    assert window.findChild(profile_view.ProfileView) is window.navigator.profile
    assert not window.navigator.profile.isVisible() and not window.navigator.profile_scale.isVisible()  # none yet
    streamed, profile_sizes = [], []
    window.sliceAnalysed.connect(streamed.append)
    window.sliceAnalysed.connect(lambda _: profile_sizes.append(len(window.navigator.profile.profile().analysed)))

    result = run_to_the_end(qtbot, window, window.analyse_all_action)

    every_slice = list(range(SERIES_LENGTH))
    assert [r.slice_index for r in streamed] == every_slice == window.analysis_set()
    assert profile_sizes == list(range(1, SERIES_LENGTH + 1))  # the profile fills in as results stream
    assert set(window.navigator.slider.marks()) == set(every_slice)
    assert f"{SERIES_LENGTH} chosen for analysis" in window.series_panel.list.item(0).text()
    assert [r.slice_index for r in result.slice_results] == every_slice
    assert result.rule == AGGREGATION_RULE
    counted = [r.prediction.probabilities for r in streamed if r.counted]
    np.testing.assert_allclose(result.probabilities, np.mean(counted, axis=0))
    assert result.verdict_label == result.classes[int(np.argmax(np.mean(counted, axis=0)))]
    assert window.navigator.profile.isVisible() and window.navigator.profile_scale.isVisible()
    assert window.navigator.profile.profile().analysed == every_slice


def test_the_profile_scale_marks_the_heights_the_curves_reach(qtbot) -> None:
    scale = profile_view.ProfileScale()
    qtbot.addWidget(scale)
    marks = scale.marks()
    assert [text for text, _ in marks] == ["100%", "50%", "0%"]
    assert marks[1][1].center().y() == pytest.approx(profile_view.probability_y(0.5, scale.height()))
    for probability, (_, box) in zip(profile_view.ProfileScale.MARKS, marks):  # near its height, inside the strip
        assert box.top() >= 0 and box.bottom() <= scale.height()
        assert box.top() - 1 <= profile_view.probability_y(probability, scale.height()) <= box.bottom() + 1


def test_streamed_results_leave_the_tag_table_alone_and_a_slice_change_refreshes_it(
        qtbot, tiny_window, series_folder: Path, monkeypatch) -> None:
    """The tags are the shown slice's, which results do not change: rebuilding the table for every streamed result
    only took the UI thread's time (issue 12)."""
    window = tiny_window
    open_and_wait(qtbot, window, series_folder)
    wait_for_analysis_set(qtbot, window)
    assert window.metadata_dock.isVisible()
    qtbot.waitUntil(lambda: window.metadata_panel.tag_model.rowCount() > 0)  # the shown slice's tags, once
    shown_tags = []
    monkeypatch.setattr(window.metadata_panel, "show_tags", shown_tags.append)

    run_to_the_end(qtbot, window, window.analyse_all_action)
    qtbot.wait(500)  # longer than the delay after which a pending tag refresh would run

    assert shown_tags == []
    window.viewer.set_current_index(0)
    qtbot.waitUntil(lambda: shown_tags == [window.current_series.slices[0]], timeout=LOAD_TIMEOUT_MS)


def test_the_profile_leaves_unanalysed_slices_empty_and_a_click_goes_to_a_slice(
        qtbot, tiny_window, series_folder: Path) -> None:
    window = tiny_window
    open_and_wait(qtbot, window, series_folder)
    wait_for_analysis_set(qtbot, window)
    chosen = window.analysis_set()
    run_to_the_end(qtbot, window, window.analyse_action)
    profile = window.navigator.profile
    qtbot.waitUntil(profile.isVisible)
    data = profile.profile()
    assert data.analysed == chosen
    unanalysed = [index for index in range(SERIES_LENGTH) if index not in chosen]
    assert all(data.states[index] is SliceState.NOT_ANALYSED for index in unanalysed)
    assert np.isnan(data.probabilities[unanalysed]).all()
    away_from_the_cursor = [index for index in (chosen[0], unanalysed[0]) if index != window.viewer.current_index]
    assert len(away_from_the_cursor) == 2
    assert profile_colour(window, chosen[0], 1) == profile_view.ANALYSED
    assert profile_colour(window, unanalysed[0], 1) == profile_view.BACKGROUND

    target = unanalysed[-1]
    QTest.mouseClick(profile, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(round(profile.slice_x(target)), profile.height() // 2))
    assert window.viewer.current_index == target == window.navigator.slider.value()
    assert profile_colour(window, target, profile.height() // 2) == theme.ACCENT  # the current slice


def test_profile_slices_line_up_with_the_slider_handle(qtbot, tiny_window, series_folder: Path) -> None:
    window = tiny_window
    open_and_wait(qtbot, window, series_folder)
    wait_for_analysis_set(qtbot, window)
    run_to_the_end(qtbot, window, window.analyse_action)
    navigator, slider, profile = window.navigator, window.navigator.slider, window.navigator.profile
    qtbot.waitUntil(profile.isVisible)
    for index in (0, 7, SERIES_LENGTH - 1):
        window.viewer.set_current_index(index)
        option = QStyleOptionSlider()
        slider.initStyleOption(option)
        handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                               QStyle.SubControl.SC_SliderHandle, slider)
        handle_x = slider.mapTo(navigator, QPointF(handle.center().x() + 0.5, 0)).x()
        assert profile.mapTo(navigator, QPointF(profile.slice_x(index), 0)).x() == pytest.approx(handle_x, abs=1.5)


def test_the_slice_count_preference_chooses_the_central_slices_and_is_kept(qtbot, make_window, tmp_path: Path,
                                                                           series_folder: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, series_folder)
    wait_for_analysis_set(qtbot, window)
    window.preferences_action.trigger()
    dialog = open_dialog_of_type(qtbot, window, PreferencesDialog)
    assert dialog.slice_count.value() == DEFAULT_SLICE_COUNT  # the CLI's default until the user changes it
    dialog.slice_count.setValue(5)
    dialog.accept()

    expected = [s.index for s in central_slices(window.current_series, 5)]
    qtbot.waitUntil(lambda: window.analysis_set() == expected, timeout=LOAD_TIMEOUT_MS)  # chosen in a worker
    assert "5 chosen for analysis" in window.series_panel.list.item(0).text()
    qtbot.waitUntil(lambda: read_preferences().slice_count == 5)  # written by a worker, for the next session
    write_mr_series(tmp_path / "other", n_slices=30, rows=64, cols=64)
    open_and_wait(qtbot, window, tmp_path / "other")
    wait_for_analysis_set(qtbot, window)
    assert len(window.analysis_set()) == 5  # studies opened later use it too


def test_a_damaged_slice_count_setting_falls_back_to_the_default(qtbot) -> None:
    for stored in ("many", 0, MAX_SLICE_COUNT + 1):
        store_settings({SLICE_COUNT_KEY: stored})
        assert read_preferences().slice_count == DEFAULT_SLICE_COUNT
    store_settings({SLICE_COUNT_KEY: 12})
    assert read_preferences().slice_count == 12


def test_the_overlay_is_redrawn_only_when_the_shown_slices_result_arrives(qtbot, series_folder: Path) -> None:
    """Results of other slices stream in while one slice is shown: they leave its overlay alone."""
    from core.io.load import load_study
    from core.session import SessionModel
    from desktop.viewer.slice_viewer import SliceViewer
    from tests.analysis_doubles import prediction, slice_result

    session = SessionModel()
    viewer = SliceViewer(session)
    qtbot.addWidget(viewer)
    session.open_study(load_study(series_folder))
    session.set_slice(10)
    wait_shown(qtbot, viewer)  # decoded by a worker: the overlay is drawn on the slice's own image
    drawn = []
    viewer.explanationChanged.connect(drawn.append)
    other, shown = prediction([0.1, 0.7, 0.1, 0.1]), prediction([0.7, 0.1, 0.1, 0.1])
    session.begin_results(0)
    drawn.clear()  # a new analysis clears the shown overlay
    session.add_slice_result(0, slice_result(9, other))
    assert drawn == [] and not viewer.overlay_shown()
    session.add_slice_result(0, slice_result(10, shown))
    assert len(drawn) == 1 and drawn[0].class_index == 0 and viewer.overlay_shown()
    session.add_slice_result(0, slice_result(11, other))
    assert len(drawn) == 1
    session.begin_results(0)
    assert drawn[-1] is None and not viewer.overlay_shown()


def test_a_series_shown_again_after_its_analysis_says_what_was_counted_not_that_it_is_unanalysed(
        qtbot, tiny_window, tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_mr_series(tmp_path / "study" / name, n_slices=6, rows=64, cols=64)
    window = tiny_window
    open_and_wait(qtbot, window, tmp_path / "study")
    wait_for_analysis_set(qtbot, window)
    run_to_the_end(qtbot, window, window.analyse_action)
    notes = window.results_panel.state.text()
    assert "analysed slices passed the out-of-distribution check" in notes

    window.show_series(1)
    assert "passed the out-of-distribution check" not in window.results_panel.state.text()
    window.show_series(0)
    assert window.results_panel.state.text() == notes
