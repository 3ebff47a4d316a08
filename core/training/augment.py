"""Training augmentation on 8-bit gray images, with the recipe's ranges (rotation ±12°, scale ±12%, shift ±8%,
horizontal flip, contrast ±20%, brightness ±0.1 of full scale). Used by the CPU trainer; the GPU trainer applies the
same ranges on the GPU."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentRanges:
    rotation_degrees: float = 12.0
    scale: float = 0.12
    shift: float = 0.08
    contrast: float = 0.20
    brightness: float = 0.10


def augment_gray(image: np.ndarray, rng: np.random.Generator, ranges: AugmentRanges = AugmentRanges()) -> np.ndarray:
    """One randomly transformed copy of an (H, W) uint8 image, still uint8."""
    height, width = image.shape
    angle = rng.uniform(-ranges.rotation_degrees, ranges.rotation_degrees)
    scale = 1.0 + rng.uniform(-ranges.scale, ranges.scale)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-ranges.shift, ranges.shift, size=2) * (width, height)
    warped = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=0)
    if rng.random() < 0.5:
        warped = warped[:, ::-1]
    values = warped.astype(np.float32) / 255.0
    mean = values.mean()
    values = (values - mean) * (1.0 + rng.uniform(-ranges.contrast, ranges.contrast)) + mean
    values += rng.uniform(-ranges.brightness, ranges.brightness)
    return np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
