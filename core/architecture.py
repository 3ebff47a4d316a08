"""The classifier network: the Keras `applications.Xception` topology with a 4-way head, and its weight storage.

Weights are stored as a float16 `.npz` keyed by each variable's path so the file is half the float32 size and can be
written by any framework (the PyTorch training twin writes the same keys). Importing this module imports Keras, so
only `core.model.Classifier.load` and training code import it.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

GRADCAM_LAYER = "block14_sepconv2_act"
LOGITS_LAYER = "logits"


def build_model(input_size: int = 256, num_classes: int = 4, dropout: float = 0.3) -> keras.Model:
    """Xception backbone (no top, random init: nothing is ever downloaded) + global average pooling + dropout + logits."""
    inputs = keras.Input(shape=(input_size, input_size, 3), name="image")
    backbone = keras.applications.Xception(include_top=False, weights=None, input_tensor=inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(backbone.output)
    dropped = keras.layers.Dropout(dropout, name="head_dropout")(pooled)
    logits = keras.layers.Dense(num_classes, name=LOGITS_LAYER)(dropped)
    return keras.Model(inputs, logits, name="xception_brainmri")


def save_weights_npz(model: keras.Model, path: Path) -> None:
    """Write every variable (trainable and BatchNorm statistics) as float16, keyed by variable path."""
    arrays = {variable.path: np.asarray(variable.numpy(), dtype=np.float16) for variable in model.variables}
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_weights_npz(model: keras.Model, path: Path) -> None:
    """Assign weights written by `save_weights_npz`; every model variable must be present with its exact shape."""
    with np.load(path) as stored:
        missing = [variable.path for variable in model.variables if variable.path not in stored]
        if missing:
            raise KeyError(f"{path.name} lacks {len(missing)} variables, e.g. {missing[:3]}")
        for variable in model.variables:
            value = stored[variable.path]
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"{path.name}: {variable.path} has shape {value.shape}, expected {variable.shape}")
            variable.assign(value.astype(np.float32))
