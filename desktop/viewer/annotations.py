"""What the slice viewer draws over the image, in viewport pixels: corner text, orientation letters at the middle of
each image edge (`core.viewing.orientation`), a calibrated scale bar (`core.viewing.scale_bar`) and the distance
tool's line with its length (`desktop.viewer.measurement`, `core.viewing.measure`), all following zoom and pan.

`ImageAnnotations` is a mix-in of `desktop.viewer.slice_viewer.SliceViewer`: it reads the viewer's series, slice,
window and zoom and draws in its `drawForeground`.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsView

from core.io.load import Series, Slice
from core.io.windowing import Window
from core.viewing.measure import Distance
from core.viewing.orientation import EdgeLabels, edge_labels
from core.viewing.scale_bar import format_length_mm, scale_bar_length_mm
from desktop import theme
from desktop.viewer.measurement import DistanceLine

# Text on the image keeps this far (viewport pixels) from the viewport's edges.
TEXT_MARGIN_X, TEXT_MARGIN_Y = 10, 8
# Orientation letters sit this far inside the image edge they name.
MARKER_INSET = 6.0
# The share of the image's width the Grad-CAM caption may take (it wraps), leaving the bottom letter clear.
CAPTION_WIDTH_SHARE = 0.4
# The scale bar's end ticks are this tall, and the bar sits this far above the bottom-right corner text.
SCALE_BAR_TICK, SCALE_BAR_GAP = 6.0, 8.0
# The distance line's end marks are this wide (viewport pixels); its length label sits this far from its end.
MEASURE_END_RADIUS, MEASURE_LABEL_OFFSET = 3.0, 8.0
SHADOW = QColor(0, 0, 0, 220)  # under text and lines drawn on the image


def marker_font(base: QFont) -> QFont:
    """Orientation letters are bold and a little larger than the corner text, as in PACS viewers."""
    font = QFont(base)
    font.setPointSizeF(max(8.0, base.pointSizeF()) + 2.0)
    font.setBold(True)
    return font


def marker_boxes(labels: EdgeLabels, image: QRectF, area: QRectF, metrics: QFontMetricsF) -> list[tuple[str, QRectF]]:
    """Each orientation letter with the box it is drawn centred in: at the middle of each edge of the image's part
    inside `area` (viewport pixels), MARKER_INSET inside it, so the letters follow zoom and pan and stay on screen;
    none when the image is not in `area`."""
    visible = image.intersected(area)
    if visible.isEmpty():
        return []
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


def draw_shadowed_text(painter: QPainter, box: QRectF, alignment: Qt.AlignmentFlag, text: str,
                       colour: QColor = theme.TEXT_ON_IMAGE) -> None:
    """Text with a one-pixel dark shadow, readable over bright anatomy and over the heatmap."""
    painter.setPen(SHADOW)
    painter.drawText(box.translated(1, 1), alignment, text)
    painter.setPen(colour)
    painter.drawText(box, alignment, text)


class ImageAnnotations(QGraphicsView):
    """Text and markers on the image; the viewer provides `current_slice`, `current_window`, `zoom`, the image item,
    the distance line and the decode state."""

    _image_item: QGraphicsPixmapItem
    _distance_line: DistanceLine
    decode_error: str
    slice_loading: bool
    placeholder_text: str
    corner_text_visible: bool
    overlay_caption: str  # which class the drawn Grad-CAM explains, "" when none is drawn
    overlay_caption_weak: bool  # that class is unlikely on this slice: the caption is drawn in the warning colour
    series: Series | None
    current_slice: Slice | None
    current_index: int

    def current_window(self) -> Window | None:
        raise NotImplementedError

    def zoom(self) -> float:
        raise NotImplementedError

    def measured_distance(self) -> Distance | None:
        raise NotImplementedError


    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        painter.save()
        painter.resetTransform()  # draw in viewport pixels
        painter.setFont(self._text_font())
        area = self._text_area()
        if self.series is None or self.decode_error:
            message = self.decode_error and f"This slice cannot be shown: {self.decode_error}"
            painter.setPen(theme.WARNING if message else QColor("#8a9099"))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             message or self.placeholder_text)
        if self.series is not None and self.corner_text_visible:  # T hides all of it, for an unobstructed image
            for alignment, lines in self._corner_lines().items():
                draw_shadowed_text(painter, QRectF(area), alignment, "\n".join(line for line in lines if line))
            self._draw_overlay_caption(painter, QRectF(area))
            self._draw_scale_bar(painter)
            painter.setFont(self._marker_font())
            for text, box in self.orientation_markers():
                draw_shadowed_text(painter, box, Qt.AlignmentFlag.AlignCenter, text)
        self._draw_distance_line(painter)  # drawn by the user: shown even when T hides the annotations
        painter.restore()

    def _draw_overlay_caption(self, painter: QPainter, area: QRectF) -> None:
        """Above the bottom-left corner text: which class the heatmap explains, as the overlay panel, the
        three-panel view and the report say it; a map of an unlikely class is not to be read as a finding."""
        if not self.overlay_caption:
            return
        corner = self._corner_lines()[Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft]
        below = QFontMetricsF(self._text_font()).lineSpacing() * sum(1 for line in corner if line)
        # Wrapped within the left part of the image, clear of the bottom orientation letter in the middle.
        box = QRectF(area.left(), area.top(), area.width() * CAPTION_WIDTH_SHARE, area.height() - below)
        flags = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        draw_shadowed_text(painter, box, flags, self.overlay_caption,
                           theme.WARNING if self.overlay_caption_weak else theme.TEXT_ON_IMAGE)

    def _text_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        return font

    def _marker_font(self) -> QFont:
        return marker_font(self.font())

    def _text_area(self) -> QRect:
        return self.viewport().rect().adjusted(TEXT_MARGIN_X, TEXT_MARGIN_Y, -TEXT_MARGIN_X, -TEXT_MARGIN_Y)

    def orientation_markers(self) -> list[tuple[str, QRectF]]:
        """The orientation letters of the left, right, top and bottom image edges, each with the box (viewport
        pixels) it is drawn centred in: at the middle of the edge's visible part, just inside the image and the
        viewport, so the letters follow zoom and pan and stay on screen. Empty when the orientation is unknown
        (pictures) or the image is not on screen."""
        labels = edge_labels(self.current_slice.orientation) if self.series is not None else None
        if labels is None or self.decode_error:
            return []
        image = QRectF(self.mapFromScene(self._image_item.sceneBoundingRect()).boundingRect())
        return marker_boxes(labels, image, QRectF(self._text_area()), QFontMetricsF(self._marker_font()))

    def scale_bar(self) -> tuple[float, QLineF] | None:
        """The scale bar's length in mm and where it lies (viewport pixels): bottom right, above the corner text,
        at most a fifth of the view's width. None when the slice has no PixelSpacing."""
        spacing = self.current_slice.pixel_spacing if self.series is not None and not self.decode_error else None
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
        draw_shadowed_text(painter, label, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                           format_length_mm(length_mm))

    def distance_line_on_screen(self) -> QLineF | None:
        """The distance line of the shown slice in viewport pixels; None when there is none."""
        line = self._distance_line.on_slice(self.current_index) if self.series is not None else None
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
        draw_shadowed_text(painter, label, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text,
                           theme.MEASUREMENT)

    def _corner_lines(self) -> dict[Qt.AlignmentFlag, list[str]]:
        assert self.series is not None
        info = self.series.info
        slice_ = self.series.slices[self.current_index]
        window = self.current_window()
        patient = [text for text in (info.patient_name, info.patient_id and f"ID {info.patient_id}") if text]
        study = [text for text in (info.study_description, info.study_date) if text]
        series = [text for text in (info.series_description or slice_.path.parent.name, info.modality) if text]
        top_left = patient + study
        top_right = series + ([info.orientation] if info.orientation else [])
        bottom_left = ["Loading…" if self.slice_loading else "",  # above the rest, which stays where it was
                       f"Slice {self.current_index + 1} / {len(self.series)}", slice_.label, slice_.geometry_problem]
        bottom_right = [f"W {window.width:.0f}  L {window.center:.0f}" if window else "", f"Zoom {self.zoom():.0%}"]
        align = Qt.AlignmentFlag
        return {
            align.AlignTop | align.AlignLeft: top_left,
            align.AlignTop | align.AlignRight: top_right,
            align.AlignBottom | align.AlignLeft: bottom_left,
            align.AlignBottom | align.AlignRight: bottom_right,
        }

    @staticmethod
    def _draw_shadowed_lines(painter: QPainter, lines: list[QLineF], colour: QColor) -> None:
        """Two-pixel lines with the text's dark shadow (scale bar, distance line)."""
        for pen_colour, offset in ((SHADOW, QPointF(1, 1)), (colour, QPointF(0, 0))):
            painter.setPen(QPen(pen_colour, 2))
            painter.drawLines([line.translated(offset) for line in lines])
