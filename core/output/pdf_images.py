"""Images in the PDF report: pixels embedded as PNG at print resolution, and a slice image annotated as the viewer
annotates it — the patient direction each edge faces (R/L/A/P/S/I, `core.viewing.orientation`) and a scale bar
(`core.viewing.scale_bar`) — so a printed slice can be read for side and size away from the screen. A slice without
ImageOrientationPatient (pictures) gets no letters and one without PixelSpacing no bar: nothing is guessed.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable, Image

from core.viewing.orientation import EdgeLabels
from core.viewing.scale_bar import format_length_mm, scale_bar_length_mm

IMAGE_DPI = 200  # embedded image resolution at print size (the issue asks for at least 150)
MARKER_FONT_SIZE = 8.0  # orientation letters, bold, as in the viewer a little larger than other image text
SCALE_FONT_SIZE = 6.0
_INSET = 1.2 * mm  # letters and bar keep this far inside the image edges
_TICK = 1.0 * mm
_TEXT = colors.white
_SHADOW = colors.black  # under the white text and bar, so they read on bright tissue and on black background alike


def png_bytes(pixels: np.ndarray, width: float, height: float) -> bytes:
    """`pixels` (gray or RGB uint8) as PNG, resampled for drawing at width × height points at IMAGE_DPI."""
    target = (math.ceil(width / 72 * IMAGE_DPI), math.ceil(height / 72 * IMAGE_DPI))
    enlarging = target[0] > pixels.shape[1]
    resized = cv2.resize(pixels, target, interpolation=cv2.INTER_CUBIC if enlarging else cv2.INTER_AREA)
    if resized.ndim == 3:
        resized = cv2.cvtColor(resized, cv2.COLOR_RGB2BGR)  # OpenCV encodes BGR
    ok, png = cv2.imencode(".png", resized)
    if not ok:
        raise ValueError("could not encode a report image")
    return png.tobytes()


def embedded_image(pixels: np.ndarray, width: float, height: float) -> Image:
    """`pixels` as an image flowable drawn at width × height points (`png_bytes`)."""
    return Image(io.BytesIO(png_bytes(pixels, width, height)), width=width, height=height)


class AnnotatedSliceImage(Flowable):
    """A slice image (or its overlay) drawn at width × height points with its orientation letters at the middle of
    each edge and, bottom right, a scale bar; `labels` None: no letters, `mm_per_point` (millimetres of the patient
    per point across the image) None: no bar. `fonts`: the regular and bold font names."""

    def __init__(self, pixels: np.ndarray, width: float, height: float, labels: EdgeLabels | None,
                 mm_per_point: float | None, fonts: tuple[str, str]) -> None:
        super().__init__()
        self.width, self.height = width, height
        self._png = png_bytes(pixels, width, height)
        self.labels = labels
        self.mm_per_point = mm_per_point
        self.scale_bar_mm = None if mm_per_point is None else scale_bar_length_mm(mm_per_point, width)
        self._font, self._bold_font = fonts

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:  # reportlab's name
        return self.width, self.height

    def draw(self) -> None:
        self.canv.drawImage(ImageReader(io.BytesIO(self._png)), 0, 0, self.width, self.height)
        for text, x, y, anchor in self.marker_positions():
            self._shadowed_string(text, x, y, anchor, MARKER_FONT_SIZE, bold=True)
        if self.scale_bar_mm is not None and self.mm_per_point:
            self._draw_scale_bar(self.scale_bar_mm, self.scale_bar_mm / self.mm_per_point)

    def marker_positions(self) -> list[tuple[str, float, float, str]]:
        """(letter, x, y, anchor) of each orientation letter in the image's own points (origin bottom left); anchor
        is how reportlab aligns the string at x: "left", "right" or "centre"."""
        if self.labels is None:
            return []
        middle_x, middle_y = self.width / 2, self.height / 2 - MARKER_FONT_SIZE * 0.35  # vertical centre of capitals
        return [
            (self.labels.left, _INSET, middle_y, "left"),
            (self.labels.right, self.width - _INSET, middle_y, "right"),
            (self.labels.top, middle_x, self.height - _INSET - MARKER_FONT_SIZE * 0.75, "centre"),
            (self.labels.bottom, middle_x, _INSET, "centre"),
        ]

    def _draw_scale_bar(self, length_mm: float, length_pt: float) -> None:
        right, y = self.width - _INSET, _INSET
        left = right - length_pt
        for colour, offset, line_width in ((_SHADOW, 0.35, 1.4), (_TEXT, 0.0, 0.7)):
            self.canv.setStrokeColor(colour)
            self.canv.setLineWidth(line_width)
            self.canv.line(left + offset, y - offset, right + offset, y - offset)
            for x in (left, right):
                self.canv.line(x + offset, y - offset, x + offset, y + _TICK - offset)
        # Right-aligned with the bar: a short bar's label may be wider than the bar, and must stay on the image.
        self._shadowed_string(format_length_mm(length_mm), right, y + _TICK + 0.6, "right", SCALE_FONT_SIZE,
                              bold=False)

    def _shadowed_string(self, text: str, x: float, y: float, anchor: str, size: float, bold: bool) -> None:
        draw = {"left": self.canv.drawString, "right": self.canv.drawRightString,
                "centre": self.canv.drawCentredString}[anchor]
        self.canv.setFont(self._bold_font if bold else self._font, size)
        for colour, offset in ((_SHADOW, 0.4), (_TEXT, 0.0)):
            self.canv.setFillColor(colour)
            draw(x + offset, y - offset, text)
