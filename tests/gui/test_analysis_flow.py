"""Analysis from the real MainWindow: streamed results, verdict, overlay controls, cancel, quitting mid-load, exports.

Most tests use the tiny random-weight model of tests/model_fixtures.py (real loading and Grad-CAM code, fast); the
last runs the shipped model and is skipped until models/manifest.json exists. A missing or tampered model:
tests/gui/test_model_missing.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from core.analysis.overlay import upsample_cam
from core.analysis.results import ANALYSIS_BATCH
from core.model.classifier import MANIFEST_NAME
from core.output.wording import verdict_text
from core.paths import models_dir, sample_study_dir
from desktop.panels.results_panel import DISCLAIMER
from tests.dicom_factory import write_mr_series
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, LOAD_TIMEOUT_MS, open_and_wait, wait_for_analysis_set, wait_shown

pytest_plugins = ["tests.model_fixtures"]


def overlay_pixels(window) -> np.ndarray:
    image = window.viewer.rendered_overlay().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.array(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def analyse(qtbot, window) -> object:
    with qtbot.waitSignal(window.analysisFinished, timeout=ANALYSIS_TIMEOUT_MS) as finished:
        window.analyse_action.trigger()
    qtbot.waitUntil(lambda: window.analyse_action.isEnabled())  # the worker has ended
    return finished.args[0]


def test_analysis_streams_results_and_shows_the_verdict(qtbot, tiny_window, sample_copy: Path) -> None:
    window = tiny_window
    open_and_wait(qtbot, window, sample_copy)
    wait_for_analysis_set(qtbot, window)
    streamed = []
    window.sliceAnalysed.connect(streamed.append)
    assert window.analyse_action.isEnabled() and not window.cancel_action.isEnabled()

    result = analyse(qtbot, window)

    assert [r.slice_index for r in streamed] == window.analysis_set() == list(range(6))
    assert len(result.slice_results) == 6 and result.verdict_label in result.classes
    panel = window.results_panel
    assert panel.table.rowCount() == 6
    assert panel.verdict.text().startswith(panel.display_name(result.verdict_label))
    assert "(6/6 slices counted)" in panel.verdict.text()  # what the verdict rests on, beside it
    assert panel.rule.text() == result.rule and "mean calibrated probability" in panel.rule.text()
    assert panel.disclaimer.text() == DISCLAIMER and panel.disclaimer.isVisible()
    assert window.status_text.text() == "Analysis finished"
    assert window.export_action.isEnabled()
    # The series list gives each analysed series' result, so several series compare at a glance.
    assert window.series_panel.list.item(0).text().endswith(f"\nResult: {verdict_text(result)}")
    # The shown slice's own result, with bars for every class.
    shown = streamed[window.viewer.current_index].prediction
    assert panel.slice_verdict.text() == f"<b>{panel.display_name(shown.label)}</b>"
    assert len(panel.slice_bars._rows) == 4
    assert window.viewer.overlay_shown()


def test_overlay_toggles_with_h_and_re_renders_from_the_cached_cam(qtbot, tiny_window, sample_copy: Path) -> None:
    window = tiny_window
    open_and_wait(qtbot, window, sample_copy)
    wait_for_analysis_set(qtbot, window)
    analyse(qtbot, window)
    viewer, controls = window.viewer, window.overlay_panel
    gray = np.repeat(viewer.displayed_image[:, :, None], 3, axis=2)
    controls.threshold.setValue(0)  # every CAM value shown, so each change below touches every pixel's colour
    blended = overlay_pixels(window)
    assert blended.shape == gray.shape and not np.array_equal(blended, gray)

    viewer.setFocus()
    QTest.keyClick(viewer, Qt.Key.Key_H)
    assert not viewer.overlay_shown() and not controls.visible.isChecked()
    QTest.keyClick(viewer, Qt.Key.Key_H)
    assert viewer.overlay_shown()

    controls.opacity.setValue(90)
    stronger = overlay_pixels(window)
    assert np.abs(stronger.astype(int) - gray).mean() > np.abs(blended.astype(int) - gray).mean()

    prediction = window.session.prediction()
    cam = upsample_cam(prediction.cam_for(prediction.predicted_index), gray.shape[:2])
    controls.threshold.setValue(round(float(np.median(cam)) * 100))  # about half the attention map below it
    thresholded = overlay_pixels(window)
    below = cam < controls.settings().threshold
    assert 0.2 < below.mean() < 0.8
    assert np.array_equal(thresholded[below], gray[below])  # values below the threshold are transparent
    assert not np.array_equal(thresholded[~below], gray[~below])

    controls.colormap.setCurrentText("viridis")
    assert not np.array_equal(overlay_pixels(window), thresholded)

    before_class = overlay_pixels(window)
    controls.explained_class.setCurrentIndex(1 + (prediction.predicted_index + 1) % 4)  # explain another class
    assert not np.array_equal(overlay_pixels(window), before_class)

    # Moving to another analysed slice draws that slice's CAM over that slice.
    QTest.keyClick(viewer, Qt.Key.Key_Up)
    wait_shown(qtbot, viewer)
    assert viewer.overlay_shown() and overlay_pixels(window).shape[:2] == viewer.displayed_image.shape


def test_cancel_stops_within_one_batch_and_the_window_stays_usable(qtbot, tiny_window, tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=40)
    window = tiny_window
    open_and_wait(qtbot, window, tmp_path / "mr")
    wait_for_analysis_set(qtbot, window)
    window.sliceAnalysed.connect(window.cancel_action.trigger)  # the user presses Cancel as results appear
    with qtbot.waitSignal(window.analysisCancelled, timeout=ANALYSIS_TIMEOUT_MS):
        window.analyse_action.trigger()
    qtbot.waitUntil(lambda: window.analyse_action.isEnabled(), timeout=LOAD_TIMEOUT_MS)

    analysed = window.results_panel.table.rowCount()
    # Results stream a batch at a time: the batch that was streaming when Cancel was pressed, and at most the next
    # one if it had already been sent to the model, are shown; never all nine chosen slices.
    assert 1 <= analysed <= 2 * ANALYSIS_BATCH < len(window.analysis_set())
    assert window.current_study_result() is None and not window.export_action.isEnabled()
    assert window.status_text.text() == "Analysis cancelled"
    window.viewer.setFocus()
    QTest.keyClick(window.viewer, Qt.Key.Key_Down)
    assert window.viewer.current_index == 21


def test_closing_while_the_model_loads_ends_its_helper_and_every_worker(qtbot, tiny_window, sample_copy: Path) -> None:
    window = tiny_window
    open_and_wait(qtbot, window, sample_copy)
    wait_for_analysis_set(qtbot, window)
    finished, failed = [], []
    window.analysisFinished.connect(finished.append)
    window.analysisFailed.connect(failed.append)
    window.analyse_action.trigger()
    qtbot.waitUntil(lambda: window.classifier.pid is not None, timeout=60_000)  # the helper is loading the model
    helper = window.classifier.pid
    workers = window.jobs.workers()

    window.close()

    assert workers and not window.jobs.workers() and not any(worker.is_running for worker in workers)
    assert window.classifier.pid is None and not window.classifier.is_loaded and not finished
    with pytest.raises(ProcessLookupError):
        os.kill(helper, 0)
    qtbot.wait(200)  # queued signals from the ended worker arrive: quitting is a cancel, not an error to report
    assert not failed


def test_export_writes_pdf_json_and_secondary_capture(qtbot, tiny_window, sample_copy: Path,
                                                     tmp_path: Path) -> None:
    window = tiny_window
    open_and_wait(qtbot, window, sample_copy)
    wait_for_analysis_set(qtbot, window)
    analyse(qtbot, window)
    for suffix in (".pdf", ".json", ".dcm"):
        target = tmp_path / f"report{suffix}"
        window.export(target)
        qtbot.waitUntil(lambda target=target: window.status_text.text() == f"Saved {target}", timeout=120_000)
        assert target.is_file() and target.stat().st_size > 500
    document = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert json.dumps(document).count("Te-gl") >= 6  # every analysed slice is in it


def test_shipped_model_analyses_the_sample_study(qtbot, make_window) -> None:
    """End to end with the shipped model: the six sample slices are glioma test images, so a working pipeline
    (loading, windowing, preprocessing, model, aggregation) shows a glioma verdict with its overlay."""
    if not (models_dir() / MANIFEST_NAME).is_file():
        pytest.skip("models/manifest.json has not been produced yet")
    window = make_window()
    open_and_wait(qtbot, window, sample_study_dir())
    wait_for_analysis_set(qtbot, window)
    result = analyse(qtbot, window)
    assert len(result.slice_results) == 6 and window.results_panel.table.rowCount() == 6
    assert result.verdict_label == "glioma"
    assert window.results_panel.verdict.text().startswith(window.results_panel.display_name("glioma"))
    window.viewer.set_current_index(next(r.slice_index for r in result.counted_results))
    wait_shown(qtbot, window.viewer)
    assert window.viewer.overlay_shown()


def test_a_short_results_dock_scrolls_instead_of_overlapping_its_text(qtbot, tiny_window, sample_copy: Path) -> None:
    window = tiny_window
    window.resize(1280, 800)  # a laptop-size screen: verdict, rule, two bar charts and the table do not fit
    open_and_wait(qtbot, window, sample_copy)
    wait_for_analysis_set(qtbot, window)
    analyse(qtbot, window)
    panel = window.results_panel
    qtbot.wait(300)  # let the deferred layout requests run
    shown = [widget for widget in (panel.verdict, panel.study_bars, panel.rule, panel.state, panel.slice_title,
                                   panel.slice_verdict, panel.slice_bars) if widget.isVisible()]
    for upper, lower in zip(shown, shown[1:]):
        assert upper.geometry().bottom() < lower.geometry().top(), (upper, lower)


def test_a_ct_series_is_refused_before_the_model_runs(qtbot, tiny_window, tmp_path: Path) -> None:
    from tests.test_non_mr_refused import write_series_of_modality

    window = tiny_window
    open_and_wait(qtbot, window, write_series_of_modality(tmp_path / "ct", "CT"))
    qtbot.waitUntil(lambda: not window.cancel_action.isEnabled(), timeout=LOAD_TIMEOUT_MS)  # the load worker ended
    assert not window.analyse_action.isEnabled() and not window.include_action.isEnabled()
    assert window.analysis_set() == []  # nothing is marked as chosen on the slider
    assert window.results_panel.state.text() == ("<b>Analysis unavailable:</b> modality CT is not MR (the model was "
                                                 "trained on brain MRI only).")
    assert window.results_panel.slice_verdict.text() == "Not analysable: see above"
    assert window.series_panel.list.item(0).text().endswith("\nnot analysable (CT)")
    window.start_analysis()  # the shortcut's path too: nothing starts
    assert not window.cancel_action.isEnabled() and window.current_study_result() is None


def test_the_model_loads_in_the_background_once_a_study_shows(qtbot, make_window, tiny_model_dir: Path,
                                                              sample_copy: Path) -> None:
    """The first Analyse finds the model ready: no 'Loading model…' wait after the click."""
    window = make_window(tiny_model_dir, preload_model=True)
    assert not window.classifier.is_loaded  # nothing is loaded before a study shows (start-up is not slowed)
    open_and_wait(qtbot, window, sample_copy)
    qtbot.waitUntil(lambda: window.classifier.is_loaded, timeout=ANALYSIS_TIMEOUT_MS)
    wait_for_analysis_set(qtbot, window)
    states = []
    original = window.results_panel.show_state
    window.results_panel.show_state = lambda text: (states.append(text), original(text))
    analyse(qtbot, window)
    assert states and not any("Loading model" in text for text in states)


def test_a_t2_series_shows_the_sequence_caveat_with_the_verdict(qtbot, tiny_window, tmp_path: Path) -> None:
    import pydicom

    folder = tmp_path / "t2"
    write_mr_series(folder, n_slices=3, rows=64, cols=64)
    for path in folder.glob("*.dcm"):
        dataset = pydicom.dcmread(path)
        dataset.SeriesDescription = "AX T2 FSE"
        dataset.save_as(path)
    window = tiny_window
    open_and_wait(qtbot, window, folder)
    wait_for_analysis_set(qtbot, window)
    analyse(qtbot, window)
    note = window.results_panel.sequence_note
    assert note.isVisible() and "Series looks like T2" in note.text() and "not validated" in note.text()
