"""The length of the scale bar drawn on the viewer: a round number of millimetres, like the calibrated rulers of
Weasis, RadiAnt and Horos, so distances can be judged at a glance at any zoom.

Lengths follow the 1-2-5 series (…, 1, 2, 5, 10, 20, 50, 100 mm, …): the largest one no longer than a fifth of the
visible width, so the bar is long enough to read and never dominates the image. Millimetres per screen pixel come
from PixelSpacing (PS3.3 C.7.6.2.1.1 / C.7.6.16.2.1); without it there is no bar, since a picture's pixels have no
known size.
"""

from __future__ import annotations

import math

#: The bar is at most this fraction of the visible width.
MAX_WIDTH_FRACTION = 0.2
_ROUND_STEPS = (1.0, 2.0, 5.0)


def scale_bar_length_mm(mm_per_pixel: float, visible_width_px: float,
                        max_fraction: float = MAX_WIDTH_FRACTION) -> float | None:
    """The largest 1-2-5 length in mm that spans at most `max_fraction` of `visible_width_px` screen pixels; None
    when the spacing or the width is unknown, zero or not finite."""
    limit = mm_per_pixel * visible_width_px * max_fraction
    if not (math.isfinite(limit) and limit > 0.0 and mm_per_pixel > 0.0):
        return None
    exponent = math.floor(math.log10(limit))
    # The neighbouring decades and a small tolerance keep float rounding (log10(1000) = 2.9999…) from dropping an
    # exact fit such as 100 mm to 50 mm.
    lengths = (step * 10.0**power for power in (exponent - 1, exponent, exponent + 1) for step in _ROUND_STEPS)
    return max(length for length in lengths if length <= limit * (1 + 1e-9))


def format_length_mm(length_mm: float) -> str:
    """The bar's label, e.g. "50 mm" or "0.5 mm": millimetres throughout, as lengths are read on MR."""
    return f"{length_mm:g} mm"
