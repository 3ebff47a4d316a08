"""One RGB → gray conversion (`core.io.colour`), used by DICOM colour images, colour pictures and model input alike."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.io.colour import luma, luma_u8
from core.io.load import load_study
from core.model.preprocess import to_gray_u8
from tests.conftest import REPO_ROOT

RGB = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [200, 100, 50]]], dtype=np.uint8)
#: Other ways of turning colour into gray that must not come back beside `core.io.colour`.
OTHER_CONVERSIONS = re.compile(r"COLOR_(RGB|BGR|RGBA|BGRA)2GRAY|0\.299|0\.587|\.convert\(\s*[\"']L[\"']\s*\)")


def test_luma_uses_the_bt601_weights_and_ignores_alpha():
    expected = [[0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 200 + 0.587 * 100 + 0.114 * 50]]
    np.testing.assert_allclose(luma(RGB), expected, rtol=1e-6)
    rgba = np.concatenate([RGB, np.full((1, 4, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(luma(rgba), luma(RGB))
    np.testing.assert_array_equal(luma_u8(RGB), np.rint(expected).astype(np.uint8))
    with pytest.raises(ValueError):
        luma(RGB[:, :, 0])


def test_pictures_and_model_input_turn_colour_gray_the_same_way(tmp_path: Path):
    colour = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "colour.png"), cv2.cvtColor(colour, cv2.COLOR_RGB2BGR))
    (slice_,) = load_study(tmp_path / "colour.png").series[0].slices
    np.testing.assert_array_equal(slice_.modality_pixels(), luma(colour))
    np.testing.assert_array_equal(to_gray_u8(colour), luma_u8(colour))
    np.testing.assert_array_equal(slice_.display(), luma_u8(colour))  # 8-bit pictures show at full range


def test_no_other_rgb_to_gray_conversion_in_the_application():
    offenders = [f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
                 for folder in ("core", "desktop") for path in sorted((REPO_ROOT / folder).rglob("*.py"))
                 if path != REPO_ROOT / "core" / "io" / "colour.py"
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if OTHER_CONVERSIONS.search(line)]
    assert not offenders, "RGB → gray outside core.io.colour:\n" + "\n".join(offenders)
