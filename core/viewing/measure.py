"""Distance measurement on a slice, as the ruler tool of Weasis, RadiAnt and Horos: the length of a line between two
image points, in millimetres when the pixel size is known.

PixelSpacing (PS3.3 10.7.1.3) is (row spacing, column spacing): the distance in mm between the centres of adjacent
rows (down the image) and of adjacent columns (across it). The two may differ, so each component of the line is
scaled by its own spacing before Pythagoras; scaling the pixel length by one of them would be wrong for every
oblique line. Without a usable spacing (pictures, or a damaged header) the length is given in image pixels, never as
an invented number of millimetres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MM, PX = "mm", "px"


@dataclass(frozen=True)
class Distance:
    value: float
    unit: str  # MM or PX

    def text(self) -> str:
        """e.g. "23.4 mm", "57.0 px": a tenth is finer than a line drawn with the mouse can be placed."""
        return f"{self.value:.1f} {self.unit}"


def usable_spacing(pixel_spacing: tuple[float, float] | None) -> tuple[float, float] | None:
    """The spacing when both values are positive and finite, else None (lengths then stay in pixels)."""
    if pixel_spacing is None or len(pixel_spacing) != 2:
        return None
    if not all(math.isfinite(value) and value > 0.0 for value in pixel_spacing):
        return None
    return pixel_spacing[0], pixel_spacing[1]


def distance(start: tuple[float, float], end: tuple[float, float],
             pixel_spacing: tuple[float, float] | None) -> Distance:
    """The length of the line from `start` to `end`, both (row, column) in image pixels (fractions allowed)."""
    rows, columns = end[0] - start[0], end[1] - start[1]
    spacing = usable_spacing(pixel_spacing)
    if spacing is None:
        return Distance(math.hypot(rows, columns), PX)
    return Distance(math.hypot(rows * spacing[0], columns * spacing[1]), MM)
