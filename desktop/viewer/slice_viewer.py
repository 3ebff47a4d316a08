"""The slice viewer: a QGraphicsView holding the slice image and, above it, the Grad-CAM overlay.

Mouse and keys follow Weasis / RadiAnt / Horos: wheel and Up/Down/PageUp/PageDown/Home/End move through slices,
Ctrl+wheel zooms about the cursor, left-drag pans, right-drag adjusts window (horizontal) and level (vertical).
Text and markers over the image are drawn by `desktop.viewer.annotations`.
What is shown (series, slice, window, results, overlay settings, CLAHE) is the `core.session.SessionModel`'s: the
viewer observes it and calls its methods, and keeps only what it painted.
Pixels come from `Slice.cached_display(Window)`, else from a worker (`desktop.viewer.slice_loading`), and from
`core.analysis.overlay.render_overlay`; this module only shows them: nothing here decodes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsView, QWidget

from core.analysis.overlay import Explanation, render_overlay
from core.analysis.results import SliceResult
from core.io.load import Series, Slice
from core.io.windowing import Window
from core.session import SessionModel
from core.viewing.measure import Distance
from desktop.viewer.annotations import ImageAnnotations
from desktop.viewer.display_options import displayed_pixels
from desktop.viewer.image_view import (
    ZOOM_STEP,
    aspect_transform,
    configure_image_view,
    limited_zoom_factor,
    pannable_scene_rect,
    to_qimage,
)
from desktop.viewer.measurement import DistanceLine
from desktop.viewer.slice_keys import SLICE_KEYS
from desktop.viewer.slice_loading import SliceDecoded, SliceLoader, SliceRequest
from desktop.workers import BackgroundJobs

# Right-drag: one screen pixel changes width/centre by this fraction of the window width at the drag's start, so the
# feel is the same for 8-bit pictures (width 256) and 12-bit MR (width in the thousands).
WINDOW_DRAG_SENSITIVITY = 1.0 / 300.0


class SliceViewer(ImageAnnotations):
    """Shows the session's current slice, with zoom, pan, window/level and the Grad-CAM overlay.

    `currentIndexChanged`, `windowChanged` and `explanationChanged` repeat, for widgets, what the viewer shows;
    `sliceShown` comes once the current slice's image (or why it cannot be shown) is painted, which on a cache miss
    is after a worker has decoded it. Until then the previous image stays, without overlay, under the new slice's
    corner text and a "Loading" line (`slice_loading`)."""

    currentIndexChanged = Signal(int)
    sliceShown = Signal(int)
    windowChanged = Signal(object)  # the Window in use
    explanationChanged = Signal(object)  # the shown overlay's Explanation, None when no overlay is drawn

    def __init__(self, session: SessionModel | None = None, parent: QWidget | None = None,
                 jobs: BackgroundJobs | None = None) -> None:
        super().__init__(parent)
        configure_image_view(self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # drops go to the main window
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.session = session if session is not None else SessionModel()

        self._image_item = QGraphicsPixmapItem()
        self._image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        # A child of the image item, so it follows every zoom, pan and aspect transform exactly.
        self._overlay_item = QGraphicsPixmapItem(self._image_item)
        self._overlay_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._image_item)

        self._display: np.ndarray | None = None  # the shown slice's display image (window applied, no CLAHE)
        self._painted: np.ndarray | None = None  # what the image item shows; the overlay blends onto it
        self._fit_to_view = True
        self._window_drag_origin: tuple[QPoint, Window] | None = None
        self._window_drag_button = Qt.MouseButton.RightButton  # the button that is dragging window/level
        self._left_drag_windows = False  # the toolbar's W/L mode: left-drag adjusts window/level instead of panning
        self._measuring = False  # the toolbar's Measure mode: left-drag draws a distance line
        self._distance_line = DistanceLine()
        self._wheel_notches = 0.0
        self.corner_text_visible = True
        self.overlay_caption, self.overlay_caption_weak = "", False
        self.placeholder_text = ""
        self.decode_error = ""  # why the current slice cannot be shown, "" when it is
        self.slice_loading = False  # the current slice is being decoded; the image shown is the one before
        self._window_unknown = False  # while loading: the window in use was unknown (`windowChanged` said None)
        self._loader = SliceLoader(jobs if jobs is not None else BackgroundJobs(self), self)
        self._loader.decoded.connect(self._on_decoded)

        self.session.series_changed.connect(self._show_series)
        self.session.slice_changed.connect(self._show_slice)
        self.session.window_changed.connect(self._on_window_changed)
        self.session.results_reset.connect(self._on_results_reset)
        self.session.slice_result_added.connect(self._on_slice_result)
        self.session.overlay_changed.connect(self._render_overlay)
        self.session.display_changed.connect(self._render)

    # ----- what is shown -------------------------------------------------------------------------------------------

    @property
    def series(self) -> Series | None:
        return self.session.current_series

    @property
    def current_index(self) -> int:
        return self.session.slice_index

    @property
    def current_slice(self) -> Slice | None:
        return self.session.current_slice

    @property
    def displayed_image(self) -> np.ndarray | None:
        """The current slice's gray image (after window/level), without overlay; None while it is decoded."""
        return self._display

    def pause_prefetch(self, paused: bool) -> None:
        """No neighbours are decoded ahead while `paused` (a study is being opened: its worker decodes already)."""
        self._loader.prefetch_paused = paused

    @property
    def decoding(self) -> bool:
        """Whether a worker is decoding for the viewer: the shown slice, or its neighbours ahead of scrolling."""
        return self._loader.busy

    def current_window(self) -> Window | None:
        slice_ = self.current_slice
        if slice_ is None:
            return None
        return self.session.window() or slice_.known_default_window()  # None until the series' is computed

    def zoom(self) -> float:
        """Screen pixels per image row (the aspect correction stretches columns only)."""
        return self.transform().m22()

    def set_current_index(self, index: int) -> None:
        self.session.set_slice(index)

    def step(self, delta: int) -> None:
        self.session.step(delta)

    def set_window(self, window: Window | None) -> None:
        """None returns to each slice's default window."""
        self.session.set_window(window)

    def _show_series(self, _index: int) -> None:
        series = self.series
        self._distance_line.clear()
        if series is None or not series.slices:
            self._loader.cancel()
            self._display = self._painted = None
            self.decode_error, self.slice_loading = "", False
            self._image_item.setPixmap(QPixmap())
            self._overlay_item.setPixmap(QPixmap())
            self.viewport().update()
            return
        self._image_item.setTransform(aspect_transform(series.info.pixel_spacing))
        self._show_slice(self.current_index)
        self._fit_to_view = True  # fitted; the series keeps the window it was left with (the session's)
        self._fit()
        self.windowChanged.emit(self.current_window())

    def _show_slice(self, index: int) -> None:
        self._render()
        self.currentIndexChanged.emit(index)

    def _on_window_changed(self, series_index: int, _window: Window | None) -> None:
        if series_index == self.session.series_index:
            self._render()
            self.windowChanged.emit(self.current_window())

    def _on_results_reset(self, series_index: int) -> None:
        if series_index == self.session.series_index:
            self._render_overlay()

    def _on_slice_result(self, series_index: int, result: SliceResult) -> None:
        """Results of other slices stream in while one is shown: only the shown slice's own result redraws."""
        if series_index == self.session.series_index and result.slice_index == self.current_index:
            self._render_overlay()

    def set_corner_text_visible(self, visible: bool) -> None:
        self.corner_text_visible = visible
        self.viewport().update()

    def set_left_drag_windows(self, enabled: bool) -> None:
        """W/L mode: left-drag changes window/level (for one-button mice and trackpads); right-drag always does."""
        self._left_drag_windows = enabled
        self._update_left_drag()

    def set_measuring(self, enabled: bool) -> None:
        """Measure mode: left-drag draws a distance line labelled with its length; leaving the mode removes it."""
        self._measuring = enabled
        if not enabled:
            self._distance_line.clear()
        self._update_left_drag()
        self.viewport().update()

    def _update_left_drag(self) -> None:
        """Left-drag pans unless a mode has taken it; the cross cursor says Measure mode is on."""
        taken = self._left_drag_windows or self._measuring
        self.setDragMode(QGraphicsView.DragMode.NoDrag if taken else QGraphicsView.DragMode.ScrollHandDrag)
        self._set_idle_cursor()

    def _set_idle_cursor(self) -> None:
        if self._measuring:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.viewport().unsetCursor()

    def measured_distance(self) -> Distance | None:
        """The length of the distance line on the shown slice; None when there is none."""
        if self.series is None:
            return None
        return self._distance_line.length(self.current_index, self.current_slice.pixel_spacing)

    def clear_measurement(self) -> None:
        self._distance_line.clear()
        self.viewport().update()

    def zoom_in(self) -> None:
        self._zoom_about_centre(ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_about_centre(1.0 / ZOOM_STEP)

    def _zoom_about_centre(self, factor: float) -> None:
        # Keys have no cursor position to zoom about: the image point in the middle of the view stays put.
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self._zoom_by(factor)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def reset_view(self) -> None:
        """Fit the image to the view and return to the default window."""
        self._fit_to_view = True
        self._fit()
        if self.session.window() is not None:
            self.set_window(None)

    def overlay_shown(self) -> bool:
        return self._overlay_item.isVisible() and not self._overlay_item.pixmap().isNull()

    def rendered_overlay(self) -> QImage:
        """What the overlay item holds (for tests and screenshots)."""
        return self._overlay_item.pixmap().toImage()

    # ----- rendering -----------------------------------------------------------------------------------------------

    def _render(self, *_changed: object) -> None:
        """Paint the current slice if it needs no decoding, else keep the image before until a worker has decoded
        it; either way prefetch its neighbours."""
        series, slice_ = self.series, self.current_slice
        if series is None or slice_ is None:
            return
        request = SliceRequest(series, self.current_index, self.session.window())
        image = slice_.cached_display(request.window)
        self._loader.load(request, shown_needed=image is None)
        if image is not None:
            self._paint(SliceDecoded(request, image))
            return
        self._window_unknown = (self.slice_loading and self._window_unknown) or self.current_window() is None
        self._display = self._painted = None  # no overlay, measurement or three-panel view on the image before
        self.decode_error, self.slice_loading = "", True
        self._render_overlay()  # and the corner text of the slice asked for

    def _on_decoded(self, decoded: SliceDecoded) -> None:
        series = self.series
        if self.slice_loading and series is not None and decoded.request == SliceRequest(
                series, self.current_index, self.session.window()):
            self._paint(decoded)  # else the user has moved on: that slice is not painted
            if self._window_unknown:  # the worker has computed the series' automatic window
                self.windowChanged.emit(self.current_window())

    def _paint(self, decoded: SliceDecoded) -> None:
        self.slice_loading = False
        self.decode_error = decoded.error  # one broken file in a series must not stop browsing
        self._display = decoded.image
        if decoded.image is None:
            self._painted = None
            self._image_item.setPixmap(QPixmap())
        else:
            size = self._image_item.pixmap().size()
            self._painted = displayed_pixels(decoded.image, self.session.display.contrast_enhanced)
            self._image_item.setPixmap(QPixmap.fromImage(to_qimage(self._painted)))
            self._update_scene_rect()
            if self._fit_to_view and size != self._image_item.pixmap().size():
                self._fit()  # shown after the series was fitted, on the size of the image before
        self._render_overlay()
        self.sliceShown.emit(decoded.request.index)

    def _render_overlay(self, *_changed: object) -> None:
        explanation = self._current_explanation()
        settings = self.session.overlay
        if explanation is None or self._painted is None or not settings.visible:
            self._overlay_item.setVisible(False)
            self.viewport().update()
            self.explanationChanged.emit(None)
            return
        prediction = self.session.prediction()
        assert prediction is not None
        cam = prediction.cam_for(explanation.class_index)
        blended = render_overlay(self._painted, cam, settings)  # CLAHE is not recomputed on every slider step
        self._overlay_item.setPixmap(QPixmap.fromImage(to_qimage(blended)))
        self._overlay_item.setVisible(True)
        self.viewport().update()
        self.explanationChanged.emit(explanation)

    def set_overlay_caption(self, text: str, weak: bool) -> None:
        """Name on the image the class the drawn map explains (the overlay panel words it: it knows the names)."""
        self.overlay_caption, self.overlay_caption_weak = text, weak
        self.viewport().update()

    def _current_explanation(self) -> Explanation | None:
        """The class whose CAM to draw (the chosen one, else the predicted one) and its probability on this slice;
        none for an unanalysed or out-of-distribution slice."""
        prediction = self.session.prediction()
        if prediction is None or prediction.label is None:
            return None
        return self.session.overlay.explain(prediction)

    def _update_scene_rect(self) -> None:
        self.setSceneRect(pannable_scene_rect(self._image_item.sceneBoundingRect()))

    def _fit(self) -> None:
        if self.series is None:
            return
        self.fitInView(self._image_item.sceneBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def _zoom_by(self, factor: float) -> None:
        factor = limited_zoom_factor(self.zoom(), factor)
        self._fit_to_view = False
        self.scale(factor, factor)
        self.viewport().update()

    # ----- input ---------------------------------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120.0
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self._zoom_by(ZOOM_STEP**notches)  # the anchor is under the mouse, so this zooms about the cursor
        else:
            # One slice per notch; touchpads send fractions of a notch, which add up.
            self._wheel_notches += notches
            whole = int(self._wheel_notches)
            self._wheel_notches -= whole
            if whole:
                self.step(-whole)  # wheel up = previous slice, as in RadiAnt/Horos
        event.accept()

    def event(self, event: QEvent) -> bool:
        # Esc clears a shown distance line before it reaches the window's Cancel shortcut; with no line it cancels.
        if (event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Escape
                and self.measured_distance() is not None):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.measured_distance() is not None:
            self.clear_measurement()
            event.accept()
            return
        if self.series is None:
            super().keyPressEvent(event)
            return
        move = SLICE_KEYS.get(Qt.Key(event.key()))
        if move is None:
            super().keyPressEvent(event)
            return
        self.set_current_index(move[1](self.current_index, len(self.series)))
        event.accept()

    def _drags_window(self, button: Qt.MouseButton) -> bool:
        return button == Qt.MouseButton.RightButton or (button == Qt.MouseButton.LeftButton and self._left_drag_windows)

    def _image_point(self, position: QPointF) -> QPointF:
        """The image point (x = column, y = row, in pixels) under a viewport position, kept on the image."""
        point = self._image_item.mapFromScene(self.mapToScene(position.toPoint()))
        bounds = self._image_item.boundingRect()
        return QPointF(min(max(point.x(), bounds.left()), bounds.right()),
                       min(max(point.y(), bounds.top()), bounds.bottom()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._measuring and event.button() == Qt.MouseButton.LeftButton and self._display is not None:
            self._distance_line.begin(self._image_point(event.position()), self.current_index)
            self.viewport().update()
            event.accept()
            return
        window = self.current_window()
        if self._drags_window(event.button()) and window is not None and self._window_drag_origin is None:
            self._window_drag_origin = (event.position().toPoint(), window)
            self._window_drag_button = event.button()
            self.viewport().setCursor(Qt.CursorShape.SizeAllCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._distance_line.dragging:
            self._distance_line.extend(self._image_point(event.position()))
            self.viewport().update()
            event.accept()
            return
        if self._window_drag_origin is None:
            super().mouseMoveEvent(event)
            return
        origin, start = self._window_drag_origin
        moved = event.position().toPoint() - origin
        step = max(start.width, 1.0) * WINDOW_DRAG_SENSITIVITY
        self.set_window(start.adjusted(start.center + moved.y() * step, max(1.0, start.width + moved.x() * step)))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._distance_line.dragging:
            self._distance_line.finish(self._image_point(event.position()))
            self.viewport().update()
            event.accept()
            return
        if event.button() == self._window_drag_button and self._window_drag_origin is not None:
            self._window_drag_origin = None
            self._set_idle_cursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._fit_to_view = False

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # right button belongs to window/level
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit_to_view:
            self._fit()

