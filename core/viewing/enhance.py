"""Contrast enhancement for DISPLAY ONLY.

The model is trained on unenhanced slices and `core.model.preprocess.to_model_input` is the only way pixels reach it, so
nothing here may ever be applied on the analysis path: the desktop applies it to what it paints, after analysis
images have been taken.
"""

from __future__ import annotations

import cv2
import numpy as np


def clahe(display_u8: np.ndarray, clip_limit: float = 2.0, tile_grid: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (OpenCV) of an (H, W) uint8 display image.

    `clip_limit` bounds how far each tile's histogram is stretched (higher = stronger, noisier); `tile_grid` is
    (columns, rows) of tiles. Returns a new (H, W) uint8 array; the input is left untouched.
    """
    if display_u8.dtype != np.uint8 or display_u8.ndim != 2:
        raise ValueError(f"expected an (H, W) uint8 display image, got {display_u8.dtype} {display_u8.shape}")
    if clip_limit <= 0 or min(tile_grid) < 1:
        raise ValueError(f"clip_limit must be > 0 and tile_grid >= 1, got {clip_limit} and {tile_grid}")
    equaliser = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(int(tile_grid[0]), int(tile_grid[1])))
    return equaliser.apply(np.ascontiguousarray(display_u8))
