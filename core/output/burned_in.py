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
#: Images are enlarged (by a whole factor, so pixels stay square and sharp) to at least this width before anything is
#: burned in: on a 256-pixel slice a caption that fits the width is too small to read in a PACS viewer.
MIN_CANVAS_WIDTH = 512
#: About this many caption characters fit one line; longer lines wrap.
_CAPTION_CHARACTERS = 64


def enlarged(image_rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """The image enlarged by a whole factor to at least `MIN_CANVAS_WIDTH` wide, and the factor (1: unchanged)."""
    factor = max(1, -(-MIN_CANVAS_WIDTH // image_rgb.shape[1]))
    if factor == 1:
        return image_rgb, 1
    return cv2.resize(image_rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST), factor


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
    """The image with a black band underneath carrying `lines` in white (made ASCII), in one size that fits about
    `_CAPTION_CHARACTERS` to the width, each line wrapped at spaces, one band row per wrapped line."""
    room = image_rgb.shape[1] - 8
    scale = room / cv2.getTextSize("x" * _CAPTION_CHARACTERS, _FONT, 1.0, 1)[0][0]
    row = int(cv2.getTextSize("Xg", _FONT, scale, 1)[0][1] * 2.2) + 2
    wrapped = [part for line in lines for part in _wrapped(ascii_text(line), scale, room)]
    out = np.zeros((image_rgb.shape[0] + row * len(wrapped), image_rgb.shape[1], 3), dtype=np.uint8)
    out[: image_rgb.shape[0]] = image_rgb
    for number, text in enumerate(wrapped):
        baseline = image_rgb.shape[0] + row * number + int(row * 0.7)
        cv2.putText(out, text, (4, baseline), _FONT, scale, _WHITE, 1, cv2.LINE_AA)
    return out


def _wrapped(text: str, scale: float, room: int) -> list[str]:
    """`text` broken at spaces into lines no wider than `room` pixels at `scale` (a longer word keeps its line)."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(candidate, _FONT, scale, 1)[0][0] <= room:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines or [""]
