"""The shipped classifier: manifest, integrity check, batch prediction with Grad-CAM and the out-of-distribution gate.

Importing this module never imports TensorFlow: `Classifier.manifest` is plain JSON, and Keras/TensorFlow are
imported inside `Classifier.load()` (the desktop calls it in a worker thread).

One forward pass per batch yields the Grad-CAM feature map, the logits and the pooled features. Grad-CAM for all
classes then differentiates only the small head (pooling + dense) from that feature map: for class c the channel
weights are the spatial mean of d logit_c / d A, the map is ReLU(sum_k w_k A_k) normalised to [0, 1] (an all-zero
map stays zero). Probabilities are softmax(logits / temperature) with the temperature fitted on validation data.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import ModelIntegrityError, ModelMissingError
from core.logging_setup import native_stderr_filtered, quiet_third_party_logging
from core.model import ood
from core.model.labels import CLASSES, DISPLAY_NAMES
from core.model.preprocess import (
    PREPROCESSING_ID,
    convex_hull,
    head_box,
    head_coverage,
    head_mask,
    to_gray_u8,
    to_image_space,
    to_model_batch,
)
from core.paths import models_dir

MANIFEST_NAME = "manifest.json"
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 71, 1024  # Xception's smallest input; anything larger is not a release of ours
TEMPERATURE_RANGE = (0.05, 20.0)  # the calibration search range (core.training.evaluate.fit_temperature)
# The sha256 of models/manifest.json as released and tested with this code. The manifest names every other file's
# sha256, so this one value pins the whole release: an edited manifest (class order, names, temperature, OOD gate)
# is refused for the shipped model folder just like tampered weights. Another folder (`--model-dir`, tests) is
# validated but not pinned.
RELEASED_MANIFEST_SHA256 = "4e92fd31c8b90f953263b981228c22e7beee3d184855aa349ae803ee2560b340"
PREDICT_BATCH = 4  # 2-core CPU, 256²: 9 slices in batches of 3–6 took ~1.7 s, in one batch of 9 ~2.2 s, singly ~1.8 s


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks (the weights are ~42 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_released_manifest(path: Path) -> None:
    """Refuse a shipped manifest that is not the released one (`RELEASED_MANIFEST_SHA256`)."""
    actual = file_sha256(path)
    if actual != RELEASED_MANIFEST_SHA256:
        raise ModelIntegrityError(path, f"the model manifest is not the one released with this application (sha256 "
                                        f"{actual[:12]}… instead of {RELEASED_MANIFEST_SHA256[:12]}…); it may have "
                                        "been edited or replaced, so the application refuses to use the model")


@dataclass(frozen=True)
class ModelManifest:
    """Everything the application needs to know about the shipped weights (models/manifest.json)."""

    name: str
    version: str
    classes: list[str]
    display_names: list[str]
    input_size: int
    preprocessing_id: str
    gradcam_layer: str
    temperature: float
    weights_file: str
    weights_sha256: str
    training_data_sha256: str
    created: str
    ood_file: str = ""  # feature-space OOD statistics (.npz); "" disables that stage
    ood_sha256: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    ood: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> "ModelManifest":
        """The manifest at `path`, validated (`problems`); a damaged or edited one raises ModelIntegrityError."""
        if not path.is_file():
            raise ModelMissingError(path, "the model manifest is missing; the model cannot be used")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = cls(**data)
        except (ValueError, TypeError) as error:
            raise ModelIntegrityError(path, f"the model manifest is unreadable ({error})") from error
        problems = manifest.problems()
        if problems:
            raise ModelIntegrityError(path, "the model manifest is not valid (" + "; ".join(problems) + "), so the "
                                            "application refuses to use the model; reinstall the application")
        return manifest

    def problems(self) -> list[str]:
        """Why this manifest must not be used (empty when it is valid): every value the verdict depends on is
        checked for type and range, and classes and display names must be the product's own table
        (core.model.labels)."""
        found = []
        text_fields = ("name", "version", "preprocessing_id", "gradcam_layer", "weights_file", "ood_file")
        found += [f"{name} must be a non-empty text" for name in text_fields
                  if not isinstance(getattr(self, name), str) or not getattr(self, name)]
        found += [f"{name} must be a sha256 (64 hex digits)" for name in ("weights_sha256", "ood_sha256")
                  if not (isinstance(getattr(self, name), str) and re.fullmatch(r"[0-9a-f]{64}", getattr(self, name)))]
        if list(self.classes) != list(CLASSES):
            found.append(f"classes must be {list(CLASSES)} in this order")
        if list(self.display_names) != list(DISPLAY_NAMES):
            found.append(f"display names must be {list(DISPLAY_NAMES)}")
        if not isinstance(self.input_size, int) or isinstance(self.input_size, bool) \
                or not MIN_INPUT_SIZE <= self.input_size <= MAX_INPUT_SIZE:
            found.append(f"input size must be a whole number from {MIN_INPUT_SIZE} to {MAX_INPUT_SIZE}")
        low, high = TEMPERATURE_RANGE
        if not isinstance(self.temperature, (int, float)) or isinstance(self.temperature, bool) \
                or not math.isfinite(self.temperature) or not low <= self.temperature <= high:
            found.append(f"temperature must be a number from {TEMPERATURE_RANGE[0]} to {TEMPERATURE_RANGE[1]}")
        return found

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass(frozen=True, eq=False)
class SlicePrediction:
    """The model's answer for one slice. `label` is None when the input is out of distribution (`ood_reason` says
    why). `ood_score` is the feature-space distance relative to the rejection threshold (above 1 = rejected by that
    stage; NaN when the model ships no feature statistics). `cams` holds one [0, 1] map per class over the whole
    display image (`on_the_head`: the network's feature map placed back where the head crop came from, 64 cells on
    the image's longest side, shown over the head only)."""

    probabilities: np.ndarray
    label: str | None
    ood_reason: str
    ood_score: float
    cams: np.ndarray

    @property
    def predicted_index(self) -> int:
        return int(np.argmax(self.probabilities))

    def cam_for(self, class_index: int) -> np.ndarray:
        return self.cams[class_index]


def on_the_head(maps: np.ndarray, display: np.ndarray) -> np.ndarray:
    """Grad-CAM maps over the model's head crop, placed back on the display image and shown over the head only,
    each renormalised to a peak of 1 (an all-zero map stays zero)."""
    mask = head_mask(to_gray_u8(display))  # once for both: the crop's box and the head's hull
    placed = to_image_space(maps, display.shape[:2], head_box(mask))
    if placed.size == 0:
        return placed
    placed *= head_coverage(convex_hull(mask), placed.shape[1:])
    peaks = placed.max(axis=(1, 2), keepdims=True)
    return np.where(peaks > 0, placed / np.maximum(peaks, 1e-12), 0.0).astype(np.float32)


def softmax_with_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exponentials = np.exp(scaled)
    return (exponentials / exponentials.sum(axis=-1, keepdims=True)).astype(np.float32)


class Network:
    """A Keras model wrapped in two compiled functions: forward only (logits, pooled features) and forward +
    Grad-CAM (logits, pooled features, (B, K, h, w) maps). Evaluation uses it too, so both see the same computation."""

    def __init__(self, keras_model: Any, gradcam_layer: str, input_size: int) -> None:
        import keras
        import tensorflow as tf

        feature_map = keras_model.get_layer(gradcam_layer).output
        self._backbone_and_logits = keras.Model(keras_model.input, [feature_map, keras_model.output])
        self._head = keras.Model(feature_map, keras_model.output)
        signature = [tf.TensorSpec([None, input_size, input_size, 3], tf.float32)]
        # autograph=False: both are plain graph code, and AutoGraph would look for their source, which a frozen
        # (PyInstaller) build does not ship, warning on every start.
        self.forward = tf.function(self._forward, input_signature=signature, autograph=False)
        self.forward_with_cams = tf.function(self._forward_with_cams, input_signature=signature, autograph=False)

    def _forward(self, batch: Any) -> tuple[Any, Any]:
        import tensorflow as tf

        feature_map, logits = self._backbone_and_logits(batch, training=False)
        return logits, tf.reduce_mean(feature_map, axis=[1, 2])

    def _forward_with_cams(self, batch: Any) -> tuple[Any, Any, Any]:
        import tensorflow as tf

        feature_map, logits = self._backbone_and_logits(batch, training=False)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(feature_map)
            head_logits = self._head(feature_map, training=False)
            class_logits = [head_logits[:, k] for k in range(head_logits.shape[1])]
        # Samples are independent in inference mode, so the gradient of a batch column is per-sample.
        gradients = tf.stack([tape.gradient(column, feature_map) for column in class_logits], axis=1)
        del tape
        channel_weights = tf.reduce_mean(gradients, axis=[2, 3])  # (B, K, C)
        cams = tf.nn.relu(tf.einsum("bhwc,bkc->bkhw", feature_map, channel_weights))
        peaks = tf.reduce_max(cams, axis=[2, 3], keepdims=True)
        cams = cams / tf.maximum(peaks, 1e-12)  # an all-zero map stays zero
        return logits, tf.reduce_mean(feature_map, axis=[1, 2]), cams


class Classifier:
    """Loads the shipped model once and predicts batches of display images. Safe to call from worker threads (calls
    are serialised)."""

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else models_dir()
        self._manifest: ModelManifest | None = None
        self._network: Network | None = None
        self._feature_gate: ood.FeatureGate | None = None
        self._lock = threading.Lock()

    @property
    def manifest(self) -> ModelManifest:
        if self._manifest is None:
            path = self.model_dir / MANIFEST_NAME
            manifest = ModelManifest.read(path)
            if self.model_dir.resolve() == models_dir().resolve():
                verify_released_manifest(path)
            self._manifest = manifest
        return self._manifest

    @property
    def is_loaded(self) -> bool:
        return self._network is not None

    def load(self) -> None:
        """Verify the files against the manifest, then import TensorFlow and build the network (a few seconds)."""
        self._loaded_network()

    def _loaded_network(self) -> Network:
        with self._lock:
            if self._network is None:
                self._network = self._build_network()
            return self._network

    def _build_network(self) -> Network:
        manifest = self.manifest
        if manifest.preprocessing_id != PREPROCESSING_ID:
            raise ModelIntegrityError(self.model_dir / MANIFEST_NAME,
                                      f"the model expects preprocessing '{manifest.preprocessing_id}' but this "
                                      f"application implements '{PREPROCESSING_ID}'")
        weights_path = self._verified_file(manifest.weights_file, manifest.weights_sha256, "weights")
        if manifest.ood_file:
            gate_path = self._verified_file(manifest.ood_file, manifest.ood_sha256, "out-of-distribution statistics")
            self._feature_gate = ood.FeatureGate.load(gate_path)
        quiet_third_party_logging()
        with native_stderr_filtered():  # TensorFlow's C++ start-up lines, which some builds print at any log level
            from core.model.network import build_model, load_weights_npz

            keras_model = build_model(manifest.input_size, num_classes=len(manifest.classes))
            load_weights_npz(keras_model, weights_path)
            network = Network(keras_model, manifest.gradcam_layer, manifest.input_size)
            network.forward_with_cams(np.zeros((1, manifest.input_size, manifest.input_size, 3), np.float32))
        return network

    def _verified_file(self, name: str, expected_sha256: str, what: str) -> Path:
        path = self.model_dir / name
        if not path.is_file():
            raise ModelMissingError(path, f"the model {what} file is missing; reinstall the application")
        actual = file_sha256(path)
        if actual != expected_sha256:
            raise ModelIntegrityError(path, f"the model {what} file does not match the manifest (sha256 {actual[:12]}… "
                                            f"instead of {expected_sha256[:12]}…); it may be damaged or replaced, so "
                                            "the application refuses to use it")
        return path

    def predict(self, images: Sequence[np.ndarray], with_cams: bool = True) -> list[SlicePrediction]:
        """One prediction per uint8 display image (gray or RGB, any size). `with_cams=False` skips Grad-CAM (the
        maps are then empty, shape (K, 0, 0)); the application always wants them."""
        network = self._loaded_network()
        with self._lock:
            predictions: list[SlicePrediction] = []
            for start in range(0, len(images), PREDICT_BATCH):
                predictions.extend(self._predict_batch(network, images[start:start + PREDICT_BATCH], with_cams))
            return predictions

    def _predict_batch(self, network: Network, images: Sequence[np.ndarray],
                       with_cams: bool) -> list[SlicePrediction]:
        manifest = self.manifest
        batch = to_model_batch(list(images), manifest.input_size)
        if with_cams:
            logits, pooled, cams = (t.numpy() for t in network.forward_with_cams(batch))
        else:
            logits, pooled = (t.numpy() for t in network.forward(batch))
            cams = np.zeros((len(images), len(manifest.classes), 0, 0), np.float32)
        probabilities = softmax_with_temperature(logits, manifest.temperature)
        scores = (self._feature_gate.scores(pooled) if self._feature_gate is not None
                  else np.full(len(images), np.nan))
        predictions = []
        for image, probs, score, maps in zip(images, probabilities, scores, cams):
            maps = on_the_head(maps, image)
            reason = ood.rejection_reason(image, float(score))
            label = None if reason else manifest.classes[int(np.argmax(probs))]
            predictions.append(SlicePrediction(probabilities=probs, label=label,
                                               ood_reason=f"{ood.OOD_MESSAGE} ({reason})" if reason else "",
                                               ood_score=float(score), cams=maps.astype(np.float32)))
        return predictions
