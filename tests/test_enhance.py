"""core.viewing.enhance: CLAHE raises local contrast of a display image, never changes its shape/type or its input."""

from __future__ import annotations

import numpy as np
import pytest

from core.viewing.enhance import clahe


def _low_contrast_slice() -> np.ndarray:
    rows, cols = np.mgrid[0:128, 0:128]
    return (100 + 10 * np.sin(rows / 6.0) * np.cos(cols / 9.0)).astype(np.uint8)


def test_clahe_stretches_contrast_and_keeps_input() -> None:
    image = _low_contrast_slice()
    before = image.copy()
    enhanced = clahe(image)
    assert enhanced.dtype == np.uint8 and enhanced.shape == image.shape
    assert enhanced.std() > 2 * image.std()
    np.testing.assert_array_equal(image, before)


def test_stronger_clip_limit_means_more_contrast() -> None:
    image = _low_contrast_slice()
    assert clahe(image, clip_limit=4.0).std() > clahe(image, clip_limit=1.0).std()


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.float32), np.zeros((8, 8, 3), np.uint8)])
def test_clahe_refuses_non_gray_uint8(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        clahe(bad)
