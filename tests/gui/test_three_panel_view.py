"""Three-panel view: original | heatmap | overlay, synchronised zoom/pan, and the display-only CLAHE toggle, which
changes what is shown but never what the model receives."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from core.analysis.overlay import OverlaySettings
from core.analysis.results import analyse_slice
from core.io.load import load_study
from core.model.classifier import MANIFEST_NAME
from core.paths import models_dir, sample_study_dir
from desktop.viewer.display_options import DISPLAY_ONLY_STATEMENT
from desktop.viewer.three_panel_view import NOT_ANALYSED, ThreePanelView
from tests.analysis_doubles import head_phantom, prediction
from tests.gui.conftest import open_and_wait

pytest_plugins = ["tests.model_fixtures"]

NAMES = ("Glioma", "Meningioma", "No tumour", "Pituitary tumour")


def pixels(image: QImage) -> np.ndarray:
    """A QImage as an (H, W, 3) RGB array, whatever its format."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    return data[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3).copy()


@pytest.fixture
def view(qtbot) -> ThreePanelView:
    widget = ThreePanelView()
    qtbot.addWidget(widget)
    widget.resize(1200, 480)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show_phantom(view: ThreePanelView, class_index: int | None = None) -> None:
    view.set_slice(head_phantom(), prediction([0.7, 0.1, 0.1, 0.1]), OverlaySettings(class_index=class_index),
                   NAMES, "slice_004.dcm")


def assert_panes_aligned(view: ThreePanelView) -> None:
    leader = view.panes[0]
    for pane in view.panes[1:]:
        assert pane.transform() == leader.transform()
        centre, leader_centre = pane.view_centre(), leader.view_centre()
        assert abs(centre.x() - leader_centre.x()) <= 1.0 and abs(centre.y() - leader_centre.y()) <= 1.0


def wheel(pane, notches: int) -> None:
    position = QPointF(pane.viewport().rect().center()) + QPointF(40, 20)  # off-centre: zoom is about the cursor
    event = QWheelEvent(position, pane.viewport().mapToGlobal(position), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(pane.viewport(), event)


def test_three_distinct_images_and_the_explained_class(view: ThreePanelView) -> None:
    show_phantom(view)
    original, heatmap, overlay = (pixels(image) for image in view.shown_images())
    assert original.shape == heatmap.shape == overlay.shape == (256, 256, 3)
    assert np.array_equal(original[..., 0], head_phantom())  # unenhanced by default
    assert not np.array_equal(heatmap, original) and not np.array_equal(overlay, original)
    assert heatmap.std(axis=2).mean() > 1.0  # the heatmap is coloured
    assert view.titles[1].text().endswith("Glioma (probability 70%), predicted")
    assert view.titles[2].text() == "Overlay — opacity 45%, attention below 20% hidden"
    assert "color" not in view.titles[1].styleSheet()
    show_phantom(view, class_index=2)  # a class the model finds unlikely on this slice: flagged as in the main window
    assert view.titles[1].text().endswith("No tumour (probability 10%)")
    view.set_slice(head_phantom(), prediction([0.97, 0.01, 0.01, 0.01]), OverlaySettings(class_index=1), NAMES)
    assert view.titles[1].text().endswith("Meningioma (probability 1%, weak evidence)")
    assert "color" in view.titles[1].styleSheet()
    QApplication.processEvents()
    widths = [pane.width() for pane in view.panes]
    assert max(widths) - min(widths) <= 2  # a long title wraps; it does not widen its image


def test_no_heatmap_without_a_prediction_or_for_an_out_of_distribution_slice(view: ThreePanelView) -> None:
    view.set_slice(head_phantom(), None, OverlaySettings())
    assert view.heatmap_pane.image().isNull() and view.heatmap_pane.message == NOT_ANALYSED
    assert np.array_equal(pixels(view.shown_images()[2])[..., 0], head_phantom())
    view.set_slice(head_phantom(), prediction([0.25] * 4, ood_reason="colour photograph"), OverlaySettings())
    assert "colour photograph" in view.heatmap_pane.message


def test_zoom_and_pan_in_any_panel_move_all_three(view: ThreePanelView) -> None:
    show_phantom(view)
    assert_panes_aligned(view)
    fitted = view.original_pane.zoom()
    wheel(view.heatmap_pane, 3)
    assert view.original_pane.zoom() == pytest.approx(fitted * 1.15**3)
    assert_panes_aligned(view)
    zoomed_centre = view.original_pane.view_centre()
    view.overlay_pane.horizontalScrollBar().setValue(view.overlay_pane.horizontalScrollBar().value() + 60)
    view.overlay_pane.verticalScrollBar().setValue(view.overlay_pane.verticalScrollBar().value() - 40)
    assert_panes_aligned(view)
    assert (view.original_pane.view_centre() - zoomed_centre).manhattanLength() > 20
    assert not view.original_pane.fit_to_view
    assert view.zoom_label.text() == f"Zoom {view.original_pane.zoom() * 100:.0f}%"
    zoom, centre = view.original_pane.zoom(), view.original_pane.view_centre()
    show_phantom(view, class_index=1)  # the next slice of the same series keeps zoom and pan
    assert view.original_pane.zoom() == zoom and view.original_pane.view_centre() == centre
    view.fit_button.click()
    assert view.original_pane.zoom() == pytest.approx(fitted)
    assert_panes_aligned(view)


def test_the_images_refit_when_the_view_is_resized_until_the_user_zooms(qtbot, view: ThreePanelView) -> None:
    show_phantom(view)
    small = view.original_pane.zoom()
    view.resize(1800, 900)
    qtbot.waitUntil(lambda: view.original_pane.zoom() > small * 1.3)
    refitted = view.original_pane.zoom()
    assert view.original_pane.fit_to_view
    assert_panes_aligned(view)
    view.fit()
    assert view.original_pane.zoom() == pytest.approx(refitted)  # exactly what Fit gives

    wheel(view.overlay_pane, 2)  # the user's own zoom is kept from now on
    zoomed = view.original_pane.zoom()
    view.resize(900, 360)
    qtbot.wait(50)
    assert view.original_pane.zoom() == pytest.approx(zoomed) and not view.original_pane.fit_to_view
    assert_panes_aligned(view)


def test_the_main_window_opens_it_as_a_window_of_usable_size(qtbot, make_window, sample_copy) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sample_copy)
    dock = window.three_panel_dock
    dock.toggleViewAction().trigger()  # View → Original | heatmap | overlay
    qtbot.waitUntil(dock.isVisible)
    assert dock.isFloating()
    assert dock.width() >= 0.75 * window.width() and dock.height() >= 0.5 * window.height()
    assert (dock.geometry().center() - window.geometry().center()).manhattanLength() <= 2
    pane = window.three_panel.original_pane
    assert pane.height() > 300 and pane.fit_to_view
    rows, columns = window.viewer.displayed_image.shape
    fitted = min(pane.viewport().width() / columns, pane.viewport().height() / rows)
    assert pane.zoom() == pytest.approx(fitted, rel=0.02)  # the image fills the panel

    dock.move(dock.pos() + QPoint(40, 30))  # where the user puts it is where it opens next time
    placed = dock.geometry()
    dock.toggleViewAction().trigger()
    dock.toggleViewAction().trigger()
    qtbot.waitUntil(dock.isVisible)
    assert dock.geometry() == placed


def test_contrast_toggle_changes_shown_pixels_but_not_the_heatmap(view: ThreePanelView) -> None:
    show_phantom(view)
    plain = [pixels(image) for image in view.shown_images()]
    assert view.contrast_toggle.statement.text() == DISPLAY_ONLY_STATEMENT
    view.contrast_toggle.check_box.click()
    assert view.contrast_enhanced()
    enhanced = [pixels(image) for image in view.shown_images()]
    assert not np.array_equal(enhanced[0], plain[0]) and not np.array_equal(enhanced[2], plain[2])
    assert np.array_equal(enhanced[1], plain[1])
    assert view.titles[0].text() == "Original — contrast enhanced for display"  # not the original pixels any more
    view.contrast_toggle.check_box.click()
    assert view.titles[0].text() == "Original"


@pytest.fixture(scope="module")
def classifier(request: pytest.FixtureRequest):
    """The shipped model when it has been produced, else the tiny random-weight model."""
    shipped = (models_dir() / MANIFEST_NAME).is_file()
    return request.getfixturevalue("shipped_classifier" if shipped else "tiny_classifier")


def test_contrast_toggle_leaves_model_input_and_predictions_unchanged(view: ThreePanelView, classifier) -> None:
    slice_ = load_study(sorted(sample_study_dir().glob("*.jpg"))[0]).series[0].slices[0]
    before = analyse_slice(slice_, classifier)
    view.set_slice(slice_.display(), before.prediction, OverlaySettings(), NAMES, slice_.label)
    shown_plain = pixels(view.shown_images()[0])
    view.set_contrast_enhanced(True)
    assert not np.array_equal(pixels(view.shown_images()[0]), shown_plain)  # the user sees a different image…
    after = analyse_slice(slice_, classifier)  # …the analysis path reads the slice, never the shown pixels
    np.testing.assert_array_equal(after.display, before.display)
    np.testing.assert_array_equal(after.prediction.probabilities, before.prediction.probabilities)
    np.testing.assert_array_equal(after.prediction.cams, before.prediction.cams)


def test_the_three_images_carry_the_slices_orientation_letters(view: ThreePanelView) -> None:
    view.set_slice(head_phantom(), prediction([0.7, 0.1, 0.1, 0.1]), OverlaySettings(), NAMES, "slice_004.dcm",
                   orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0))  # axial
    for pane in view.panes:
        boxes = dict(pane.orientation_markers())
        assert set(boxes) == {"R", "L", "A", "P"}
        assert boxes["R"].center().x() < boxes["L"].center().x() and boxes["A"].center().y() < boxes["P"].center().y()
    show_phantom(view)  # a picture: no orientation, no letters
    assert all(pane.orientation_markers() == [] for pane in view.panes)
