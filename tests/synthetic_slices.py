"""Synthetic images shared by the model and OOD tests."""

from __future__ import annotations

import cv2
import numpy as np


def head_like_slice(seed: int, size: int = 256) -> np.ndarray:
    """A gray image with a dark background and a bright textured ellipse: passes the input checks."""
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size), np.uint8)
    cv2.ellipse(image, (size // 2, size // 2), (size * 3 // 8, size * 7 // 16), 0, 0, 360, 90, -1)
    cv2.circle(image, (int(rng.integers(90, 160)), int(rng.integers(90, 160))), 20, 200, -1)
    return cv2.GaussianBlur(image, (0, 0), 3)
