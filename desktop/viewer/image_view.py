"""What every image view of the window shares: the QImage conversion, the view set-up, zoom limits and pan margin."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

from desktop import theme

ZOOM_STEP = 1.15
MIN_ZOOM, MAX_ZOOM = 0.05, 40.0
# How far the scene extends beyond the image, in image sizes, so the image can be panned freely.
PAN_MARGIN = 4.0


def to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of an (H, W) gray or (H, W, 3) RGB uint8 array."""
    pixels = np.ascontiguousarray(pixels)
    rows, cols = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, cols, rows, pixels.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.data, cols, rows, pixels.strides[0], QImage.Format.Format_RGB888)
    return image.copy()  # the array may be freed or reused; the QImage must not point into it



def pannable_scene_rect(image_bounds: QRectF) -> QRectF:
    """The scene rectangle of a view showing an image with these bounds: the image and `PAN_MARGIN` image sizes
    around it, so the image can be dragged off-centre."""
    margin_x, margin_y = image_bounds.width() * PAN_MARGIN, image_bounds.height() * PAN_MARGIN
    return image_bounds.adjusted(-margin_x, -margin_y, margin_x, margin_y)


def limited_zoom_factor(zoom: float, factor: float) -> float:
    """`factor`, reduced where needed so a view at `zoom` stays within MIN_ZOOM..MAX_ZOOM."""
    return max(MIN_ZOOM / zoom, min(factor, MAX_ZOOM / zoom))


def aspect_transform(pixel_spacing: tuple[float, float] | None) -> QTransform:
    """Stretch columns by column spacing / row spacing so anatomy keeps its true proportions."""
    if not pixel_spacing or min(pixel_spacing) <= 0:
        return QTransform()
    return QTransform.fromScale(pixel_spacing[1] / pixel_spacing[0], 1.0)


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
