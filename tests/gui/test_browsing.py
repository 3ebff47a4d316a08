"""Opening studies and browsing them in the real MainWindow: keys, wheel, window/level, zoom, panels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from core.analysis.selection import DEFAULT_SLICE_COUNT, central_slices
from core.paths import sample_study_dir
from desktop.app import apply_app_identity, initial_paths
from desktop.study_loading import read_recent_studies
from tests.dicom_factory import phantom, write_mr_series
from tests.gui.conftest import LOAD_TIMEOUT_MS, open_and_wait, wait_for_analysis_set, wait_shown

REPO_ROOT = Path(__file__).resolve().parents[2]


def viewport_pixels(window) -> np.ndarray:
    """What the viewer shows on screen, as an (H, W, 4) array."""
    image = window.viewer.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    return np.array(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)


def send_wheel(widget, notches: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_dicom_series_opens_and_keys_move_through_slices(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=40)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")

    assert len(window.study.series) == 1 and len(window.current_series) == 40
    viewer = window.viewer
    assert viewer.current_index == 20  # opens in the middle, where the central slices are
    assert window.navigator.label.text() == "slice 21 / 40"
    viewer.setFocus()
    QTest.keyClick(viewer, Qt.Key.Key_Down)
    assert viewer.current_index == 21
    QTest.keyClick(viewer, Qt.Key.Key_Up)
    QTest.keyClick(viewer, Qt.Key.Key_Up)
    assert viewer.current_index == 19
    QTest.keyClick(viewer, Qt.Key.Key_PageDown)
    assert viewer.current_index == 23  # a page is a tenth of the series
    QTest.keyClick(viewer, Qt.Key.Key_End)
    assert viewer.current_index == 39 and window.navigator.label.text() == "slice 40 / 40"
    QTest.keyClick(viewer, Qt.Key.Key_Down)
    assert viewer.current_index == 39  # stops at the end
    QTest.keyClick(viewer, Qt.Key.Key_Home)
    assert viewer.current_index == 0 and window.navigator.slider.value() == 0
    send_wheel(viewer.viewport(), -2)
    assert viewer.current_index == 2  # wheel down: next slices, one per notch
    wait_shown(qtbot, viewer)  # decoded by a worker unless prefetched
    # The slice shown is the slice's own display image (geometric order from core.io.load).
    assert np.array_equal(viewer.displayed_image, window.current_series.slices[2].display())


def test_central_slices_are_marked_and_the_user_edits_the_analysis_set(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=40)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    wait_for_analysis_set(qtbot, window)

    expected = [s.index for s in central_slices(window.current_series, DEFAULT_SLICE_COUNT)]
    assert window.analysis_set() == expected and len(expected) == DEFAULT_SLICE_COUNT
    assert set(window.navigator.slider.marks()) == set(expected)
    assert "9 chosen for analysis" in window.series_panel.list.item(0).text()

    window.viewer.set_current_index(2)  # a nearly empty end slice, not chosen
    assert not window.include_action.isChecked()
    QTest.keyClick(window.viewer, Qt.Key.Key_I)
    assert 2 in window.analysis_set() and window.include_action.isChecked()
    assert 2 in window.navigator.slider.marks()
    QTest.keyClick(window.viewer, Qt.Key.Key_I)
    assert window.analysis_set() == expected


def test_right_drag_changes_window_level_and_the_pixels(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=12)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    start_window = viewer.current_window()
    start_image = viewer.displayed_image.copy()
    start_screen = viewport_pixels(window)

    centre = viewer.viewport().rect().center()
    QTest.mousePress(viewer.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, centre)
    QTest.mouseMove(viewer.viewport(), centre + QPoint(-120, 200))
    QTest.mouseRelease(viewer.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier,
                       centre + QPoint(-120, 200))

    dragged = viewer.current_window()
    assert dragged.width < start_window.width  # left: narrower window
    assert dragged.center > start_window.center  # down: higher level
    assert np.array_equal(viewer.displayed_image, window.current_series.slices[viewer.current_index].display(dragged))
    assert not np.array_equal(viewer.displayed_image, start_image)
    assert not np.array_equal(viewport_pixels(window), start_screen)
    assert f"W {dragged.width:.0f}" in "\n".join(viewer._corner_lines()[Qt.AlignmentFlag.AlignBottom
                                                                      | Qt.AlignmentFlag.AlignRight])

    window.reset_view_action.trigger()
    assert viewer.current_window() == start_window
    assert np.array_equal(viewer.displayed_image, start_image)


def drag(viewer, button: Qt.MouseButton, offset: QPoint) -> None:
    centre = viewer.viewport().rect().center()
    QTest.mousePress(viewer.viewport(), button, Qt.KeyboardModifier.NoModifier, centre)
    QTest.mouseMove(viewer.viewport(), centre + offset)
    QTest.mouseRelease(viewer.viewport(), button, Qt.KeyboardModifier.NoModifier, centre + offset)


def test_window_level_mode_makes_left_drag_change_window_level_instead_of_panning(qtbot, make_window,
                                                                                  tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=6)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    start_window = viewer.current_window()
    window.zoom_in_action.trigger()  # zoomed in, so a left-drag could pan
    window.zoom_in_action.trigger()

    QTest.keyClick(viewer, Qt.Key.Key_W)
    assert window.window_drag_action.isChecked()
    scroll = (viewer.horizontalScrollBar().value(), viewer.verticalScrollBar().value())
    drag(viewer, Qt.MouseButton.LeftButton, QPoint(150, -100))
    dragged = viewer.current_window()
    assert dragged.width > start_window.width and dragged.center < start_window.center  # right: wider; up: lower
    assert (viewer.horizontalScrollBar().value(), viewer.verticalScrollBar().value()) == scroll  # no pan

    QTest.keyClick(viewer, Qt.Key.Key_W)  # back to panning: left-drag moves the image, window/level stays
    drag(viewer, Qt.MouseButton.LeftButton, QPoint(150, -100))
    assert viewer.current_window() == dragged
    assert (viewer.horizontalScrollBar().value(), viewer.verticalScrollBar().value()) != scroll


def test_keyboard_zoom_keeps_the_centre_and_reset_fits(qtbot, make_window, sample_copy: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sample_copy)
    viewer = window.viewer
    fitted = viewer.zoom()
    centre = viewer.mapToScene(viewer.viewport().rect().center())

    QTest.keyClick(viewer, Qt.Key.Key_Plus)
    QTest.keyClick(viewer, Qt.Key.Key_Equal)
    assert abs(viewer.zoom() - fitted * 1.15**2) < 1e-6
    zoomed_centre = viewer.mapToScene(viewer.viewport().rect().center())
    assert abs(zoomed_centre.x() - centre.x()) < 2 and abs(zoomed_centre.y() - centre.y()) < 2

    QTest.keyClick(viewer, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert abs(viewer.zoom() - fitted * 1.15) < 1e-6
    assert viewer.current_index == 3  # zoom keys do not move through slices
    window.reset_view_action.trigger()
    assert abs(viewer.zoom() - fitted) < 1e-6


def test_dragging_and_presets_keep_the_files_voi_lut_function(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=6, WindowCenter=700.0, WindowWidth=400.0, VOILUTFunction="SIGMOID")
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    presets = {item.name: item.function for item in (window.window_presets.itemData(row)
                                                     for row in range(1, window.window_presets.count()))}
    assert presets == {"": "SIGMOID", "Automatic": "LINEAR", "High contrast": "SIGMOID", "Low contrast": "SIGMOID"}

    drag(viewer, Qt.MouseButton.RightButton, QPoint(-60, 80))
    dragged = viewer.current_window()
    assert dragged.function == "SIGMOID" and (dragged.center, dragged.width) != (700.0, 400.0)
    assert np.array_equal(viewer.displayed_image, window.current_series.slices[viewer.current_index].display(dragged))


def test_window_presets_apply_file_windows(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=6, WindowCenter=[300, 600], WindowWidth=[600, 1200])
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    presets = [window.window_presets.itemData(row) for row in range(window.window_presets.count())]
    assert presets[0] is None  # "Default"
    second_file_window = presets[2]
    assert (second_file_window.center, second_file_window.width) == (600, 1200)
    window.window_presets.activated.emit(2)
    assert window.viewer.current_window() == second_file_window


def test_window_level_stays_the_same_from_slice_to_slice(qtbot, make_window, tmp_path: Path) -> None:
    """A series without a window of its own, whose slices have very different intensity ranges: one automatic
    window for the series, so moving through it keeps W/L until the user changes it."""
    def intensity_grows(k: int, dataset) -> None:
        dataset.PixelData = (phantom(128, 128, k, 12) * (k + 1)).astype(np.uint16).tobytes()

    write_mr_series(tmp_path / "mr", n_slices=12, per_slice=intensity_grows)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    viewer = window.viewer
    corner = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight
    shown = []
    for index in (3, 6, 9):
        viewer.set_current_index(index)
        shown.append((viewer.current_window(), viewer._corner_lines()[corner][0]))
    assert len(set(shown)) == 1 and shown[0][0].name == "Automatic"
    automatic = [window.window_presets.itemData(row) for row in range(window.window_presets.count())]
    assert shown[0][0] in automatic  # the preset list offers the same series window

    drag(viewer, Qt.MouseButton.RightButton, QPoint(-60, 40))
    dragged = viewer.current_window()
    assert dragged != shown[0][0]
    viewer.set_current_index(4)
    assert viewer.current_window() == dragged  # the user's window follows them through the series


def test_ctrl_wheel_zooms_and_reset_fits(qtbot, make_window, sample_copy: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sample_copy)
    viewer = window.viewer
    fitted = viewer.zoom()
    send_wheel(viewer.viewport(), 3, Qt.KeyboardModifier.ControlModifier)
    assert viewer.zoom() > fitted * 1.4
    assert viewer.current_index == 3  # zooming does not move through slices
    window.reset_view_action.trigger()
    assert abs(viewer.zoom() - fitted) < 1e-6


def test_pixel_spacing_sets_the_aspect_ratio(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=4, rows=64, cols=64, pixel_spacing=(1.0, 2.0))
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    bounds = window.viewer._image_item.sceneBoundingRect()
    assert bounds.width() == 2 * bounds.height()  # columns are 2 mm apart, rows 1 mm


def test_corner_text_toggles(qtbot, make_window, sample_copy: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sample_copy)
    with_text = viewport_pixels(window)
    window.viewer.setFocus()
    QTest.keyClick(window.viewer, Qt.Key.Key_T)
    assert not window.viewer.corner_text_visible
    assert not np.array_equal(viewport_pixels(window), with_text)


def test_sample_jpeg_folder_opens_as_one_series(qtbot, make_window) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sample_study_dir())
    assert [len(series) for series in window.study.series] == [6]
    assert window.viewer.displayed_image.shape == window.current_series.slices[3].shape
    assert not window.skipped_dock.isVisible()  # its README is documentation, not a file that failed
    window.metadata_panel.show_tags(window.viewer.current_slice)
    assert window.metadata_panel.tag_model.item(0, 1).text() == "Not a DICOM file"
    assert window.metadata_panel.no_metadata.isVisibleTo(window.metadata_panel)  # no field invented for pictures
    assert window.recent_studies()[0] == str(sample_study_dir().resolve())


def test_broken_files_are_listed_with_reasons_and_the_panel_dismisses(qtbot, make_window, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "empty.dcm").write_bytes(b"")
    (broken / "garbage.dcm").write_bytes(b"\x00" * 128 + b"DICM" + b"\xff" * 40)
    (broken / "notes.txt").write_text("not an image")
    jpeg = next(sample_study_dir().glob("*.jpg")).read_bytes()
    (broken / "truncated.jpg").write_bytes(jpeg[:200])
    window = make_window()
    open_and_wait(qtbot, window, broken)

    rows = dict(window.skipped_panel.rows())
    assert set(rows) == {"empty.dcm", "garbage.dcm", "notes.txt", "truncated.jpg"}
    assert all(reason.strip() for reason in rows.values())
    assert window.skipped_dock.isVisible() and window.current_series is None
    assert not window.analyse_action.isEnabled()
    QTest.mouseClick(window.skipped_panel.dismiss, Qt.MouseButton.LeftButton)
    assert not window.skipped_dock.isVisible()


def test_metadata_panel_shows_series_fields_and_filters_tags(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=4, PatientName="Doe^Jane", SeriesDescription="T1 AX POST",
                    PatientSex="O", RepetitionTime=550, EchoTime=10, InversionTime=None, ContrastBolusAgent="GD",
                    AccessionNumber="ACC-1", StudyTime="0930")
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "mr")
    panel = window.metadata_panel
    assert panel._field_labels["series_description"].text() == "T1 AX POST"
    assert panel._field_labels["patient_sex"].text() == "other"  # in words, as the report gives it
    assert panel._field_labels["pixel_spacing"].text() == "0.900 × 0.900 mm"
    # what the sequence caveat reads the sequence from, so that it can be checked
    assert panel._field_labels["timing"].text() == "TR 550, TE 10 ms"
    assert panel._field_labels["contrast"].text() == "recorded"
    assert (panel._field_labels["accession_number"].text(), panel._field_labels["study_time"].text()) == (
        "ACC-1", "09:30")
    qtbot.waitUntil(lambda: panel.tag_model.rowCount() > 10, timeout=LOAD_TIMEOUT_MS)
    panel.filter.setText("SeriesDescription")
    assert panel.proxy.rowCount() >= 1
    values = {panel.proxy.index(row, 2).data() for row in range(panel.proxy.rowCount())}
    assert "T1 AX POST" in values


def test_the_application_has_its_icon(qapp) -> None:
    apply_app_identity(qapp)
    icon = qapp.windowIcon()
    assert not icon.isNull() and icon.actualSize(QSize(256, 256)) == QSize(256, 256)


def test_first_run_opens_the_sample_study_and_later_runs_do_not(tmp_path: Path) -> None:
    assert initial_paths(None, []) == [sample_study_dir()]
    assert initial_paths(None, ["/some/removed/study"]) == [sample_study_dir()]  # stale settings: not an empty window
    assert initial_paths(None, [str(tmp_path)]) == []
    assert initial_paths(Path("/x"), []) == [Path("/x")]


def test_opening_a_study_does_not_import_tensorflow(tmp_path: Path) -> None:
    """Browsing never pays for TensorFlow (analysis does not either: tests/test_offline.py checks the model runs in its
    helper process)."""
    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from desktop.main_window import MainWindow\n"
        "from core.paths import sample_study_dir\n"
        "app = QApplication([])\n"
        "window = MainWindow(); window.show()\n"
        "window.studyLoaded.connect(window.close)\n"
        "window.open_paths([sample_study_dir()])\n"
        "app.exec()\n"
        "print('tensorflow' in sys.modules, window.viewer.current_index)\n"
    )
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True,
                               text=True, timeout=120)
    assert completed.stdout.split()[-2:] == ["False", "3"], completed.stderr


def test_dropping_a_folder_opens_it_and_recent_lists_it(qtbot, make_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "dropped", n_slices=8)
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "dropped"))])
    centre = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(centre.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    with qtbot.waitSignal(window.studyLoaded, timeout=60_000):
        QApplication.sendEvent(window, QDropEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                                  Qt.KeyboardModifier.NoModifier))
    assert len(window.current_series) == 8

    window.fill_recent_menu()
    recent = [action.text() for action in window.recent_menu.actions()]
    assert recent[0] == str((tmp_path / "dropped").resolve())


def test_recent_studies_reach_the_settings_file_newest_first(qtbot, make_window, tmp_path: Path) -> None:
    for name in ("first", "second", "third"):
        write_mr_series(tmp_path / name, n_slices=2, rows=32, cols=32)
    window = make_window()
    for name in ("first", "second", "third"):  # in quick succession: their writers overlap
        window.open_paths([tmp_path / name])
    expected = [str((tmp_path / name).resolve()) for name in ("third", "second", "first")]
    assert window.recent_studies()[:3] == expected
    window.stop_background_work()  # waits for the writers, as quitting does

    assert read_recent_studies()[:3] == expected  # what the next session's Recent menu shows


def test_clahe_key_changes_what_is_shown_but_not_the_display_image_analysed(qtbot, make_window, sample_copy: Path):
    window = make_window()
    open_and_wait(qtbot, window, sample_copy)
    viewer = window.viewer
    analysed_image = viewer.displayed_image.copy()
    plain_screen = viewport_pixels(window)

    QTest.keyClick(viewer, Qt.Key.Key_C)
    assert window.contrast_action.isChecked() and window.three_panel.contrast_enhanced()
    assert not np.array_equal(viewport_pixels(window), plain_screen)
    # Analysis reads the slice's own display image, which the enhancement never touches.
    assert np.array_equal(viewer.displayed_image, analysed_image)

    window.three_panel.set_contrast_enhanced(False)  # the three-panel toggle and the View action stay in step
    assert not window.contrast_action.isChecked()
    assert np.array_equal(viewport_pixels(window), plain_screen)


def test_each_series_keeps_the_window_it_was_left_with(qtbot, make_window, tmp_path: Path) -> None:
    for number, name in ((1, "ax"), (2, "cor")):
        write_mr_series(tmp_path / "study" / name, n_slices=6, rows=64, cols=64, seed=number,
                        StudyInstanceUID="1.2.3", SeriesNumber=number)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "study")
    viewer, presets = window.viewer, window.window_presets
    default = viewer.current_window()
    presets.setCurrentIndex(presets.count() - 1)
    presets.activated.emit(presets.count() - 1)  # "Low contrast"
    chosen = viewer.current_window()
    assert chosen != default and window.session.window(0) == chosen

    window.show_series(1)
    assert window.session.window() is None and presets.currentText() == "Default"
    window.show_series(0)
    assert viewer.current_window() == chosen and presets.currentIndex() == -1
    window.reset_view_action.trigger()  # R returns to the default window, and the toolbar says so
    assert viewer.current_window() == default and window.session.window(0) is None
    assert presets.currentText() == "Default"


def test_a_study_opens_on_its_contrast_enhanced_t1_series(qtbot, make_window, tmp_path: Path) -> None:
    """Series are listed by number, so a FLAIR came first and Analyse applied to a sequence the model is not
    validated on; the window now opens on the contrast-enhanced T1 series."""
    study_uid = pydicom.uid.generate_uid()  # one study, so its series are listed by number
    for number, description in ((4, "AX T2 FLAIR"), (7, "AX T1 MPRAGE POST GAD")):
        write_mr_series(tmp_path / "study" / str(number), n_slices=4, rows=64, cols=64, seed=number,
                        SeriesNumber=number, SeriesDescription=description, StudyInstanceUID=study_uid)
    window = make_window()
    open_and_wait(qtbot, window, tmp_path / "study")
    assert [series.info.series_description for series in window.study.series] == ["AX T2 FLAIR",
                                                                                   "AX T1 MPRAGE POST GAD"]
    assert window.current_series.info.series_description == "AX T1 MPRAGE POST GAD"
    assert window.series_panel.list.currentRow() == 1
