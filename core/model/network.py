"""The classifier network: the Keras `applications.Xception` topology with a 4-way head, and its weight storage.

Weights are stored as a float16 `.npz` keyed by each variable's path so the file is half the float32 size and can be
written by any framework (the PyTorch training twin writes the same keys). Keras names the layers it does not name
explicitly (the residual `conv2d`/`batch_normalization` layers, the dropout's `seed_generator`) with a per-process
counter, so a second model built in the same process gets `conv2d_4`...; storage keys renumber those from zero in
model order, which is what a fresh process names them. Importing this module imports Keras, so
only `core.model.classifier.Classifier.load` and training code import it.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np

GRADCAM_LAYER = "block14_sepconv2_act"
LOGITS_LAYER = "logits"


def build_model(input_size: int = 256, num_classes: int = 4, dropout: float = 0.3) -> keras.Model:
    """Xception backbone (no top, random init: nothing is ever downloaded) + global average pooling + dropout +
    logits."""
    inputs = keras.Input(shape=(input_size, input_size, 3), name="image")
    backbone = keras.applications.Xception(include_top=False, weights=None, input_tensor=inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(backbone.output)
    dropped = keras.layers.Dropout(dropout, name="head_dropout")(pooled)
    logits = keras.layers.Dense(num_classes, name=LOGITS_LAYER)(dropped)
    return keras.Model(inputs, logits, name="xception_brainmri")


AUTO_NAMED = re.compile(r"^(conv2d|batch_normalization|seed_generator)(?:_\d+)?(/.*)$")


def storage_keys(model: keras.Model) -> dict[str, keras.Variable]:
    """Each variable under its process-independent key (its path, with auto-numbered layer names renumbered)."""
    renamed: dict[str, str] = {}
    counts: dict[str, int] = {}
    keyed = {}
    for variable in model.variables:
        match = AUTO_NAMED.match(variable.path)
        if match is None:
            keyed[variable.path] = variable
            continue
        base, rest = match.group(1), match.group(2)
        prefix = variable.path[: len(variable.path) - len(rest)]
        if prefix not in renamed:
            count = counts.get(base, 0)
            renamed[prefix] = base if count == 0 else f"{base}_{count}"
            counts[base] = count + 1
        keyed[renamed[prefix] + rest] = variable
    return keyed


def save_weights_npz(model: keras.Model, path: Path) -> None:
    """Write every variable (trainable and BatchNorm statistics), floating point ones as float16."""
    arrays = {}
    for key, variable in storage_keys(model).items():
        value = np.asarray(variable.numpy())
        arrays[key] = value.astype(np.float16) if np.issubdtype(value.dtype, np.floating) else value
    with open(path, "wb") as handle:
        # a ** mapping may hold "allow_pickle" for all mypy knows (typed bool); these keys are weight names
        np.savez(handle, **arrays)  # type: ignore[arg-type]


def load_weights_npz(model: keras.Model, path: Path) -> None:
    """Assign weights written by `save_weights_npz`; every model variable must be present with its exact shape."""
    keyed = storage_keys(model)
    with np.load(path) as stored:
        missing = [key for key in keyed if key not in stored]
        if missing:
            raise KeyError(f"{path.name} lacks {len(missing)} variables, e.g. {missing[:3]}")
        for key, variable in keyed.items():
            value = stored[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"{path.name}: {key} has shape {value.shape}, expected {variable.shape}")
            variable.assign(value.astype(variable.dtype))
