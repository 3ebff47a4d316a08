"""The out-of-distribution gate: input checks on synthetic non-MRI images, and the Mahalanobis feature gate."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.model.ood import FeatureGate, fit_feature_gate, input_check_reason, ledoit_wolf_covariance
from core.training.non_mri import non_mri_set
from tests.synthetic_slices import head_like_slice


@pytest.mark.parametrize("kind", ["noise", "blank", "gradient", "chest_xray_like", "document"])
def test_input_checks_reject_obvious_non_mri(kind: str) -> None:
    images = [image for image_kind, image in non_mri_set([], per_kind=6, seed=1) if image_kind == kind]
    assert images
    for image in images:
        assert input_check_reason(image) != "", kind


def test_colour_photographs_are_rejected() -> None:
    photos = [image for kind, image in non_mri_set([], per_kind=8, seed=2) if kind == "photograph" and image.ndim == 3]
    assert photos and all(input_check_reason(photo) == "colour image" for photo in photos)


def test_mri_like_images_pass_the_input_checks() -> None:
    for seed in range(5):
        gray = head_like_slice(seed, size=320) + np.random.default_rng(seed).integers(0, 6, (320, 320), np.uint8)
        assert input_check_reason(gray) == ""
        assert input_check_reason(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)) == ""


def test_bone_window_and_text_covered_slices_are_rejected_as_clipped_to_white() -> None:
    """A CT bone window keeps only saturated bone over a flat dark field; heavy burnt-in text is white too. Neither
    has the dark background missing, so only the saturation check catches them."""
    slices = [head_like_slice(seed, size=256) for seed in range(6)]
    images = [image for kind, image in non_mri_set(slices, per_kind=6, seed=3) if kind in {"ct_like", "text_overlay"}]
    clipped = [image for image in images if input_check_reason(image).startswith("much of the anatomy is clipped")]
    assert len(clipped) >= 4  # the bone windows (1 in 3 of ct_like) and the text-covered slices (2 in 3)


def test_a_slice_with_bright_clipped_scalp_fat_passes() -> None:
    """On T1 scalp fat can clip to white: up to 7.5 % of the head on the real slices measured (ood.py docstring)."""
    gray = head_like_slice(0, size=256)
    head = np.argwhere(gray > 30)
    rim = head[np.argsort(np.hypot(*(head - head.mean(axis=0)).T))[-int(0.10 * len(head)):]]  # outermost 10 %
    gray[rim[:, 0], rim[:, 1]] = 255
    assert input_check_reason(gray) == ""


@pytest.mark.needs_shared
def test_original_sample_jpegs_pass_the_input_checks(samples_original: Path) -> None:
    for path in sorted(samples_original.glob("*/*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        assert input_check_reason(rgb) == "", path.name


def gaussian_classes(rng: np.random.Generator, count: int, dims: int = 40) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 4, count)
    centres = np.eye(4, dims) * 6.0
    scales = np.linspace(3.0, 0.3, dims)  # anisotropic, as real features are
    return centres[labels] + rng.normal(0, 1, (count, dims)) * scales, labels


def test_feature_gate_rejects_about_the_chosen_validation_share_and_far_points(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train, train_labels = gaussian_classes(rng, 4000)
    validation, _ = gaussian_classes(rng, 2000)
    gate = fit_feature_gate(train, train_labels, validation, components=20, validation_quantile=0.99)
    assert np.mean(gate.scores(validation) > 1.0) <= 0.011
    fresh, _ = gaussian_classes(rng, 2000)
    assert np.mean(gate.scores(fresh) > 1.0) < 0.03
    far = rng.normal(0, 1, (50, 40)) * 3.0 + 25.0
    assert np.all(gate.scores(far) > 1.0)
    gate.save(tmp_path / "ood.npz")
    np.testing.assert_allclose(FeatureGate.load(tmp_path / "ood.npz").scores(fresh), gate.scores(fresh), rtol=1e-4)


def test_ledoit_wolf_shrinkage_keeps_trace_and_makes_covariance_invertible() -> None:
    rng = np.random.default_rng(1)
    few = rng.normal(0, 1, (10, 30))  # fewer samples than dimensions: the sample covariance is singular
    centred = few - few.mean(axis=0)
    shrunk = ledoit_wolf_covariance(centred)
    assert np.trace(shrunk) == pytest.approx(np.trace(centred.T @ centred / 10))
    assert np.linalg.eigvalsh(shrunk).min() > 0
