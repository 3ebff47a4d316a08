"""Model fixtures shared by the model tests (loaded as a plugin, so each session-scoped model is built once).

`tiny_model_dir` is a random-weight model at the smallest Xception input (71²) written exactly as the shipped model is
(float16 npz + OOD statistics + manifest with sha256), so it exercises the real loading code without the shipped
weights. `shipped_classifier` is the model in models/, skipped when it has not been produced yet.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.model import ood
from core.model.classifier import MANIFEST_NAME, Classifier, ModelManifest, file_sha256
from core.model.labels import CLASSES, DISPLAY_NAMES
from core.model.preprocess import PREPROCESSING_ID
from core.paths import models_dir

TINY_INPUT_SIZE = 71
FEATURE_DIMS = 2048


def write_tiny_model(folder: Path, temperature: float = 1.0, seed: int = 7, input_size: int = TINY_INPUT_SIZE
                     ) -> ModelManifest:
    """Random-weight model files in `folder`; the OOD gate accepts every feature vector (threshold far away).
    Also used with `input_size=256` to time the real topology before trained weights exist."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    from core.model.network import GRADCAM_LAYER, build_model, save_weights_npz

    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = build_model(input_size)
    for variable in model.variables:  # non-trivial BatchNorm statistics, as in a trained model
        if variable.path.endswith("moving_mean"):
            variable.assign(np.random.default_rng(seed).normal(0, 0.1, variable.shape))
    save_weights_npz(model, folder / "weights.npz")
    components = 8
    gate = ood.FeatureGate(feature_mean=np.zeros(FEATURE_DIMS), components=np.eye(components, FEATURE_DIMS),
                           class_means=np.zeros((len(CLASSES), components)), precision=np.eye(components),
                           threshold=1e6)
    gate.save(folder / "ood.npz")
    manifest = ModelManifest(
        name="tiny-test-model", version="0", classes=list(CLASSES), display_names=list(DISPLAY_NAMES),
        input_size=input_size, preprocessing_id=PREPROCESSING_ID, gradcam_layer=GRADCAM_LAYER,
        temperature=temperature, weights_file="weights.npz", weights_sha256=file_sha256(folder / "weights.npz"),
        training_data_sha256="", created="test", ood_file="ood.npz", ood_sha256=file_sha256(folder / "ood.npz"))
    manifest.write(folder / MANIFEST_NAME)
    return manifest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_model")
    write_tiny_model(folder)
    return folder


@pytest.fixture
def tampered_model_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model whose weights differ in one byte (same size, so only the sha256 check notices)."""
    folder = tmp_path / "tampered-model"
    shutil.copytree(tiny_model_dir, folder)
    with (folder / "weights.npz").open("r+b") as weights:
        weights.seek(1000)
        byte = weights.read(1)
        weights.seek(1000)
        weights.write(bytes([byte[0] ^ 0xFF]))
    return folder


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model_dir: Path) -> Classifier:
    classifier = Classifier(tiny_model_dir)
    classifier.load()
    return classifier


@pytest.fixture(scope="session")
def shipped_classifier() -> Classifier:
    if not (models_dir() / MANIFEST_NAME).is_file():
        pytest.skip("models/manifest.json has not been produced yet (run core.training.evaluate)")
    classifier = Classifier()
    classifier.load()
    return classifier
