"""Three-panel view of the current slice: original | Grad-CAM heatmap alone | overlay, with synchronised zoom and pan.

Zooming (wheel) or panning (left-drag) any panel moves all three, so the same anatomy stays under the same screen
position in each; until then the images refit whenever the view is resized. The first time it is shown it opens as a
window of its own over the main window (`open_floating_over`): three images side by side need width that a docked
strip does not have. Pixels come from `core.analysis.overlay` (heatmap and overlay) and `core.viewing.enhance`
(display-only CLAHE); this
module only shows them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPixmap, QResizeEvent, QTransform, QWheelEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QGraphicsPixmapItem,
    QGraphicsView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.analysis.overlay import OverlaySettings, colormap_lut, render_overlay
from core.model.classifier import SlicePrediction
from core.output.wording import explained_class_words, no_heatmap_reason, overlay_look_words
from core.viewing.orientation import EdgeLabels, edge_labels
from desktop import theme
from desktop.viewer.annotations import draw_shadowed_text, marker_boxes, marker_font
from desktop.viewer.display_options import ContrastToggle, displayed_pixels
from desktop.viewer.image_view import (
    ZOOM_STEP,
    aspect_transform,
    configure_image_view,
    limited_zoom_factor,
    pannable_scene_rect,
    to_qimage,
)

PANEL_TITLES = ("Original", "Grad-CAM heatmap (full range)", "Overlay")
NOT_ANALYSED = no_heatmap_reason(None)
INTERACTION_HINT = "Wheel: zoom · drag: pan — the three panels move together"
COLOUR_BAR_HEIGHT = 10
# The floating view's first size, as fractions of the main window's: panels of about 400 × 430 pixels at 1500 × 920.
FLOATING_WIDTH_FRACTION, FLOATING_HEIGHT_FRACTION = 0.8, 0.6


def heatmap_settings(settings: OverlaySettings) -> OverlaySettings:
    """Settings that make `render_overlay` on a black image yield the colour-mapped CAM alone, every value shown."""
    return dataclasses.replace(settings, visible=True, opacity=1.0, threshold=0.0)


class SyncedImagePane(QGraphicsView):
    """One image panel; emits `viewChanged` whenever its zoom or pan changes so siblings can follow.

    `fit_to_view` stays on, refitting the image whenever the panel is resized, until the user zooms or pans."""

    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        configure_image_view(self)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        # A zoomed view keeps its centre when resized: the panels, each keeping the shared centre, stay aligned.
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.fit_to_view = True
        self.message = ""  # shown centred when the panel has nothing to show
        self.orientation: EdgeLabels | None = None  # the letters at the image's edges, as in the main viewer
        self._placing = False  # the view itself is moving the image (fit, follow, new image), not the user

    @contextmanager
    def _placing_image(self) -> Iterator[None]:
        """Scrolling done inside is the view's own (fitInView and centerOn scroll): it is no user pan."""
        self._placing = True
        try:
            yield
        finally:
            self._placing = False

    def set_image(self, pixels: np.ndarray | None, aspect: QTransform, message: str = "",
                  orientation: EdgeLabels | None = None) -> None:
        self.message = message
        self.orientation = orientation
        self._item.setPixmap(QPixmap() if pixels is None else QPixmap.fromImage(to_qimage(pixels)))
        self._item.setTransform(aspect)
        with self._placing_image():
            self.setSceneRect(pannable_scene_rect(self._item.sceneBoundingRect()))
        self.viewport().update()

    def image(self) -> QImage:
        """What the panel shows (for tests and screenshots); null when empty."""
        return self._item.pixmap().toImage()

    def zoom(self) -> float:
        return self.transform().m22()

    def view_centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def fit(self) -> None:
        self.fit_to_view = True
        if not self._item.pixmap().isNull():
            with self._placing_image():
                self.fitInView(self._item.sceneBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.viewChanged.emit()

    def zoom_by(self, factor: float) -> None:
        factor = limited_zoom_factor(self.zoom(), factor)
        self.fit_to_view = False
        self.scale(factor, factor)
        self.viewChanged.emit()

    def follow(self, leader: SyncedImagePane) -> None:
        """Take the leader's zoom and centre."""
        self.fit_to_view = leader.fit_to_view
        with self._placing_image():
            self.setTransform(leader.transform())
            self.centerOn(leader.view_centre())

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120.0
        if notches:
            self.zoom_by(ZOOM_STEP**notches)  # only one slice here, so the wheel zooms (about the cursor)
        event.accept()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if (dx or dy) and not self._placing:
            self.fit_to_view = False
            self.viewChanged.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        with self._placing_image():  # the scroll bars' new ranges move the view: no user pan either
            super().resizeEvent(event)
        if self.fit_to_view:
            self.fit()

    def orientation_markers(self) -> list[tuple[str, QRectF]]:
        """The orientation letters and their boxes (viewport pixels), at the middle of the visible image's edges;
        empty without an orientation or an image."""
        if self.orientation is None or self._item.pixmap().isNull():
            return []
        image = QRectF(self.mapFromScene(self._item.sceneBoundingRect()).boundingRect())
        return marker_boxes(self.orientation, image, QRectF(self.viewport().rect()),
                            QFontMetricsF(marker_font(self.font())))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        painter.save()
        painter.resetTransform()
        if self.message:
            painter.setPen(QColor("#8a9099"))
            painter.drawText(self.viewport().rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        painter.setFont(marker_font(self.font()))
        for text, box in self.orientation_markers():
            draw_shadowed_text(painter, box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


def _colour_bar(colormap: str) -> QPixmap:
    """The colormap as a strip, low on the left (from core.analysis.overlay's lookup table)."""
    strip = np.ascontiguousarray(np.broadcast_to(colormap_lut(colormap), (COLOUR_BAR_HEIGHT, 256, 3)))
    return QPixmap.fromImage(to_qimage(strip))


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionTitle")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    # A long title ("Heatmap — Meningioma (probability 1%, weak evidence)") wraps instead of widening its column:
    # the three images are compared side by side and keep one size.
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class ThreePanelView(QWidget):
    """Original | heatmap | overlay for one slice, sharing zoom/pan, with the display-only contrast toggle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panes = tuple(SyncedImagePane() for _ in PANEL_TITLES)
        self.original_pane, self.heatmap_pane, self.overlay_pane = self.panes
        self.titles = tuple(_title(text) for text in PANEL_TITLES)
        self.contrast_toggle = ContrastToggle()
        self.slice_caption = QLabel()
        self.slice_caption.setObjectName("sectionTitle")
        self.hint = QLabel(INTERACTION_HINT)
        self.hint.setStyleSheet("color: #7f848e;")
        self.zoom_label = QLabel()
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit all three panels to the view")
        self.colour_bar = QLabel()
        self.colour_bar.setScaledContents(True)
        self.colour_bar.setFixedHeight(COLOUR_BAR_HEIGHT)
        self.colour_bar.setToolTip("Heatmap colours: left = low attention, right = high attention")
        self._display: np.ndarray | None = None
        self._prediction: SlicePrediction | None = None
        self._settings = OverlaySettings()
        self._class_names: Sequence[str] = ()
        self._aspect = QTransform()
        self._labels: EdgeLabels | None = None
        self._syncing = False
        self._build_layout()
        for pane in self.panes:
            pane.viewChanged.connect(lambda pane=pane: self._follow(pane))
        self.fit_button.clicked.connect(self.fit)
        self.contrast_toggle.toggled.connect(self._render)
        self._render()

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.slice_caption)
        controls.addSpacing(12)
        controls.addWidget(self.hint, 1)
        controls.addWidget(self.contrast_toggle)
        controls.addSpacing(12)
        controls.addWidget(self.zoom_label)
        controls.addWidget(self.fit_button)
        colour_scale = QHBoxLayout()
        colour_scale.addWidget(QLabel("low"))
        colour_scale.addWidget(self.colour_bar, 1)
        colour_scale.addWidget(QLabel("high attention"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        for column, (title, pane) in enumerate(zip(self.titles, self.panes)):
            grid.addWidget(title, 0, column)
            grid.addWidget(pane, 1, column)
            grid.setColumnStretch(column, 1)
        grid.setRowStretch(1, 1)
        grid.addLayout(colour_scale, 2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(controls)
        layout.addLayout(grid, 1)

    # ----- what is shown -------------------------------------------------------------------------------------------

    def set_slice(self, display: np.ndarray | None, prediction: SlicePrediction | None, settings: OverlaySettings,
                  class_names: Sequence[str] = (), slice_label: str = "",
                  pixel_spacing: tuple[float, float] | None = None,
                  orientation: Sequence[float] | None = None) -> None:
        """Show one slice: its windowed display image, its prediction (None = not analysed) and the overlay settings
        in use; `class_names` name the CAM's class; `pixel_spacing` (row, column mm) keeps true proportions;
        `orientation` (ImageOrientationPatient) letters the edges of all three images.
        Zoom and pan are kept while the image size stays the same (moving through a series), else the view refits."""
        same_size = display is not None and self._display is not None and display.shape == self._display.shape
        self._display = display
        self._prediction = prediction
        self._settings = settings
        self._class_names = class_names
        self._aspect = aspect_transform(pixel_spacing)
        self._labels = edge_labels(orientation)
        self.slice_caption.setText(f"Slice: {slice_label}" if slice_label else "")
        self._render()
        if not same_size or self.original_pane.fit_to_view:
            self.fit()

    def set_overlay_settings(self, settings: OverlaySettings) -> None:
        self._settings = settings
        self._render()

    def contrast_enhanced(self) -> bool:
        return self.contrast_toggle.contrast_enhanced()

    def set_contrast_enhanced(self, enhanced: bool) -> None:
        self.contrast_toggle.set_contrast_enhanced(enhanced)

    def shown_images(self) -> tuple[QImage, QImage, QImage]:
        return tuple(pane.image() for pane in self.panes)

    def fit(self) -> None:
        self.original_pane.fit()  # the others follow

    # ----- rendering -----------------------------------------------------------------------------------------------

    def _render(self) -> None:
        self.colour_bar.setPixmap(_colour_bar(self._settings.colormap))
        if self._display is None:
            for pane in self.panes:
                pane.set_image(None, self._aspect, "No slice to show")
            self._reset_titles()
            return
        shown = displayed_pixels(self._display, self.contrast_enhanced())
        self.original_pane.set_image(shown, self._aspect, orientation=self._labels)
        # Not "Original" while what is shown is the CLAHE-enhanced image (the model never sees it).
        self.titles[0].setText(f"{PANEL_TITLES[0]} — contrast enhanced for display" if self.contrast_enhanced()
                               else PANEL_TITLES[0])
        cam, why_no_cam = self._cam()
        if cam is None:
            self.heatmap_pane.set_image(None, self._aspect, why_no_cam)
            self.overlay_pane.set_image(shown, self._aspect, "", self._labels)
            self._reset_titles()
            return
        heatmap = render_overlay(np.zeros_like(self._display), cam, heatmap_settings(self._settings))
        # The overlay panel exists to show the overlay, so it ignores the main viewer's hide toggle.
        overlay = render_overlay(shown, cam, dataclasses.replace(self._settings, visible=True))
        self.heatmap_pane.set_image(heatmap, self._aspect, orientation=self._labels)
        self.overlay_pane.set_image(overlay, self._aspect, orientation=self._labels)
        explanation = self._settings.explain(self._prediction) if self._prediction is not None else None
        self.titles[1].setText(f"{PANEL_TITLES[1]} — {self._explained_class_text()}")
        # As in the overlay panel: a crisp map of a class the model all but rules out must not read as a finding.
        self.titles[1].setStyleSheet(f"color: {theme.WARNING.name()};" if explanation and explanation.weak else "")
        self.titles[2].setText(f"{PANEL_TITLES[2]} — "
                               f"{overlay_look_words(self._settings.opacity, self._settings.threshold)}")

    def _reset_titles(self) -> None:
        for title, text in zip(self.titles, PANEL_TITLES):
            title.setText(text)
            title.setStyleSheet("")

    def _cam(self) -> tuple[np.ndarray | None, str]:
        """The CAM to show, or None and why not."""
        prediction = self._prediction
        why_not = no_heatmap_reason(prediction)
        if prediction is None or why_not:
            return None, why_not
        return prediction.cam_for(self._settings.explain(prediction).class_index), ""

    def _explained_class_text(self) -> str:
        """E.g. "Glioma (probability 97%), predicted" or "Meningioma (probability <1%, weak evidence)"."""
        assert self._prediction is not None
        explanation = self._settings.explain(self._prediction)
        index = explanation.class_index
        name = self._class_names[index] if index < len(self._class_names) else f"class {index}"
        predicted = ", predicted" if index == self._prediction.predicted_index else ""
        return f"{explained_class_words(name, explanation)}{predicted}"

    # ----- synchronisation -----------------------------------------------------------------------------------------

    def _follow(self, leader: SyncedImagePane) -> None:
        if self._syncing:  # followers' own viewChanged signals must not echo back
            return
        self._syncing = True
        try:
            for pane in self.panes:
                if pane is not leader:
                    pane.follow(leader)
        finally:
            self._syncing = False
        self.zoom_label.setText(f"Zoom {leader.zoom() * 100:.0f}%")


def floating_geometry(window: QRect) -> QRect:
    """A rectangle of FLOATING_*_FRACTION of `window`'s size, centred on it."""
    geometry = QRect(0, 0, round(window.width() * FLOATING_WIDTH_FRACTION),
                     round(window.height() * FLOATING_HEIGHT_FRACTION))
    geometry.moveCenter(window.center())
    return geometry


def open_floating_over(dock: QDockWidget, window: QWidget) -> None:
    """Make `dock` open floating over `window`, at `floating_geometry`, the first time it is shown (the window's
    geometry is only known then); afterwards it opens where the user left it, floating or docked."""
    dock.setFloating(True)

    def place(visible: bool) -> None:
        if visible:
            dock.visibilityChanged.disconnect(place)
            dock.setGeometry(floating_geometry(window.geometry()))

    dock.visibilityChanged.connect(place)
