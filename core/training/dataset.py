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

from core.model.labels import CLASSES

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
            stream = archive.extractfile(member)
            image = None if stream is None else cv2.imdecode(np.frombuffer(stream.read(), np.uint8),
                                                             cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise ValueError(f"{tar_path.name}:{member.name}: not a decodable image")
            images.append(image)
            labels.append(CLASSES.index(class_name))
            names.append(member.name)
    return ImageSet(np.stack(images), np.asarray(labels, np.int64), names)


def stratified_split(labels: np.ndarray, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train_indices, validation_indices): the same fraction of every class goes to validation."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    validation: list[int] = []
    for class_index in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == class_index))
        cut = int(round(len(members) * validation_fraction))
        validation.extend(members[:cut].tolist())
        train.extend(members[cut:].tolist())
    return np.sort(np.asarray(train)), np.sort(np.asarray(validation))


VALIDATION_FRACTION = 0.1


def train_validation_split(training: ImageSet, seed: int) -> tuple[ImageSet, ImageSet]:
    """The held-out validation part of Training (10%, stratified) and the rest, identical for every script."""
    train_idx, val_idx = stratified_split(training.labels, VALIDATION_FRACTION, seed)
    return training.subset(train_idx), training.subset(val_idx)


DEFAULT_EXTRA_TRAIN = DEFAULT_TAR.parents[1] / "extra-train"
EXTRA_VALIDATION_FRACTION = 0.15  # of the subjects of each extra source
# Within a class, each extra source gets up to this share of the draws (less for a source of under
# `FULL_SHARE_IMAGES` images, so ten images are not each seen thirty times an epoch); the official set gets the rest.
EXTRA_SOURCE_SHARE = 0.2
FULL_SHARE_IMAGES = 100


def read_folder(folder: Path) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Images of `<class>/<source>_<subject>_<...>.png` files, sorted by path: (images, labels, relative names)."""
    images, labels, names = [], [], []
    for path in sorted(folder.glob("*/*.png")):
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f"{path}: not a decodable image")
        images.append(image)
        labels.append(CLASSES.index(path.parent.name))
        names.append(f"{path.parent.name}/{path.name}")
    return images, np.asarray(labels, np.int64), names


def source_and_subject(name: str) -> tuple[str, str]:
    """('openneuro-ds002748', 'sub-01') from 'notumor/openneuro-ds002748_sub-01_ax_t1_101.png'."""
    source, subject = Path(name).name.split("_")[:2]
    return source, subject


def subject_split(names: list[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices with whole subjects on one side: `fraction` of each source's subjects held out."""
    keys = [source_and_subject(name) for name in names]
    rng = np.random.default_rng(seed)
    held_out: set[tuple[str, str]] = set()
    for source in sorted({source for source, _ in keys}):
        subjects = sorted({key for key in keys if key[0] == source})
        count = max(1, int(round(len(subjects) * fraction))) if len(subjects) > 1 else 0
        held_out.update(subjects[i] for i in rng.permutation(len(subjects))[:count])
    is_validation = np.asarray([key in held_out for key in keys])
    return np.flatnonzero(~is_validation), np.flatnonzero(is_validation)


@dataclass
class TrainingData:
    """Everything the trainer draws from: images of any size (uint8), labels, per-image draw weights, sources."""

    train_images: list[np.ndarray]
    train_labels: np.ndarray
    train_sources: list[str]
    train_weights: np.ndarray
    validation_images: list[np.ndarray]
    validation_labels: np.ndarray
    validation_sources: list[str]

    def summary(self) -> dict[str, object]:
        def counts(sources: list[str], labels: np.ndarray) -> dict[str, int]:
            keys = [f"{source}/{CLASSES[label]}" for source, label in zip(sources, labels)]
            return {key: keys.count(key) for key in sorted(set(keys))}
        return {"train": counts(self.train_sources, self.train_labels),
                "validation": counts(self.validation_sources, self.validation_labels)}


OFFICIAL_SOURCE = "brainmri256"


def draw_weights(labels: np.ndarray, sources: list[str]) -> np.ndarray:
    """Per-image weights: every class drawn equally often; within a class each extra source gets up to
    EXTRA_SOURCE_SHARE of the draws (the official set the rest), each image of a source equally often."""
    weights = np.zeros(len(labels))
    source_array = np.asarray(sources)
    for class_index in np.unique(labels):
        in_class = labels == class_index
        class_sources = sorted(set(source_array[in_class]))
        extra = [s for s in class_sources if s != OFFICIAL_SOURCE]
        shares = {s: EXTRA_SOURCE_SHARE * min(1.0, np.sum(in_class & (source_array == s)) / FULL_SHARE_IMAGES)
                  for s in extra}
        if OFFICIAL_SOURCE in class_sources:
            shares[OFFICIAL_SOURCE] = max(1.0 - sum(shares.values()), EXTRA_SOURCE_SHARE)
        total = sum(shares.values())
        for source, share in shares.items():
            members = in_class & (source_array == source)
            weights[members] = share / total / members.sum()
    return weights / weights.sum()


def training_data(tar_path: Path, extra_folder: Path | None, seed: int) -> TrainingData:
    """The official Training split (minus its validation part) plus every extra-train image of the training subjects;
    validation is the official validation part plus the held-out extra subjects. Testing is never read."""
    official_train, official_validation = train_validation_split(read_split(tar_path, "Training"), seed)
    train_images, train_labels = list(official_train.images), list(official_train.labels)
    train_sources = [OFFICIAL_SOURCE] * len(official_train)
    validation_images, validation_labels = list(official_validation.images), list(official_validation.labels)
    validation_sources = [OFFICIAL_SOURCE] * len(official_validation)
    if extra_folder is not None:
        images, labels, names = read_folder(extra_folder)
        train_idx, validation_idx = subject_split(names, EXTRA_VALIDATION_FRACTION, seed)
        for indices, image_list, label_list, source_list in (
                (train_idx, train_images, train_labels, train_sources),
                (validation_idx, validation_images, validation_labels, validation_sources)):
            image_list.extend(images[i] for i in indices)
            label_list.extend(labels[indices])
            source_list.extend(source_and_subject(names[i])[0] for i in indices)
    train_labels_array = np.asarray(train_labels, np.int64)
    weights = draw_weights(train_labels_array, train_sources)
    return TrainingData(train_images, train_labels_array, train_sources, weights,
                        validation_images, np.asarray(validation_labels, np.int64), validation_sources)
