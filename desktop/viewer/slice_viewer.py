"""The slice viewer: a QGraphicsView holding the slice image and, above it, the Grad-CAM overlay.

Mouse and keys follow Weasis / RadiAnt / Horos: wheel and Up/Down/PageUp/PageDown/Home/End move through slices,
Ctrl+wheel zooms about the cursor, left-drag pans, right-drag adjusts window (horizontal) and level (vertical).
Over the image, as in those viewers: corner text, orientation letters at the middle of each image edge
(`core.viewing.orientation`), a calibrated scale bar (`core.viewing.scale_bar`) and the distance tool's line with its
length
(`desktop.viewer.measurement`, `core.viewing.measure`), all following zoom and pan.
Pixels come from `Slice.display(Window)` and `core.analysis.overlay.render_overlay`; this module only shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPoint, QPointF, QRect, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetricsF,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QLabel,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QWidget,
)

from core.analysis.overlay import Explanation, OverlaySettings, render_overlay
from core.analysis.profile import ProbabilityProfile, slice_position
from core.errors import BrainMriError
from core.io.load import Series, Slice
from core.io.windowing import Window
from core.model.classifier import SlicePrediction
from core.viewing.measure import Distance
from core.viewing.orientation import edge_labels
from core.viewing.scale_bar import format_length_mm, scale_bar_length_mm
from desktop import theme
from desktop.viewer.display_options import displayed_pixels
from desktop.viewer.measurement import DistanceLine
from desktop.viewer.profile_view import ProfileView

ZOOM_STEP = 1.15
MIN_ZOOM, MAX_ZOOM = 0.05, 40.0
# Right-drag: one screen pixel changes width/centre by this fraction of the window width at the drag's start, so the
# feel is the same for 8-bit pictures (width 256) and 12-bit MR (width in the thousands).
WINDOW_DRAG_SENSITIVITY = 1.0 / 300.0
# How far the scene extends beyond the image, in image sizes, so the image can be panned freely.
PAN_MARGIN = 4.0
# Text on the image keeps this far (viewport pixels) from the viewport's edges.
TEXT_MARGIN_X, TEXT_MARGIN_Y = 10, 8
# Orientation letters sit this far inside the image edge they name.
MARKER_INSET = 6.0
# The scale bar's end ticks are this tall, and the bar sits this far above the bottom-right corner text.
SCALE_BAR_TICK, SCALE_BAR_GAP = 6.0, 8.0
# The distance line's end marks are this wide (viewport pixels); its length label sits this far from its end.
MEASURE_END_RADIUS, MEASURE_LABEL_OFFSET = 3.0, 8.0
SHADOW = QColor(0, 0, 0, 220)  # under text and lines drawn on the image


def _page(count: int) -> int:
    """PageUp/PageDown move a tenth of the series."""
    return max(1, count // 10)


#: Keys the viewer handles itself, with what they do and the slice index they go to from (index, slice count). The
#: one table drives `SliceViewer.keyPressEvent` and the Help → Keyboard shortcuts dialog.
SLICE_KEYS: dict[Qt.Key, tuple[str, Callable[[int, int], int]]] = {
    Qt.Key.Key_Up: ("Previous slice", lambda index, count: index - 1),
    Qt.Key.Key_Down: ("Next slice", lambda index, count: index + 1),
    Qt.Key.Key_PageUp: ("Back a tenth of the series", lambda index, count: index - _page(count)),
    Qt.Key.Key_PageDown: ("Forward a tenth of the series", lambda index, count: index + _page(count)),
    Qt.Key.Key_Home: ("First slice", lambda index, count: 0),
    Qt.Key.Key_End: ("Last slice", lambda index, count: count - 1),
}
#: What the mouse does in the viewer (wheelEvent and the mouse handlers below), for the shortcuts dialog.
MOUSE_GESTURES = (
    ("Wheel", "Previous / next slice"),
    ("Ctrl+Wheel", "Zoom about the cursor"),
    ("Left-drag", "Pan (window/level in W/L drag mode; a distance line in Measure mode)"),
    ("Right-drag", "Window (sideways) and level (up and down)"),
)


def to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of an (H, W) gray or (H, W, 3) RGB uint8 array."""
    pixels = np.ascontiguousarray(pixels)
    rows, cols = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, cols, rows, pixels.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.data, cols, rows, pixels.strides[0], QImage.Format.Format_RGB888)
    return image.copy()  # the array may be freed or reused; the QImage must not point into it


def window_presets(slice_: Slice) -> list[Window]:
    """Windows offered for a slice: the file's own, the series' automatic one, and narrower/wider versions of the
    default."""
    default = slice_.default_window()
    presets = list(slice_.windows) + [slice_.automatic_window()]
    presets.append(default.adjusted(default.center, default.width * 0.6, "High contrast"))
    presets.append(default.adjusted(default.center, default.width * 1.6, "Low contrast"))
    return presets


def configure_image_view(view: QGraphicsView) -> None:
    """The set-up every image view shares: dark background, smooth scaling, no scroll bars, drag to pan, zoom about
    the cursor, and full repaints (text drawn in viewport coordinates would smear in a scrolled, blitted viewport)."""
    view.setScene(QGraphicsScene(view))
    view.setBackgroundBrush(theme.IMAGE_BACKGROUND)
    view.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
    view.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
    view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)


class SliceViewer(QGraphicsView):
    """Shows one slice of a series at a time, with zoom, pan, window/level and the Grad-CAM overlay."""

    currentIndexChanged = Signal(int)
    windowChanged = Signal(object)  # the Window in use
    explanationChanged = Signal(object)  # the shown overlay's Explanation, None when no overlay is drawn

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        configure_image_view(self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # drops go to the main window
        self.setFrameShape(QGraphicsView.Shape.NoFrame)

        self._image_item = QGraphicsPixmapItem()
        self._image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        # A child of the image item, so it follows every zoom, pan and aspect transform exactly.
        self._overlay_item = QGraphicsPixmapItem(self._image_item)
        self._overlay_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._image_item)

        self._series: Series | None = None
        self._index = 0
        self._window: Window | None = None  # None: each slice's default window
        self._display: np.ndarray | None = None
        self._contrast_enhanced = False  # CLAHE on what is painted only; `displayed_image` stays unenhanced
        self._painted: np.ndarray | None = None  # what the image item shows; the overlay blends onto it
        self._predictions: Mapping[int, SlicePrediction] = {}
        self._overlay_settings = OverlaySettings()
        self._fit_to_view = True
        self._window_drag_origin: tuple[QPoint, Window] | None = None
        self._window_drag_button = Qt.MouseButton.RightButton  # the button that is dragging window/level
        self._left_drag_windows = False  # the toolbar's W/L mode: left-drag adjusts window/level instead of panning
        self._measuring = False  # the toolbar's Measure mode: left-drag draws a distance line
        self._distance_line = DistanceLine()
        self._wheel_notches = 0.0
        self.corner_text_visible = True
        self.placeholder_text = ""
        self.decode_error = ""  # why the current slice cannot be shown, "" when it is

    # ----- what is shown -------------------------------------------------------------------------------------------

    @property
    def series(self) -> Series | None:
        return self._series

    @property
    def current_index(self) -> int:
        return self._index

    @property
    def current_slice(self) -> Slice | None:
        return self._series.slices[self._index] if self._series is not None else None

    @property
    def displayed_image(self) -> np.ndarray | None:
        """The gray image currently shown (after window/level), without overlay."""
        return self._display

    def current_window(self) -> Window | None:
        slice_ = self.current_slice
        if slice_ is None:
            return None
        try:
            return self._window or slice_.default_window()
        except BrainMriError:
            return None

    def zoom(self) -> float:
        """Screen pixels per image row (the aspect correction stretches columns only)."""
        return self.transform().m22()

    def set_series(self, series: Series | None, index: int = 0) -> None:
        self._series = series
        self._predictions = {}
        self._window = None
        self._index = -1
        self._distance_line.clear()
        if series is None or not series.slices:
            self._series = None
            self._display = self._painted = None
            self.decode_error = ""
            self._image_item.setPixmap(QPixmap())
            self._overlay_item.setPixmap(QPixmap())
            self.viewport().update()
            return
        self._image_item.setTransform(self._aspect_transform(series))
        self.set_current_index(index)
        self.reset_view()

    def set_current_index(self, index: int) -> None:
        if self._series is None:
            return
        index = max(0, min(index, len(self._series) - 1))
        if index == self._index:
            return
        self._index = index
        self._render()
        self.currentIndexChanged.emit(index)

    def step(self, delta: int) -> None:
        self.set_current_index(self._index + delta)

    def set_window(self, window: Window | None) -> None:
        """None returns to each slice's default window."""
        self._window = window
        self._render()
        self.windowChanged.emit(self.current_window())

    def set_predictions(self, predictions: Mapping[int, SlicePrediction]) -> None:
        """Predictions by slice index of the shown series; the overlay is drawn from their cached CAMs (again only
        when the shown slice's prediction changed: results of other slices stream in while one is shown)."""
        shown_changed = predictions.get(self._index) is not self._predictions.get(self._index)
        self._predictions = predictions
        if shown_changed:
            self._render_overlay()

    def set_overlay_settings(self, settings: OverlaySettings) -> None:
        self._overlay_settings = settings
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
        if self._series is None:
            return None
        return self._distance_line.length(self._index, self.current_slice.pixel_spacing)

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
        if self._window is not None:
            self.set_window(None)

    def overlay_shown(self) -> bool:
        return self._overlay_item.isVisible() and not self._overlay_item.pixmap().isNull()

    def rendered_overlay(self) -> QImage:
        """What the overlay item holds (for tests and screenshots)."""
        return self._overlay_item.pixmap().toImage()

    # ----- rendering -----------------------------------------------------------------------------------------------

    @staticmethod
    def _aspect_transform(series: Series) -> QTransform:
        """Stretch columns by column spacing / row spacing so anatomy keeps its true proportions."""
        spacing = series.info.pixel_spacing
        if not spacing or spacing[0] <= 0 or spacing[1] <= 0:
            return QTransform()
        return QTransform.fromScale(spacing[1] / spacing[0], 1.0)

    def _render(self) -> None:
        slice_ = self.current_slice
        if slice_ is None:
            return
        try:
            self._display = slice_.display(self._window)
        except BrainMriError as error:  # one broken file in a series must not stop browsing
            self._display = self._painted = None
            self.decode_error = error.reason
            self._image_item.setPixmap(QPixmap())
            self._render_overlay()
            return
        self.decode_error = ""
        self._painted = displayed_pixels(self._display, self._contrast_enhanced)
        self._image_item.setPixmap(QPixmap.fromImage(to_qimage(self._painted)))
        self._update_scene_rect()
        self._render_overlay()

    def set_contrast_enhanced(self, enhanced: bool) -> None:
        """Show the slice with CLAHE (display only: analysis always reads the slice's own display image)."""
        if enhanced != self._contrast_enhanced:
            self._contrast_enhanced = enhanced
            self._render()

    def _render_overlay(self) -> None:
        explanation = self._current_explanation()
        settings = self._overlay_settings
        if explanation is None or self._painted is None or not settings.visible:
            self._overlay_item.setVisible(False)
            self.viewport().update()
            self.explanationChanged.emit(None)
            return
        cam = self._predictions[self._index].cam_for(explanation.class_index)
        blended = render_overlay(self._painted, cam, settings)  # CLAHE is not recomputed on every slider step
        self._overlay_item.setPixmap(QPixmap.fromImage(to_qimage(blended)))
        self._overlay_item.setVisible(True)
        self.viewport().update()
        self.explanationChanged.emit(explanation)

    def _current_explanation(self) -> Explanation | None:
        """The class whose CAM to draw (the chosen one, else the predicted one) and its probability on this slice;
        none for an unanalysed or out-of-distribution slice."""
        prediction = self._predictions.get(self._index)
        if prediction is None or prediction.label is None:
            return None
        class_index = self._overlay_settings.explained_class(prediction.predicted_index)
        return Explanation(class_index, float(prediction.probabilities[class_index]))

    def _update_scene_rect(self) -> None:
        bounds = self._image_item.sceneBoundingRect()
        margin_x, margin_y = bounds.width() * PAN_MARGIN, bounds.height() * PAN_MARGIN
        self.setSceneRect(bounds.adjusted(-margin_x, -margin_y, margin_x, margin_y))

    def _fit(self) -> None:
        if self._series is None:
            return
        self.fitInView(self._image_item.sceneBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def _zoom_by(self, factor: float) -> None:
        factor = max(MIN_ZOOM / self.zoom(), min(factor, MAX_ZOOM / self.zoom()))
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
        if self._series is None:
            super().keyPressEvent(event)
            return
        move = SLICE_KEYS.get(Qt.Key(event.key()))
        if move is None:
            super().keyPressEvent(event)
            return
        self.set_current_index(move[1](self._index, len(self._series)))
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
            self._distance_line.begin(self._image_point(event.position()), self._index)
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

    # ----- text and markers on the image ---------------------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        painter.save()
        painter.resetTransform()  # draw in viewport pixels
        painter.setFont(self._text_font())
        area = self._text_area()
        if self._series is None or self.decode_error:
            message = self.decode_error and f"This slice cannot be shown: {self.decode_error}"
            painter.setPen(theme.WARNING if message else QColor("#8a9099"))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             message or self.placeholder_text)
        if self._series is not None and self.corner_text_visible:  # T hides all of it, for an unobstructed image
            for alignment, lines in self._corner_lines().items():
                self._draw_shadowed_text(painter, QRectF(area), alignment, "\n".join(line for line in lines if line))
            self._draw_scale_bar(painter)
            painter.setFont(self._marker_font())
            for text, box in self.orientation_markers():
                self._draw_shadowed_text(painter, box, Qt.AlignmentFlag.AlignCenter, text)
        self._draw_distance_line(painter)  # drawn by the user: shown even when T hides the annotations
        painter.restore()

    def _text_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        return font

    def _marker_font(self) -> QFont:
        """Orientation letters are bold and a little larger than the corner text, as in PACS viewers."""
        font = self._text_font()
        font.setPointSizeF(font.pointSizeF() + 2.0)
        font.setBold(True)
        return font

    def _text_area(self) -> QRect:
        return self.viewport().rect().adjusted(TEXT_MARGIN_X, TEXT_MARGIN_Y, -TEXT_MARGIN_X, -TEXT_MARGIN_Y)

    def orientation_markers(self) -> list[tuple[str, QRectF]]:
        """The orientation letters of the left, right, top and bottom image edges, each with the box (viewport
        pixels) it is drawn centred in: at the middle of the edge's visible part, just inside the image and the
        viewport, so the letters follow zoom and pan and stay on screen. Empty when the orientation is unknown
        (pictures) or the image is not on screen."""
        labels = edge_labels(self.current_slice.orientation) if self._series is not None else None
        if labels is None or self.decode_error:
            return []
        image = QRectF(self.mapFromScene(self._image_item.sceneBoundingRect()).boundingRect())
        visible = image.intersected(QRectF(self._text_area()))
        if visible.isEmpty():
            return []
        metrics = QFontMetricsF(self._marker_font())
        centre = visible.center()

        def box(text: str, edge: QPointF, inward: QPointF) -> tuple[str, QRectF]:
            # The box touching the edge point from inside, MARKER_INSET away; `inward` is a unit step (±1 or 0).
            rect = QRectF(QPointF(), QSizeF(metrics.horizontalAdvance(text), metrics.height()))
            rect.moveCenter(edge + QPointF(inward.x() * (rect.width() / 2 + MARKER_INSET),
                                           inward.y() * (rect.height() / 2 + MARKER_INSET)))
            return text, rect

        return [
            box(labels.left, QPointF(visible.left(), centre.y()), QPointF(1, 0)),
            box(labels.right, QPointF(visible.right(), centre.y()), QPointF(-1, 0)),
            box(labels.top, QPointF(centre.x(), visible.top()), QPointF(0, 1)),
            box(labels.bottom, QPointF(centre.x(), visible.bottom()), QPointF(0, -1)),
        ]

    def scale_bar(self) -> tuple[float, QLineF] | None:
        """The scale bar's length in mm and where it lies (viewport pixels): bottom right, above the corner text,
        at most a fifth of the view's width. None when the slice has no PixelSpacing."""
        spacing = self.current_slice.pixel_spacing if self._series is not None and not self.decode_error else None
        if not spacing or spacing[0] <= 0:
            return None
        # One screen pixel is the same length across and down: the aspect transform makes a column as wide in
        # screen pixels as its spacing is in mm relative to the row spacing.
        mm_per_pixel = spacing[0] / self.zoom()
        length_mm = scale_bar_length_mm(mm_per_pixel, self.viewport().width())
        if length_mm is None:
            return None
        area = self._text_area()
        corner = self._corner_lines()[Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight]
        text_height = QFontMetricsF(self._text_font()).lineSpacing() * sum(1 for line in corner if line)
        y = area.bottom() - text_height - SCALE_BAR_GAP
        return length_mm, QLineF(area.right() - length_mm / mm_per_pixel, y, area.right(), y)

    def _draw_scale_bar(self, painter: QPainter) -> None:
        bar = self.scale_bar()
        if bar is None:
            return
        length_mm, line = bar
        ticks = [QLineF(x, line.y1(), x, line.y1() - SCALE_BAR_TICK) for x in (line.x1(), line.x2())]
        self._draw_shadowed_lines(painter, [line, *ticks], theme.TEXT_ON_IMAGE)
        label_height = QFontMetricsF(painter.font()).lineSpacing()
        label = QRectF(line.x1(), line.y1() - SCALE_BAR_TICK - label_height, line.length(), label_height)
        self._draw_shadowed_text(painter, label, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                                 format_length_mm(length_mm))

    def distance_line_on_screen(self) -> QLineF | None:
        """The distance line of the shown slice in viewport pixels; None when there is none."""
        line = self._distance_line.on_slice(self._index) if self._series is not None else None
        if line is None:
            return None
        ends = (self.mapFromScene(self._image_item.mapToScene(point)) for point in (line.p1(), line.p2()))
        return QLineF(*(QPointF(end) for end in ends))

    def _draw_distance_line(self, painter: QPainter) -> None:
        line, length = self.distance_line_on_screen(), self.measured_distance()
        if line is None or length is None or line.length() == 0:  # nothing to draw until the drag moves
            return
        normal = line.normalVector().unitVector()
        tick = QPointF(normal.dx(), normal.dy()) * MEASURE_END_RADIUS
        ends = [QLineF(end - tick, end + tick) for end in (line.p1(), line.p2())]
        self._draw_shadowed_lines(painter, [line, *ends], theme.MEASUREMENT)
        painter.setFont(self._text_font())
        metrics = QFontMetricsF(painter.font())
        text = length.text()
        label = QRectF(QPointF(), QSizeF(metrics.horizontalAdvance(text) + 2, metrics.height()))
        label.moveBottomLeft(line.p2() + QPointF(MEASURE_LABEL_OFFSET, -MEASURE_LABEL_OFFSET))
        area = QRectF(self._text_area())  # a line ending at the view's edge keeps its label on screen
        label.moveTo(min(max(label.left(), area.left()), area.right() - label.width()),
                     min(max(label.top(), area.top()), area.bottom() - label.height()))
        self._draw_shadowed_text(painter, label, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text,
                                 theme.MEASUREMENT)

    def _corner_lines(self) -> dict[Qt.AlignmentFlag, list[str]]:
        assert self._series is not None
        info = self._series.info
        slice_ = self._series.slices[self._index]
        window = self.current_window()
        patient = [text for text in (info.patient_name, info.patient_id and f"ID {info.patient_id}") if text]
        study = [text for text in (info.study_description, info.study_date) if text]
        series = [text for text in (info.series_description or slice_.path.parent.name, info.modality) if text]
        top_left = patient + study
        top_right = series + ([info.orientation] if info.orientation else [])
        bottom_left = [f"Slice {self._index + 1} / {len(self._series)}", slice_.label, slice_.geometry_problem]
        bottom_right = [f"W {window.width:.0f}  L {window.center:.0f}" if window else "", f"Zoom {self.zoom():.0%}"]
        align = Qt.AlignmentFlag
        return {
            align.AlignTop | align.AlignLeft: top_left,
            align.AlignTop | align.AlignRight: top_right,
            align.AlignBottom | align.AlignLeft: bottom_left,
            align.AlignBottom | align.AlignRight: bottom_right,
        }

    @staticmethod
    def _draw_shadowed_text(painter: QPainter, box: QRectF, alignment: Qt.AlignmentFlag, text: str,
                            colour: QColor = theme.TEXT_ON_IMAGE) -> None:
        # A one-pixel dark shadow keeps the text readable over bright anatomy and over the heatmap.
        painter.setPen(SHADOW)
        painter.drawText(box.translated(1, 1), alignment, text)
        painter.setPen(colour)
        painter.drawText(box, alignment, text)

    @staticmethod
    def _draw_shadowed_lines(painter: QPainter, lines: list[QLineF], colour: QColor) -> None:
        """Two-pixel lines with the text's dark shadow (scale bar, distance line)."""
        for pen_colour, offset in ((SHADOW, QPointF(1, 1)), (colour, QPointF(0, 0))):
            painter.setPen(QPen(pen_colour, 2))
            painter.drawLines([line.translated(offset) for line in lines])


class MarkedSlider(QSlider):
    """A horizontal slider that draws ticks at marked values (the slices chosen for analysis) and coloured ticks at
    values that have a result."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._marks: dict[int, QColor] = {}
        self.setMinimumHeight(26)

    def set_marks(self, marks: Mapping[int, QColor]) -> None:
        self._marks = dict(marks)
        self.update()

    def marks(self) -> dict[int, QColor]:
        return dict(self._marks)

    def value_span(self) -> tuple[float, float]:
        """Where the handle's centre is (x, in this widget) at the minimum and at the maximum value."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderHandle, self)
        first = groove.x() + handle.width() / 2
        return first, first + groove.width() - handle.width()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._marks or self.maximum() <= self.minimum():
            return
        first, last = self.value_span()
        count = self.maximum() - self.minimum() + 1
        painter = QPainter(self)
        for value, colour in self._marks.items():
            x = slice_position(value - self.minimum(), count, first, last)
            painter.setPen(QPen(colour, 3))
            painter.drawLine(QPointF(x, 1), QPointF(x, 6))
            painter.drawLine(QPointF(x, self.height() - 6), QPointF(x, self.height() - 1))
        painter.end()


class SliceNavigator(QWidget):
    """The slider under the viewer with its "slice k / n" label, kept in step with a SliceViewer, and above the
    slider, once the series has results, the probability profile (`ProfileView`) on the slider's own scale."""

    def __init__(self, viewer: SliceViewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self.slider = MarkedSlider(self)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the viewer
        self.profile = ProfileView(self._profile_span, self)
        self.profile.hide()
        self.label = QLabel(self)
        self.label.setMinimumWidth(110)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setVerticalSpacing(0)
        layout.addWidget(self.profile, 0, 0)  # the slider's column: one slice lies at one x in both
        layout.addWidget(self.slider, 1, 0)
        layout.addWidget(self.label, 1, 1)
        layout.setColumnStretch(0, 1)
        self.slider.valueChanged.connect(viewer.set_current_index)
        self.profile.sliceClicked.connect(viewer.set_current_index)
        viewer.currentIndexChanged.connect(self._show_index)
        self.refresh()

    def refresh(self) -> None:
        """Take the range from the viewer's series (call after `SliceViewer.set_series`)."""
        series = self._viewer.series
        count = len(series) if series is not None else 0
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, count - 1))
        self.slider.setPageStep(max(1, count // 10))
        self.slider.blockSignals(False)
        self.slider.setEnabled(count > 1)
        self._show_index(self._viewer.current_index if count else 0)

    def _profile_span(self) -> tuple[float, float]:
        """The slider's value span in the profile's coordinates (they share this widget's column)."""
        first, last = self.slider.value_span()
        offset = self.slider.x() - self.profile.x()
        return first + offset, last + offset

    def show_profile(self, profile: ProbabilityProfile | None) -> None:
        """The shown series' probability profile; None hides it (no analysis of this series yet)."""
        self.profile.set_profile(profile)
        self.profile.setVisible(profile is not None)

    def _show_index(self, index: int) -> None:
        series = self._viewer.series
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.profile.set_current(index)
        self.label.setText(f"slice {index + 1} / {len(series)}" if series is not None else "no study")
