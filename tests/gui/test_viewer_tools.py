"""The viewer's tools a Weasis / RadiAnt / Horos user reaches for: cine (P, with a frame-rate box; loops at the end)
and the distance tool (M: left-drag draws a line labelled with its length in mm, or px without PixelSpacing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from core.viewing.measure import MM, PX
from desktop import theme
from desktop.viewer.cine import DEFAULT_FPS
from tests.dicom_factory import write_mr_series
from tests.gui.conftest import open_and_wait
from tests.gui.test_browsing import drag, viewport_pixels


def scroll_position(viewer) -> tuple[int, int]:
    return viewer.horizontalScrollBar().value(), viewer.verticalScrollBar().value()


# ----- cine --------------------------------------------------------------------------------------------------------

def test_p_plays_the_series_in_a_loop_at_the_chosen_rate_and_p_stops_it(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=5, rows=64, cols=64)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    assert viewer.current_index == 2 and window.frame_rate.value() == DEFAULT_FPS
    window.frame_rate.setValue(30)
    assert window.cine._timer.interval() == 33  # 30 frames a second
    seen: list[int] = []
    viewer.currentIndexChanged.connect(seen.append)

    QTest.keyClick(viewer, Qt.Key.Key_P)
    assert window.cine_action.isChecked() and window.cine.is_playing()
    qtbot.waitUntil(lambda: len(seen) >= 6, timeout=10_000)
    assert seen[:6] == [3, 4, 0, 1, 2, 3]  # on to the last slice, then round to the first

    QTest.keyClick(viewer, Qt.Key.Key_P)
    assert not window.cine_action.isChecked() and not window.cine.is_playing()
    stopped_at = viewer.current_index
    qtbot.wait(150)
    assert viewer.current_index == stopped_at
    assert window.navigator.label.text() == f"slice {stopped_at + 1} / 5"  # the slider followed the frames


def test_a_single_image_has_nothing_to_play(qtbot, make_window, sample_copy: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sorted(sample_copy.glob("*.jpg"))[0])
    QTest.keyClick(window.viewer, Qt.Key.Key_P)
    assert not window.cine_action.isChecked() and not window.cine.is_playing()


# ----- distance measurement ----------------------------------------------------------------------------------------

@pytest.fixture
def anisotropic_window(qtbot, make_window, tmp_path: Path):
    """An MR series whose rows are 0.5 mm apart and columns 1 mm apart, shown in Measure mode."""
    write_mr_series(tmp_path / "mr", n_slices=4, rows=64, cols=64, pixel_spacing=(0.5, 1.0))
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    QTest.keyClick(window.viewer, Qt.Key.Key_M)
    assert window.measure_action.isChecked()
    return window


def test_m_measures_in_mm_with_different_row_and_column_spacing(anisotropic_window) -> None:
    window = anisotropic_window
    viewer = window.viewer
    start_window, start_scroll = viewer.current_window(), scroll_position(viewer)
    # The aspect correction makes a screen pixel the same length across and down: row spacing / zoom.
    mm_per_screen_pixel = 0.5 / viewer.zoom()
    for offset in (QPoint(100, 0), QPoint(0, 80), QPoint(60, -80)):
        drag(viewer, Qt.MouseButton.LeftButton, offset)
        measured = viewer.measured_distance()
        assert measured.unit == MM
        assert measured.value == pytest.approx(mm_per_screen_pixel * (offset.x() ** 2 + offset.y() ** 2) ** 0.5,
                                               rel=1e-3)
    assert viewer.current_window() == start_window and scroll_position(viewer) == start_scroll  # no W/L, no pan

    line = viewer.distance_line_on_screen()
    centre = viewer.viewport().rect().center()
    assert (line.p1().toPoint(), line.p2().toPoint()) == (centre, centre + QPoint(60, -80))
    middle = line.center().toPoint()
    red, green, blue = viewport_pixels(window)[middle.y(), middle.x(), :3]
    assert (red, green, blue) == (theme.MEASUREMENT.red(), theme.MEASUREMENT.green(), theme.MEASUREMENT.blue())

    QTest.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    assert viewer.measured_distance() is None  # a click measures nothing and leaves no line


def test_the_line_belongs_to_its_slice_and_esc_or_leaving_the_mode_clears_it(anisotropic_window) -> None:
    window = anisotropic_window
    viewer = window.viewer
    cancelled = []
    window.cancel_action.triggered.connect(lambda *_: cancelled.append(True))
    drag(viewer, Qt.MouseButton.LeftButton, QPoint(50, 0))
    shown = viewer.measured_distance()
    QTest.keyClick(viewer, Qt.Key.Key_Down)
    assert viewer.measured_distance() is None  # not drawn on this slice
    QTest.keyClick(viewer, Qt.Key.Key_Up)
    assert viewer.measured_distance() == shown

    window.cancel_action.setEnabled(True)  # as while a study loads: Esc is also the Cancel shortcut
    QTest.keyClick(viewer, Qt.Key.Key_Escape)
    assert viewer.measured_distance() is None and window.measure_action.isChecked() and not cancelled
    QTest.keyClick(viewer, Qt.Key.Key_Escape)  # with no line left, Esc cancels
    assert len(cancelled) == 1

    drag(viewer, Qt.MouseButton.LeftButton, QPoint(50, 0))
    QTest.keyClick(viewer, Qt.Key.Key_M)  # leaving the mode
    assert not window.measure_action.isChecked() and viewer.measured_distance() is None
    window.zoom_in_action.trigger()
    scroll = scroll_position(viewer)
    drag(viewer, Qt.MouseButton.LeftButton, QPoint(50, 0))  # left-drag pans again
    assert viewer.measured_distance() is None and scroll_position(viewer) != scroll


def test_measure_and_window_level_modes_take_turns(anisotropic_window) -> None:
    window = anisotropic_window
    drag(window.viewer, Qt.MouseButton.LeftButton, QPoint(50, 0))
    QTest.keyClick(window.viewer, Qt.Key.Key_W)
    assert window.window_drag_action.isChecked() and not window.measure_action.isChecked()
    assert window.viewer.measured_distance() is None
    start = window.viewer.current_window()
    drag(window.viewer, Qt.MouseButton.LeftButton, QPoint(50, 0))
    assert window.viewer.current_window() != start and window.viewer.measured_distance() is None


def test_pictures_without_pixel_spacing_measure_in_pixels(qtbot, make_window, sample_copy: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sample_copy)
    viewer = window.viewer
    QTest.keyClick(viewer, Qt.Key.Key_M)
    drag(viewer, Qt.MouseButton.LeftButton, QPoint(90, 0))
    measured = viewer.measured_distance()
    assert measured.unit == PX and measured.value == pytest.approx(90 / viewer.zoom(), rel=1e-3)
    assert measured.text().endswith(" px")
