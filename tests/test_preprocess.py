"""The one preprocessing function: the app's path (file → core.study display image) equals the training path."""

from __future__ import annotations

import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.preprocess import to_gray_u8, to_model_batch, to_model_input
from core.study import load_study
from tests.conftest import DATASET_TAR

MODEL_SIZES = (256, 128)  # the real model and the interim CPU model


def dataset_image(member_name: str) -> np.ndarray:
    """A member of the training tar decoded exactly as core.training.dataset does it."""
    if not DATASET_TAR.is_file():
        pytest.skip("the training tar in ../shared is not present")
    with tarfile.open(DATASET_TAR) as archive:
        data = np.frombuffer(archive.extractfile(member_name).read(), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def app_display_image(path: Path) -> np.ndarray:
    study = load_study(path)
    return study.series[0].slices[0].display()


@pytest.mark.needs_shared
@pytest.mark.parametrize("size", MODEL_SIZES)
def test_256_image_gives_the_training_input_through_the_app(tmp_path: Path, size: int) -> None:
    training_gray = dataset_image("Testing/meningioma/Te-me_0029.webp")
    png = tmp_path / "slice.png"
    cv2.imwrite(str(png), training_gray)
    app_input = to_model_input(app_display_image(png), size)
    np.testing.assert_array_equal(app_input, to_model_batch([training_gray], size)[0])


@pytest.mark.needs_shared
@pytest.mark.parametrize("size", MODEL_SIZES)
def test_512_jpeg_matches_its_dataset_version(samples_original: Path, size: int) -> None:
    """The original 512² JPEG through the app lands within the dataset's WebP error of its training-set version."""
    jpeg = samples_original / "glioma" / "Te-gl_0029.jpg"
    app_input = to_model_input(app_display_image(jpeg), size)
    training_input = to_model_input(dataset_image("Testing/glioma/Te-gl_0029.webp"), size)
    mean_grey_levels = float(np.abs(app_input - training_input).mean() * 127.5)
    assert mean_grey_levels < 1.0, mean_grey_levels


def test_gray_and_rgb_inputs_agree_and_are_scaled() -> None:
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (300, 280), dtype=np.uint8)
    rgb = np.dstack([gray] * 3)
    from_gray, from_rgb = to_model_input(gray), to_model_input(rgb)
    np.testing.assert_array_equal(from_gray, from_rgb)
    assert from_gray.shape == (256, 256, 3) and from_gray.dtype == np.float32
    assert -1.0 <= from_gray.min() and from_gray.max() <= 1.0
    np.testing.assert_array_equal(from_gray[..., 0], from_gray[..., 2])
    assert to_model_input(np.full((256, 256), 255, np.uint8), 128).max() == pytest.approx(1.0)


def test_non_uint8_input_is_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        to_gray_u8(np.zeros((10, 10), np.float32))
