"""Reading the 256×256 WebP training set tar and splitting it reproducibly.

Members are `Training|Testing/<class>/<name>.webp`. A stratified validation part is held out of Training with a fixed
seed; Testing is never used for tuning (temperature, OOD threshold and checkpoint choice all use validation).
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
DEFAULT_TAR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "brain-mri-256" / "brainmri256.tar"


@dataclass(frozen=True)
class ImageSet:
    """Images (N, 256, 256) uint8, integer labels (N,) indexing CLASSES, and member names for traceability."""

    images: np.ndarray
    labels: np.ndarray
    names: list[str]

    def subset(self, indices: np.ndarray) -> "ImageSet":
        return ImageSet(self.images[indices], self.labels[indices], [self.names[i] for i in indices])

    def __len__(self) -> int:
        return len(self.labels)


def read_split(tar_path: Path, split: str) -> ImageSet:
    """All images of one official split ("Training" or "Testing"), sorted by member name for determinism."""
    images, labels, names = [], [], []
    with tarfile.open(tar_path) as archive:
        members = sorted((m for m in archive.getmembers() if m.isfile() and m.name.startswith(f"{split}/")),
                         key=lambda m: m.name)
        for member in members:
            class_name = member.name.split("/")[1]
            data = np.frombuffer(archive.extractfile(member).read(), np.uint8)
            image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise ValueError(f"{tar_path.name}:{member.name}: not a decodable image")
            images.append(image)
            labels.append(CLASSES.index(class_name))
            names.append(member.name)
    return ImageSet(np.stack(images), np.asarray(labels, np.int64), names)


def stratified_split(labels: np.ndarray, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train_indices, validation_indices): the same fraction of every class goes to validation."""
    rng = np.random.default_rng(seed)
    train, validation = [], []
    for class_index in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == class_index))
        cut = int(round(len(members) * validation_fraction))
        validation.extend(members[:cut])
        train.extend(members[cut:])
    return np.sort(np.asarray(train)), np.sort(np.asarray(validation))


VALIDATION_FRACTION = 0.1


def train_validation_split(training: ImageSet, seed: int) -> tuple[ImageSet, ImageSet]:
    """The held-out validation part of Training (10%, stratified) and the rest, identical for every script."""
    train_idx, val_idx = stratified_split(training.labels, VALIDATION_FRACTION, seed)
    return training.subset(train_idx), training.subset(val_idx)
