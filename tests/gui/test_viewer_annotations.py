"""What the main viewer draws over the image besides the corner text, and where the keys go, as a Weasis / RadiAnt /
Horos user expects: orientation letters on the image edges, a calibrated scale bar, keys that stay with the viewer
after a toolbar control is used, and a Grad-CAM of an unlikely class flagged as weak evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolBar

from core.analysis.results import SliceResult
from core.model.classifier import SlicePrediction
from desktop import theme
from tests.dicom_factory import write_mr_series
from tests.gui.conftest import open_and_wait
from tests.gui.test_browsing import drag, viewport_pixels

SAGITTAL = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]


def markers(viewer) -> dict[str, QRectF]:
    return dict(viewer.orientation_markers())


def brightest(pixels: np.ndarray, box: QRectF) -> int:
    """The brightest grey value inside a viewport box (RGBA pixels)."""
    rect = box.toAlignedRect()
    return int(pixels[rect.top():rect.bottom() + 1, rect.left():rect.right() + 1, :3].max())


def test_axial_letters_sit_on_the_image_edges_and_follow_zoom_and_pan(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=4)  # axial: ImageOrientationPatient 1\0\0\0\1\0
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    shown = markers(viewer)
    assert set(shown) == {"R", "L", "A", "P"}
    centre = QPointF(viewer.viewport().rect().center())
    assert shown["R"].center().x() < centre.x() < shown["L"].center().x()  # patient's right on the image's left
    assert shown["A"].center().y() < centre.y() < shown["P"].center().y()
    for box in shown.values():
        assert QRectF(viewer.viewport().rect()).contains(box)

    window.zoom_out_action.trigger()  # the image no longer fills the view: the letters move in with its edges
    window.zoom_out_action.trigger()
    zoomed = markers(viewer)
    image = viewer.mapFromScene(viewer._image_item.sceneBoundingRect()).boundingRect()
    assert zoomed["R"].left() > shown["R"].left() and zoomed["L"].right() < shown["L"].right()
    assert image.left() < zoomed["R"].left() < image.left() + 12  # just inside the image's left edge
    assert image.bottom() - 12 < zoomed["P"].bottom() < image.bottom()

    drag(viewer, Qt.MouseButton.LeftButton, QPoint(40, 25))  # pan
    panned = markers(viewer)
    for letter in ("R", "L", "A", "P"):
        moved = panned[letter].center() - zoomed[letter].center()
        assert abs(moved.x() - 40) <= 1 and abs(moved.y() - 25) <= 1


def test_letters_are_painted_and_hide_with_the_corner_text(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=4)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    letter_box = markers(viewer)["R"]  # over the black surround of the head
    assert brightest(viewport_pixels(window), letter_box) > 200
    viewer.setFocus()
    QTest.keyClick(viewer, Qt.Key.Key_T)
    assert brightest(viewport_pixels(window), letter_box) < 40
    assert viewer.orientation_markers()  # still known; only hidden


def test_sagittal_letters(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "sag", n_slices=4, ImageOrientationPatient=SAGITTAL)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "sag")
    assert [text for text, _ in window.viewer.orientation_markers()] == ["A", "P", "S", "I"]  # left, right, top, bottom


def test_the_letters_come_from_the_headers_read_when_the_study_opened(qtbot, make_window, tmp_path: Path) -> None:
    """Headers are read once, by the loading worker (an enhanced multi-frame header takes tens of milliseconds):
    showing a series reads no file for its letters."""
    axial = write_mr_series(tmp_path / "study" / "axial", n_slices=3)
    sagittal = write_mr_series(tmp_path / "study" / "sagittal", n_slices=3, ImageOrientationPatient=SAGITTAL)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "study")
    qtbot.waitUntil(lambda: not window.cancel_action.isEnabled())  # the loading worker has ended
    for path in axial + sagittal:
        path.unlink()
    letters = set()
    for index in range(2):
        window.show_series(index)  # its middle slice was decoded by the worker too
        letters |= {text for text, _ in window.viewer.orientation_markers()}
    assert letters == {"R", "L", "A", "P", "S", "I"}


def test_a_slice_with_damaged_geometry_has_no_letters_or_scale_bar_and_says_why(qtbot, make_window,
                                                                                tmp_path: Path) -> None:
    def damage_one(k: int, dataset) -> None:
        if k == 1:  # one number missing from each: the file states them, but they cannot be used
            dataset.ImageOrientationPatient, dataset.PixelSpacing = [1.0, 0.0, 0.0, 0.0, 1.0], [0.9]

    write_mr_series(tmp_path / "mr", n_slices=4, per_slice=damage_one)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    damaged = next(s.index for s in viewer.series.slices if s.geometry_problem)
    problem = "Geometry unknown (ImageOrientationPatient and PixelSpacing unreadable)"
    bottom_left = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft

    viewer.set_current_index(damaged)
    assert viewer.orientation_markers() == [] and viewer.scale_bar() is None
    assert problem in viewer._corner_lines()[bottom_left]
    viewer.set_current_index((damaged + 1) % 4)
    assert set(markers(viewer)) == {"R", "L", "A", "P"} and viewer.scale_bar() is not None
    assert problem not in viewer._corner_lines()[bottom_left]


def test_pictures_get_no_letters_and_no_scale_bar(qtbot, make_window, sample_copy: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sample_copy)
    assert window.viewer.orientation_markers() == []
    assert window.viewer.scale_bar() is None


def test_the_scale_bar_is_a_round_length_that_follows_the_zoom(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=4, pixel_spacing=(0.9, 0.9))
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    width = viewer.viewport().width()

    def bar_in_pixels() -> tuple[float, float]:
        length_mm, line = viewer.scale_bar()
        assert line.length() == pytest.approx(length_mm / 0.9 * viewer.zoom())  # the bar is that long on screen
        assert line.length() <= width / 5
        return length_mm, line.length()

    fitted_mm, _ = bar_in_pixels()
    assert fitted_mm in (1, 2, 5, 10, 20, 50, 100)
    for _ in range(5):
        window.zoom_in_action.trigger()
    zoomed_mm, _ = bar_in_pixels()
    assert zoomed_mm < fitted_mm

    length_mm, line = viewer.scale_bar()
    middle = line.center().toPoint()
    pixels = viewport_pixels(window)
    assert pixels[middle.y() - 1:middle.y() + 2, middle.x(), :3].max() > 200  # painted, over the black corner
    assert line.x2() <= viewer.viewport().width() and line.x1() > viewer.viewport().width() / 2  # bottom right


def test_choosing_a_window_preset_leaves_the_keys_with_the_viewer(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=12, WindowCenter=[300, 600], WindowWidth=[600, 1200])
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer, presets = window.viewer, window.window_presets
    viewer.setFocus()

    QTest.mouseClick(presets, Qt.MouseButton.LeftButton)  # opens the list, as a radiologist does
    qtbot.waitUntil(presets.view().isVisible)
    QTest.keyClick(presets.view(), Qt.Key.Key_Down)
    QTest.keyClick(presets.view(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not presets.view().isVisible())
    assert viewer.current_window() == presets.itemData(1)  # the file's first window was applied

    assert QApplication.focusWidget() is viewer
    start = viewer.current_index
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)  # the next key moves through slices, not presets
    assert viewer.current_index == start + 1 and presets.currentIndex() == 1

    # Toolbar buttons never take the keys either: after clicking one, arrows still move through slices.
    toolbar = window.findChild(QToolBar, "main_toolbar")
    QTest.mouseClick(toolbar.widgetForAction(window.window_drag_action), Qt.MouseButton.LeftButton)
    assert window.window_drag_action.isChecked() and QApplication.focusWidget() is viewer


def test_explaining_an_unlikely_class_is_flagged_as_weak_evidence(qtbot, make_window, sample_copy: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sample_copy)
    viewer, panel = window.viewer, window.overlay_panel
    panel.set_class_names(["Glioma", "Meningioma", "No tumour", "Pituitary"])
    cams = np.random.default_rng(0).random((4, 8, 8), dtype=np.float32)
    prediction = SlicePrediction(np.array([0.898, 0.012, 0.05, 0.04], np.float32), "glioma", "", 0.1, cams)
    window.session.add_slice_result(window.session.series_index, SliceResult(
        "shown", viewer.current_index, viewer.displayed_image, prediction))
    assert viewer.overlay_shown()
    assert panel.explanation.text() == "Explaining Glioma (probability 90%)"  # the predicted class: no warning
    assert panel.explanation.styleSheet() == ""

    panel.explained_class.setCurrentIndex(2)  # Meningioma, which the model gave 1.2 %
    assert viewer.overlay_shown()
    assert panel.explanation.text() == "Explaining Meningioma (probability 1%, weak evidence)"
    # on the image as well, in the warning colour, where the reader looks at the map
    assert (viewer.overlay_caption, viewer.overlay_caption_weak) == (
        "Grad-CAM: Meningioma (probability 1%, weak evidence)", True)
    label = panel.explanation.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.array(label.constBits(), dtype=np.uint8).reshape(label.height(), label.bytesPerLine())
    rgb = rows[:, : label.width() * 3].reshape(-1, 3).astype(int)
    warning = np.array([theme.WARNING.red(), theme.WARNING.green(), theme.WARNING.blue()])
    assert (np.abs(rgb - warning).max(axis=1) < 30).sum() > 20  # written in the warning colour

    panel.explained_class.setCurrentIndex(3)  # No tumour, 5 %
    assert panel.explanation.text().endswith("(probability 5%, weak evidence)")
    panel.explained_class.setCurrentIndex(0)  # back to the predicted class
    assert panel.explanation.text() == "Explaining Glioma (probability 90%)" and panel.explanation.styleSheet() == ""

    assert (viewer.overlay_caption, viewer.overlay_caption_weak) == ("Grad-CAM: Glioma (probability 90%)", False)

    viewer.setFocus()
    QTest.keyClick(viewer, Qt.Key.Key_H)  # no map shown: nothing to qualify
    assert panel.explanation.text() == "" and viewer.overlay_caption == ""
    QTest.keyClick(viewer, Qt.Key.Key_H)
    QTest.keyClick(viewer, Qt.Key.Key_Up)  # a slice without a result
    assert not viewer.overlay_shown() and panel.explanation.text() == ""
