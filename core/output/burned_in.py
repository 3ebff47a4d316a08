"""Annotations burned into an exported image (the DICOM Secondary Capture), which a PACS shows as plain pixels: the
orientation letters at the middle of each edge and a millimetre scale bar, drawn by the rules the viewer and the
report use (`core.viewing.orientation`, `core.viewing.scale_bar`), and the caption band underneath. OpenCV's Hershey
font has ASCII only, so text is reduced to ASCII first.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from core.viewing.orientation import EdgeLabels
from core.viewing.scale_bar import format_length_mm, scale_bar_length_mm

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE, _BLACK = (255, 255, 255), (0, 0, 0)


def ascii_text(text: str) -> str:
    """`text` with every character the Hershey font lacks replaced by "?"."""
    return text.encode("ascii", "replace").decode("ascii")


def _shadowed_text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, thickness: int) -> None:
    """White text over a black outline, legible on bright tissue and on the black background alike; the outline is
    thinner for small text, whose strokes it would otherwise fill in."""
    cv2.putText(image, text, origin, _FONT, scale, _BLACK, thickness + (2 if scale >= 0.6 else 1), cv2.LINE_AA)
    cv2.putText(image, text, origin, _FONT, scale, _WHITE, thickness, cv2.LINE_AA)


def annotated(image_rgb: np.ndarray, labels: EdgeLabels | None, mm_per_pixel: float | None) -> np.ndarray:
    """A copy of the image with its orientation letters (`labels`; None: none) and, bottom right, a scale bar
    (`mm_per_pixel` across the image; None: none)."""
    out = image_rgb.copy()
    height, width = out.shape[:2]
    scale = max(0.3, min(height, width) / 640)
    thickness = max(1, round(scale * 1.5))
    inset = max(2, round(min(height, width) * 0.015))
    if labels is not None:
        for text, edge in ((labels.left, "left"), (labels.right, "right"), (labels.top, "top"),
                           (labels.bottom, "bottom")):
            (text_width, text_height), _ = cv2.getTextSize(text, _FONT, scale, thickness)
            x = {"left": inset, "right": width - inset - text_width}.get(edge, (width - text_width) // 2)
            y = {"top": inset + text_height, "bottom": height - inset}.get(edge, (height + text_height) // 2)
            _shadowed_text(out, text, (x, y), scale, thickness)
    length_mm = None if mm_per_pixel is None else scale_bar_length_mm(mm_per_pixel, width)
    if length_mm is not None and mm_per_pixel:
        right, y = width - inset, height - inset
        left = right - max(1, round(length_mm / mm_per_pixel))
        tick = max(2, inset)
        for colour, line_thickness in ((_BLACK, thickness + 2), (_WHITE, thickness)):
            cv2.polylines(out, [np.array([[left, y - tick], [left, y], [right, y], [right, y - tick]])], False, colour,
                          line_thickness, cv2.LINE_AA)
        label, label_scale = format_length_mm(length_mm), max(0.35, scale * 0.8)  # smaller than letters, legible
        (label_width, _), _ = cv2.getTextSize(label, _FONT, label_scale, thickness)
        _shadowed_text(out, label, (right - label_width, y - tick - inset), label_scale, thickness)
    return out


def captioned(image_rgb: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """The image with a black band underneath carrying `lines` in white, one band row each (made ASCII, all in one
    size, shrunk so that the longest fits the width)."""
    row = max(20, image_rgb.shape[0] // 14)
    out = np.zeros((image_rgb.shape[0] + row * len(lines), image_rgb.shape[1], 3), dtype=np.uint8)
    out[: image_rgb.shape[0]] = image_rgb
    texts = [ascii_text(line) for line in lines]
    scale = row / 40
    widest = max((cv2.getTextSize(text, _FONT, scale, 1)[0][0] for text in texts), default=0)
    if widest > image_rgb.shape[1] - 8:  # shrink to fit narrow images
        scale *= (image_rgb.shape[1] - 8) / widest
    for number, text in enumerate(texts):
        baseline = image_rgb.shape[0] + row * number + int(row * 0.7)
        cv2.putText(out, text, (4, baseline), _FONT, scale, _WHITE, 1, cv2.LINE_AA)
    return out
