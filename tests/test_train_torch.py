"""The PyTorch trainer's pieces: reproducible epoch draws, augmented batches (thread or processes), Keras-layout
weights loaded back, and BatchNorm statistics re-estimated exactly
(needs the `train` extra; skipped without PyTorch)."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core.training.augment import AugmentSettings  # noqa: E402
from core.training.train_torch import (  # noqa: E402
    Phase,
    XceptionTwin,
    augmentation_pool,
    augmented_batches,
    epoch_draws,
    export_keras_npz,
    keras_arrays,
    load_keras_npz,
    parse_phases,
    reestimate_batchnorm,
)
from tests.test_preprocess import textured_head  # noqa: E402


def test_phases_parse_with_and_without_an_image_count() -> None:
    assert parse_phases("128:6:32,256:1:16:1200") == [Phase(128, 6, 32), Phase(256, 1, 16, 1200)]


def test_epoch_draws_follow_the_weights_and_repeat_for_the_same_epoch() -> None:
    weights = np.array([0.0, 1.0, 3.0])
    draws = epoch_draws(weights, 4000, seed=7, epoch=2)
    assert draws == epoch_draws(weights, 4000, seed=7, epoch=2)
    assert draws != epoch_draws(weights, 4000, seed=7, epoch=3)
    counts = np.bincount([index for index, _ in draws], minlength=3)
    assert counts[0] == 0 and 2.6 < counts[2] / counts[1] < 3.4


@pytest.mark.parametrize("workers", [0, 2])
def test_augmented_batches_come_in_order_with_their_labels(workers: int) -> None:
    images = [textured_head(200, seed) for seed in range(3)]
    labels = np.array([0, 1, 2])
    draws = epoch_draws(np.ones(3), 10, seed=1, epoch=0)
    with augmentation_pool(images, labels, workers) as pool:
        batches = list(augmented_batches(pool, draws, 64, batch=4, ahead=3))
        again = list(augmented_batches(pool, draws, 64, batch=4, ahead=1))
    assert len(batches) == 2  # the incomplete last batch is dropped
    for number, (gray, batch_labels) in enumerate(batches):
        assert gray.shape == (4, 1, 64, 64) and gray.dtype == torch.float32
        assert batch_labels.tolist() == [labels[i] for i, _ in draws[number * 4:(number + 1) * 4]]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))
    with augmentation_pool(images, labels, 0) as thread:
        assert torch.equal(next(augmented_batches(thread, draws, 64, batch=4, ahead=1))[0], batches[0][0])


@pytest.mark.parametrize("workers", [0, 1])
def test_augmented_batches_use_the_settings_they_are_given(workers: int) -> None:
    """`--quarter-turn-probability` reaches the augmentation, in a thread and in a spawned process alike."""
    images, labels = [textured_head(200, 3)], np.array([0])
    draws = epoch_draws(np.ones(1), 8, seed=1, epoch=0)
    untouched = AugmentSettings(**{field.name: 0.0 for field in fields(AugmentSettings)
                                   if field.name.endswith("_probability")}, rotation_degrees=0.0, framing_scale=0.0,
                                framing_shift=0.0)
    turned = replace(untouched, quarter_turn_probability=1.0)
    with augmentation_pool(images, labels, workers) as pool:
        plain = next(augmented_batches(pool, draws, 64, batch=8, ahead=1, settings=untouched))[0]
        rotated = next(augmented_batches(pool, draws, 64, batch=8, ahead=1, settings=turned))[0]
    assert all(torch.equal(image, plain[0]) for image in plain)  # nothing random left
    assert not any(torch.equal(image, plain[0]) for image in rotated)  # every image turned by 90, 180 or 270°


def test_keras_layout_weights_load_back_into_the_twin(tmp_path: Path) -> None:
    torch.manual_seed(0)
    original, loaded = XceptionTwin(), XceptionTwin()
    export_keras_npz(original, tmp_path / "w.npz")
    load_keras_npz(loaded, tmp_path / "w.npz")
    for key, value in keras_arrays(original).items():
        np.testing.assert_allclose(keras_arrays(loaded)[key], value.astype(np.float16), rtol=0, atol=0)


def test_batchnorm_statistics_are_the_average_over_the_calibration_batches() -> None:
    torch.manual_seed(0)
    model = XceptionTwin()
    images = [textured_head(96, seed) for seed in range(8)]
    reestimate_batchnorm(model, images, 64, seed=0, batches=2, batch=4)
    first = model.layers["block1_conv1_bn"]
    assert first.num_batches_tracked == 2 and first.momentum == 0.1
    assert float(first.running_var.min()) > 0 and float(first.running_mean.abs().sum()) > 0
