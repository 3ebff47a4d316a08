"""Colour to gray: the one RGB → luma conversion, for every colour image that becomes gray (DICOM, pictures, model
input, generated test images).

The weights are ITU-R BT.601's, the Y of DICOM's YBR_FULL (PS3.3 C.7.6.3.1.2), and the ones OpenCV and Pillow use.
"""

from __future__ import annotations

import numpy as np

BT601_WEIGHTS = (0.299, 0.587, 0.114)


def luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 luma of an (H, W, 3) RGB or (H, W, 4) RGBA image of any value range; alpha is ignored."""
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(f"expected an RGB or RGBA image, got shape {rgb.shape}")
    return rgb[:, :, :3].astype(np.float32) @ np.array(BT601_WEIGHTS, dtype=np.float32)


def luma_u8(rgb: np.ndarray) -> np.ndarray:
    """(H, W) uint8 luma of an 8-bit RGB(A) image, rounded to the nearest level."""
    return np.clip(np.rint(luma(rgb)), 0, 255).astype(np.uint8)
