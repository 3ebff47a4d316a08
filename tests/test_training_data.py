"""Training data and augmentation: subject-wise splits, balanced draws, and augmentations that keep the image an
8-bit slice while varying what differs between sources (framing, skull, contrast, quality)."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.preprocess import head_mask, to_model_gray
from core.training.augment import AugmentSettings, augment_display, skull_strip, training_gray
from core.training.dataset import (
    CLASSES,
    EXTRA_SOURCE_SHARE,
    OFFICIAL_SOURCE,
    draw_weights,
    source_and_subject,
    subject_split,
)
from tests.test_preprocess import textured_head

NOTUMOR = CLASSES.index("notumor")


def test_names_give_source_and_subject() -> None:
    assert source_and_subject("notumor/openneuro-ds002748_sub-01_ax_t1_101.png") == ("openneuro-ds002748", "sub-01")


def test_subject_split_keeps_every_subject_on_one_side() -> None:
    names = [f"notumor/src{s}_sub-{k:02d}_ax_t1_{i}.png" for s in (1, 2) for k in range(20) for i in range(5)]
    train, validation = subject_split(names, 0.15, seed=3)
    train_subjects = {source_and_subject(names[i]) for i in train}
    validation_subjects = {source_and_subject(names[i]) for i in validation}
    assert not train_subjects & validation_subjects
    assert len(train) + len(validation) == len(names)
    assert {source for source, _ in validation_subjects} == {"src1", "src2"}  # every source is validated
    assert len(validation_subjects) == 6  # 15% of 20 subjects, rounded, per source


def test_draws_are_balanced_over_classes_and_a_large_extra_source_gets_its_share() -> None:
    labels = np.array([0] * 100 + [1] * 300 + [2] * 400 + [2] * 800 + [2] * 10 + [3] * 50)
    sources = [OFFICIAL_SOURCE] * 800 + ["big"] * 800 + ["tiny"] * 10 + [OFFICIAL_SOURCE] * 50
    weights = draw_weights(labels, sources)
    assert weights.sum() == pytest.approx(1.0)
    for k in range(4):
        assert weights[labels == k].sum() == pytest.approx(0.25)
    source_array = np.asarray(sources)
    assert weights[source_array == "big"].sum() == pytest.approx(0.25 * EXTRA_SOURCE_SHARE)
    assert weights[source_array == "tiny"].sum() < weights[source_array == "big"].sum() / 5  # 10 images
    assert np.ptp(weights[source_array == "big"]) == 0  # images of a source equally often


def test_augmentation_is_reproducible_and_keeps_an_8_bit_slice() -> None:
    head = textured_head(300)
    first = [augment_display(head, np.random.default_rng(seed)) for seed in range(20)]
    again = [augment_display(head, np.random.default_rng(seed)) for seed in range(20)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.uint8 and a.ndim == 2
    assert len({image.tobytes() for image in first}) == 20  # every draw differs


def test_skull_strip_removes_the_rim_and_keeps_the_centre() -> None:
    head = textured_head()
    stripped = skull_strip(head, np.random.default_rng(0), (0.08, 0.08))
    assert stripped[128, 128] == head[128, 128]
    assert head_mask(stripped).sum() < 0.8 * head_mask(head).sum()
    assert stripped[128, 39] == 0 and head[128, 39] > 100  # the bright scalp ring at the side is gone


def test_every_transform_alone_gives_a_valid_training_input() -> None:
    head = textured_head(280)
    always = dict(strip_probability=1.0, quarter_turn_probability=1.0, elastic_probability=1.0,
                  curve_probability=1.0, bias_probability=1.0, invert_probability=1.0, blur_probability=1.0,
                  noise_probability=1.0, resample_probability=1.0, jpeg_probability=1.0)
    for name in always:
        settings = AugmentSettings(**{key: (1.0 if key == name else 0.0) for key in always})
        gray = training_gray(head, np.random.default_rng(1), 96, settings)
        assert gray.shape == (96, 96) and gray.dtype == np.float32, name
        assert 0.0 <= gray.min() and gray.max() <= 1.0 and gray.std() > 0.05, name
    untouched = AugmentSettings(**{key: 0.0 for key in always}, flip_probability=0.0, rotation_degrees=0.0,
                                framing_scale=0.0, framing_shift=0.0)
    np.testing.assert_allclose(training_gray(head, np.random.default_rng(1), 96, untouched),
                               to_model_gray(head, 96), atol=1e-6)
