"""The one preprocessing function: the app's path (file → core.io.load display image) equals the training path, and
the model input barely changes with what differs between sources (black margins, zoom, position, display gamma)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.io.load import load_study
from core.model.preprocess import (
    HeadBox,
    head_box,
    head_mask,
    to_gray_u8,
    to_model_batch,
    to_model_gray,
    to_model_input,
)
from tests.conftest import DATASET_TAR

MODEL_SIZES = (256, 128)


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


def textured_head(size: int = 256, seed: int = 0) -> np.ndarray:
    """A head-like slice: bright scalp ring, textured brain, dark ventricles, a bright lesion, black background."""
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size), np.float32)
    centre, axes = (size // 2, size // 2), (int(size * 0.36), int(size * 0.44))
    cv2.ellipse(image, centre, axes, 0, 0, 360, 170, -1)
    cv2.ellipse(image, centre, (axes[0] - size // 30, axes[1] - size // 30), 0, 0, 360, 30, -1)
    cv2.ellipse(image, centre, (axes[0] - size // 20, axes[1] - size // 20), 0, 0, 360, 110, -1)
    image += cv2.GaussianBlur(rng.normal(0, 25, image.shape).astype(np.float32), (0, 0), size / 100) * (image > 0)
    cv2.ellipse(image, centre, (size // 16, size // 7), 0, 0, 360, 35, -1)
    cv2.circle(image, (int(size * 0.62), int(size * 0.38)), size // 14, 230, -1)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 1.0), 0, 255).astype(np.uint8)


def mean_change(a: np.ndarray, b: np.ndarray, blur: float = 0.0) -> float:
    """Mean absolute difference of two model inputs, in grey levels of 0–255 (after a Gaussian blur of `blur` px,
    to compare content rather than sharpness)."""
    first, second = to_model_gray(a), to_model_gray(b)
    if blur:
        first, second = (cv2.GaussianBlur(x, (0, 0), blur) for x in (first, second))
    return float(np.abs(first - second).mean() * 255)


def assert_same_box(box: HeadBox, expected: HeadBox, scale: float = 1.0, offset: tuple[int, int] = (0, 0)) -> None:
    """`box` (in an image scaled by `scale` and shifted by `offset`) is `expected` within 1% of its side."""
    tolerance = 0.01 * expected.side + 1
    assert abs(box.side / scale - expected.side) <= tolerance
    assert abs((box.top - offset[0]) / scale - expected.top) <= tolerance
    assert abs((box.left - offset[1]) / scale - expected.left) <= tolerance


@pytest.mark.needs_shared
@pytest.mark.parametrize("size", MODEL_SIZES)
def test_256_image_gives_the_training_input_through_the_app(tmp_path: Path, size: int) -> None:
    training_gray = dataset_image("Testing/meningioma/Te-me_0029.webp")
    png = tmp_path / "slice.png"
    cv2.imwrite(str(png), training_gray)
    app_input = to_model_input(app_display_image(png), size)
    np.testing.assert_array_equal(app_input, to_model_batch([training_gray], size)[0])


@pytest.mark.needs_shared
def test_512_jpeg_matches_its_dataset_version(samples_original: Path) -> None:
    """The original 512² JPEG through the app gives the crop of its 256² training-set version; the inputs differ in
    sharpness only (the dataset went through 256² first)."""
    jpeg = app_display_image(samples_original / "glioma" / "Te-gl_0029.jpg")
    dataset = dataset_image("Testing/glioma/Te-gl_0029.webp")
    assert_same_box(head_box(head_mask(jpeg)), head_box(head_mask(dataset)), scale=2.0)
    assert mean_change(jpeg, dataset, blur=1.5) < 6.0


def test_black_margins_zoom_and_position_barely_change_the_input() -> None:
    """The crop follows the head within 1% of its size, so the input changes about as much as a 1-pixel shift."""
    head = textured_head()
    expected = head_box(head_mask(head))
    padded = cv2.copyMakeBorder(head, 80, 80, 80, 80, cv2.BORDER_CONSTANT, value=0)
    zoomed = cv2.resize(head, (512, 512), interpolation=cv2.INTER_CUBIC)
    shifted = np.zeros((320, 320), np.uint8)
    shifted[50:306, 10:266] = head
    assert_same_box(head_box(head_mask(padded)), expected, offset=(80, 80))
    assert_same_box(head_box(head_mask(zoomed)), expected, scale=2.0)
    assert_same_box(head_box(head_mask(shifted)), expected, offset=(50, 10))
    one_pixel = mean_change(head, np.roll(head, 1, axis=1), blur=1.0)
    for variant in (padded, zoomed, shifted):
        assert mean_change(head, variant, blur=1.0) < 2 * one_pixel
    assert mean_change(head, np.fliplr(head), blur=1.0) > 2 * one_pixel  # the measure does see real changes


def test_display_gamma_barely_changes_the_input() -> None:
    head = textured_head()
    for gamma in (0.7, 0.85, 1.2, 1.4):
        curved = (255.0 * (head / 255.0) ** gamma + 0.5).astype(np.uint8)
        assert mean_change(head, curved) < 4.0, gamma
    assert mean_change(head, (head * 0.6).astype(np.uint8)) < 3.0  # a darker export


def test_the_aspect_ratio_is_kept() -> None:
    """A round head in a wide image stays round: the crop is a square about the head, not a stretch."""
    wide = np.zeros((200, 400), np.uint8)
    cv2.circle(wide, (150, 100), 70, 180, -1)
    model_gray = to_model_gray(wide, 128)
    rows, cols = np.flatnonzero(model_gray.max(axis=1) > 0.1), np.flatnonzero(model_gray.max(axis=0) > 0.1)
    height, width = rows[-1] - rows[0], cols[-1] - cols[0]
    assert abs(height - width) <= 2 and height > 100


def test_the_head_box_ignores_small_bright_specks() -> None:
    head = cv2.copyMakeBorder(textured_head(), 60, 60, 60, 60, cv2.BORDER_CONSTANT, value=0)
    with_label = head.copy()
    cv2.putText(with_label, "R", (5, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2)  # a burned-in side marker
    assert head_box(head_mask(with_label)) == head_box(head_mask(head))


def test_blank_flat_and_tiny_images_are_handled() -> None:
    for image in (np.zeros((64, 64), np.uint8), np.zeros((1, 1), np.uint8)):
        assert np.all(to_model_input(image, 128) == -1.0)
    flat = to_model_input(np.full((30, 50), 7, np.uint8), 128)  # the OOD input checks refuse it before the model
    assert flat.shape == (128, 128, 3) and np.isfinite(flat).all()


def test_gray_and_rgb_inputs_agree_and_are_scaled() -> None:
    gray = textured_head(300)[:, 10:290]
    rgb = np.dstack([gray] * 3)
    from_gray, from_rgb = to_model_input(gray), to_model_input(rgb)
    np.testing.assert_array_equal(from_gray, from_rgb)
    assert from_gray.shape == (256, 256, 3) and from_gray.dtype == np.float32
    assert from_gray.min() == -1.0 and from_gray.max() == pytest.approx(1.0)
    np.testing.assert_array_equal(from_gray[..., 0], from_gray[..., 2])


def test_non_uint8_input_is_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        to_gray_u8(np.zeros((10, 10), np.float32))
