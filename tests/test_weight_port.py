"""The PyTorch training twin and its exporter reproduce the Keras model (random weights, CPU, no GPU needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core.model.network import build_model, load_weights_npz, storage_keys  # noqa: E402
from core.training.train_torch import XceptionTwin, export_keras_npz, keras_arrays, tf_same_padding  # noqa: E402

INPUT_SIZE = 96  # small, and its 12→6 and 6→3 poolings exercise TensorFlow's asymmetric "same" padding


@pytest.fixture(scope="module")
def twin() -> XceptionTwin:
    """Random weights with BatchNorm statistics measured on random inputs (as training leaves them), so the output
    depends on the input; random running statistics would saturate the deep network into a near-constant output."""
    torch.manual_seed(0)
    model = XceptionTwin()
    batch_norms = [module for module in model.modules() if isinstance(module, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for module in batch_norms:
            module.weight.copy_(0.5 + torch.rand(module.num_features))
            module.bias.copy_(0.2 * torch.randn(module.num_features))
            module.momentum = None  # cumulative average over the calibration batch
            module.reset_running_stats()
        model.train()
        model(torch.rand(8, 3, INPUT_SIZE, INPUT_SIZE) * 2 - 1)
    return model.eval()


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    return np.random.default_rng(2).uniform(-1, 1, (2, INPUT_SIZE, INPUT_SIZE, 3)).astype(np.float32)


def twin_logits(model: XceptionTwin, inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(inputs).permute(0, 3, 1, 2)).numpy()


def test_same_padding_matches_tensorflow() -> None:
    assert tf_same_padding(12, 3, 2) == (0, 1)  # the odd pixel goes to the bottom/right
    assert tf_same_padding(125, 3, 2) == (1, 1)
    assert tf_same_padding(16, 1, 2) == (0, 0)


def test_exported_keys_and_shapes_are_the_keras_ones(twin: XceptionTwin) -> None:
    keras_model = build_model(INPUT_SIZE)
    expected = {key: tuple(variable.shape) for key, variable in storage_keys(keras_model).items()}
    exported = {key: value.shape for key, value in keras_arrays(twin).items()}
    assert exported == expected


def test_ported_keras_model_matches_the_twin(twin: XceptionTwin, inputs: np.ndarray, tmp_path: Path) -> None:
    float32_file = tmp_path / "weights32.npz"
    np.savez(float32_file, **keras_arrays(twin))
    keras_model = build_model(INPUT_SIZE)
    load_weights_npz(keras_model, float32_file)
    expected = twin_logits(twin, inputs)
    ported = np.asarray(keras_model(inputs, training=False))
    scale = float(np.abs(expected).max())
    assert np.abs(expected[0] - expected[1]).max() > 0.05 * scale, "the check needs input-dependent outputs"
    np.testing.assert_allclose(ported, expected, rtol=1e-4, atol=1e-4 * scale)
    assert np.array_equal(ported.argmax(1), expected.argmax(1))


def test_float16_export_loads_and_stays_close(twin: XceptionTwin, inputs: np.ndarray, tmp_path: Path) -> None:
    export_keras_npz(twin, tmp_path / "weights.npz")
    keras_model = build_model(INPUT_SIZE)
    load_weights_npz(keras_model, tmp_path / "weights.npz")
    expected = twin_logits(twin, inputs)
    ported = np.asarray(keras_model(inputs, training=False))
    assert np.abs(ported - expected).max() <= 0.02 * np.abs(expected).max()
