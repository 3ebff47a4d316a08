"""VOI windows (DICOM PS3.3 C.11.2): the `Window` type and the one implementation of the VOI LUT Functions.

A window is applied to modality values (after the modality LUT) and maps them to [0, 1]. The function is the file's
VOI LUT Function (0028,1056): LINEAR (C.11.2.1.2.1, the default when absent), LINEAR_EXACT (C.11.2.1.3.2) or
SIGMOID (C.11.2.1.3.1). The formulas are written out here rather than taken from pydicom's `apply_windowing`, because
that reads the centre and width from a dataset and scales to the dataset's stored bit range, while the viewer applies
any centre and width the user drags to, to pictures as well as DICOM (tests compare the two).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

VoiFunction = Literal["LINEAR", "LINEAR_EXACT", "SIGMOID"]
VOI_FUNCTIONS: tuple[VoiFunction, ...] = ("LINEAR", "LINEAR_EXACT", "SIGMOID")
#: Robust automatic window: the 0.5th and 99.5th percentiles of the modality values, so a few hot pixels or a
#: black surround do not flatten the contrast of the anatomy.
AUTO_WINDOW_PERCENTILES = (0.5, 99.5)
#: Narrowest LINEAR_EXACT / SIGMOID width used (the standard asks only for > 0): keeps the division finite.
_MIN_EXACT_WIDTH = 1e-6


@dataclass(frozen=True)
class Window:
    """A VOI window: centre and width in modality units, a name for lists, and the VOI LUT Function."""

    center: float
    width: float
    name: str = ""
    function: VoiFunction = "LINEAR"

    @property
    def has_valid_width(self) -> bool:
        """Whether the width is one the standard allows: at least 1 for LINEAR (C.11.2.1.2.1), above 0 for
        LINEAR_EXACT and SIGMOID (C.11.2.1.3); and, with the centre, a finite number (a NaN window shows black)."""
        if not (math.isfinite(self.center) and math.isfinite(self.width)):
            return False
        return self.width >= 1.0 if self.function == "LINEAR" else self.width > 0.0

    def adjusted(self, center: float, width: float, name: str = "") -> Window:
        """This window moved to another centre and width (a W/L drag, a preset), keeping its VOI LUT Function."""
        return replace(self, center=center, width=width, name=name)


#: Identity window for 8-bit images: with the PS3.3 C.11.2.1.2.1 formula, center 128 / width 256 maps 0..255 to itself.
FULL_RANGE_8BIT = Window(128.0, 256.0, "Full range")


def voi_function(value: str) -> VoiFunction:
    """The VOI LUT Function a file states; LINEAR when absent (as the standard says) or not one of the defined terms,
    so a non-conforming value still shows the image."""
    stated = value.strip().upper()
    return next((function for function in VOI_FUNCTIONS if function == stated), "LINEAR")


def window_unit_range(pixels: np.ndarray, window: Window) -> np.ndarray:
    """The window's VOI LUT Function applied to modality values, with ymin = 0 and ymax = 1, as float32.

    A width the standard does not allow is narrowed to the smallest that it does (1 for LINEAR, where width 1 is a
    threshold at center - 0.5), so presets and drags never fail."""
    values = np.asarray(pixels, dtype=np.float32)
    center = float(window.center)
    if window.function == "SIGMOID":  # C.11.2.1.3.1: y = 1 / (1 + exp(-4 (x - c) / w))
        width = max(float(window.width), _MIN_EXACT_WIDTH)
        with np.errstate(over="ignore"):  # far below the centre exp overflows to inf and y is 0, as it should be
            return (1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))).astype(np.float32)
    if window.function == "LINEAR_EXACT":  # C.11.2.1.3.2: y = (x - c) / w + 0.5, clipped
        width = max(float(window.width), _MIN_EXACT_WIDTH)
        lowest, span = center - width / 2.0, width
    else:  # C.11.2.1.2.1: y = (x - (c - 0.5)) / (w - 1) + 0.5, clipped
        width = max(float(window.width), 1.0)
        lowest, span = center - 0.5 - (width - 1.0) / 2.0, max(width - 1.0, _MIN_EXACT_WIDTH)
    return np.clip((values - lowest) / span, 0.0, 1.0, dtype=np.float32)


def percentile_sample(pixels: np.ndarray) -> np.ndarray:
    """The pixels on a grid of about 128 × 128, which estimates percentiles well and keeps them cheap on large
    images (a strided view, no copy)."""
    return pixels[:: max(1, pixels.shape[0] // 128), :: max(1, pixels.shape[1] // 128)]


def auto_window(pixels: np.ndarray) -> Window:
    """Window spanning the robust percentiles of one image (see AUTO_WINDOW_PERCENTILES)."""
    return window_from_sample(percentile_sample(pixels))


def window_from_sample(sample: np.ndarray) -> Window:
    """Window spanning the robust percentiles (AUTO_WINDOW_PERCENTILES) of sampled modality values."""
    low, high = np.percentile(sample, AUTO_WINDOW_PERCENTILES)
    width = max(float(high - low), 1.0)
    return Window(float(low) + width / 2.0, width, "Automatic")
