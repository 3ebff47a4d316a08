"""Typed test doubles for the model and loader objects that analysis, report and export consume.

They follow the attributes DESIGN.md gives `core.model.classifier.SlicePrediction`, `ModelManifest` and
`core.io.load.Slice`, so
the aggregation and layout tests run in milliseconds without TensorFlow; the end-to-end tests use the real classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.analysis.results import SliceResult, StudyResult, aggregate
from core.errors import UnreadableFileError

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


@dataclass
class PredictionDouble:
    probabilities: np.ndarray
    label: str | None
    ood_reason: str = ""
    ood_score: float = 0.0
    cams: np.ndarray = field(default_factory=lambda: np.zeros((4, 8, 8), dtype=np.float32))

    @property
    def predicted_index(self) -> int:
        return int(np.argmax(self.probabilities))

    def cam_for(self, class_index: int) -> np.ndarray:
        return self.cams[class_index]


@dataclass
class ManifestDouble:
    name: str = "xception-brainmri"
    version: str = "1.2.0"
    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    display_names: list[str] = field(default_factory=lambda: ["Glioma", "Meningioma", "No tumour", "Pituitary tumour"])
    weights_sha256: str = "ab12cd34" * 8


def blob_cam(row: float, col: float, size: int = 8) -> np.ndarray:
    centres = (np.arange(size) + 0.5) / size
    rr, cc = np.meshgrid(centres, centres, indexing="ij")
    cam = np.exp(-((rr - row) ** 2 + (cc - col) ** 2) / 0.02)
    return (cam / cam.max()).astype(np.float32)


def prediction(probabilities: Sequence[float], ood_reason: str = "", peak: tuple[float, float] = (0.3, 0.25)
               ) -> PredictionDouble:
    """An in-distribution prediction (or OOD when `ood_reason` is given) whose CAMs all peak at `peak`."""
    probs = np.asarray(probabilities, dtype=np.float64)
    label = None if ood_reason else CLASSES[int(np.argmax(probs))]
    cams = np.stack([blob_cam(*peak)] * len(CLASSES))
    return PredictionDouble(probs, label, ood_reason=ood_reason, ood_score=9.0 if ood_reason else 1.0, cams=cams)


def head_phantom(size: int = 256) -> np.ndarray:
    """A grey ellipse on black, enough to look like a slice in a rendered report."""
    rr, cc = np.mgrid[0:size, 0:size] / size - 0.5
    head = ((rr / 0.42) ** 2 + (cc / 0.36) ** 2) < 1.0
    texture = 110 + 60 * np.sin(rr * 40) * np.cos(cc * 30)
    return np.where(head, texture, 0).astype(np.uint8)


def slice_result(index: int, pred: PredictionDouble | None, error: str = "") -> SliceResult:
    display = None if pred is None else head_phantom()
    return SliceResult(f"slice_{index:03d}.dcm", index, display, pred, source_path=Path(f"/data/slice_{index:03d}.dcm"),
                       error=error)


def study_result(probability_rows: Sequence[Sequence[float]], series_info=None) -> StudyResult:
    results = [slice_result(i, prediction(row)) for i, row in enumerate(probability_rows)]
    return aggregate(results, ManifestDouble(), series_info=series_info)


@dataclass
class SliceDouble:
    """A loader slice whose `display()` returns `image`, or raises when `image` is None."""

    index: int
    image: np.ndarray | None
    path: Path = Path("/data/slice.dcm")
    named_by_file: bool = True
    orientation: tuple[float, ...] | None = None

    @property
    def label(self) -> str:
        return f"slice_{self.index:03d}.dcm"

    def display(self, window=None) -> np.ndarray:
        if self.image is None:
            raise UnreadableFileError(self.path, "pixel data is truncated")
        return self.image


class ClassifierDouble:
    """Returns the queued predictions in order and records what it was asked to classify."""

    def __init__(self, predictions: Sequence[PredictionDouble]) -> None:
        self.manifest = ManifestDouble()
        self._queue = list(predictions)
        self.seen: list[np.ndarray] = []
        self.batch_sizes: list[int] = []  # how many images each call asked for

    def predict(self, images: Sequence[np.ndarray]) -> list[PredictionDouble]:
        self.seen.extend(images)
        self.batch_sizes.append(len(images))
        return [self._queue.pop(0) for _ in images]
