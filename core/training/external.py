"""Generalisation measures: external evaluation-only sets and stress tests on the official Testing split.

External sets are the folders of `../shared/data` whose README marks them "evaluation only"; their files are named
`<class>/<source>_<case>_<plane>_<sequence>_<slice>.png`. Each image is opened the way the application opens it
(`core.io.load.load_study` → `Slice.display()`), so the figures are what a user would get. For every set, each class
gets counts with Wilson 95% intervals for:

- *detection*: a tumour image called any tumour class (for "no tumour" images: called "no tumour", i.e. specificity);
- *typing*: the exact class;
- the confidence of wrong "no tumour" answers on tumour images (a confident miss is the worst error here);

overall and per sequence and plane. Stress tests re-measure accuracy on a fixed stratified subset of Testing after
one degradation each (gamma 0.5 and 2.0, blur, noise, half resolution, black padding, a 90° rotation) and report the
drop from the same subset's clean accuracy.

    python -m core.training.external --torch-checkpoint run/model.pt --input-size 256   # quick look, PyTorch twin
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.training.dataset import CLASSES, DEFAULT_TAR, ImageSet, read_split

NOTUMOR = CLASSES.index("notumor")
DATA_ROOT = DEFAULT_TAR.parents[1]
STRESS_SUBSET_STEP = 4  # every 4th Testing image (328 of 1,311; the order is by class, so the subset is stratified)
Predict = Callable[[list[np.ndarray]], np.ndarray]  # display images → probabilities (N, K)


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if total == 0:
        return 0.0, 1.0
    share = successes / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def share(successes: int, total: int) -> dict[str, Any]:
    low, high = wilson_interval(successes, total)
    return {"count": int(successes), "of": int(total), "share": round(successes / total, 4) if total else None,
            "ci95": [round(low, 4), round(high, 4)]}


def is_evaluation_only(folder: Path) -> bool:
    readme = folder / "README.md"
    return readme.is_file() and "evaluation only" in readme.read_text(encoding="utf-8").lower()


def external_folders(root: Path = DATA_ROOT) -> list[Path]:
    """Every evaluation-only set under `root` (sorted), none when `root` is absent."""
    return sorted(folder for folder in root.iterdir() if folder.is_dir() and is_evaluation_only(folder)) \
        if root.is_dir() else []


@dataclass(frozen=True)
class ExternalImage:
    label: int
    source: str
    case: str
    plane: str
    sequence: str
    display: np.ndarray


def read_external(folder: Path) -> list[ExternalImage]:
    """The set's images as the application displays them, with what their names say."""
    from core.io.load import load_study

    images = []
    for path in sorted(folder.glob("*/*.png")):
        source, case, plane, sequence = path.stem.split("_")[:4]
        display = load_study(path).series[0].slices[0].display()
        images.append(ExternalImage(CLASSES.index(path.parent.name), source, case, plane, sequence, display))
    return images


def group_measures(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """Detection, typing and wrong "no tumour" confidences for a group of images, per class."""
    predicted = probabilities.argmax(axis=1)
    result: dict[str, Any] = {}
    for k, name in enumerate(CLASSES):
        members = labels == k
        if not members.any():
            continue
        if k == NOTUMOR:
            result[name] = {"images": int(members.sum()),
                            "specificity": share(int((predicted[members] == NOTUMOR).sum()), int(members.sum())),
                            "called": {CLASSES[j]: int((predicted[members] == j).sum()) for j in range(len(CLASSES))}}
            continue
        missed = members & (predicted == NOTUMOR)
        confidences = probabilities[missed, NOTUMOR]
        result[name] = {
            "images": int(members.sum()),
            "detection": share(int((members & (predicted != NOTUMOR)).sum()), int(members.sum())),
            "typing": share(int((members & (predicted == k)).sum()), int(members.sum())),
            "called": {CLASSES[j]: int((predicted[members] == j).sum()) for j in range(len(CLASSES))},
            "missed_as_notumor_confidence": {
                "count": int(missed.sum()),
                "median": round(float(np.median(confidences)), 4) if confidences.size else None,
                "max": round(float(confidences.max()), 4) if confidences.size else None,
                "at_least_0.9": int((confidences >= 0.9).sum())}}
    return result


def evaluate_external(images: list[ExternalImage], probabilities: np.ndarray) -> dict[str, Any]:
    labels = np.asarray([image.label for image in images])
    report: dict[str, Any] = {"images": len(images), "overall": group_measures(labels, probabilities)}
    for key in ("sequence", "plane"):
        groups: dict[str, Any] = {}
        for value in sorted({getattr(image, key) for image in images}):
            chosen = np.asarray([getattr(image, key) == value for image in images])
            groups[value] = group_measures(labels[chosen], probabilities[chosen])
        report[f"by_{key}"] = groups
    return report


# ---------------------------------------------------------------- stress tests


def gamma(image: np.ndarray, value: float) -> np.ndarray:
    table = (255.0 * (np.arange(256) / 255.0) ** value + 0.5).astype(np.uint8)
    return table[image]


def pad_black(image: np.ndarray, fraction: float = 0.25) -> np.ndarray:
    border = int(image.shape[0] * fraction)
    return cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT, value=0)


STRESS_TESTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "gamma 0.5": lambda image: gamma(image, 0.5),
    "gamma 2.0": lambda image: gamma(image, 2.0),
    "blur (Gaussian sigma 1.5 px)": lambda image: cv2.GaussianBlur(image, (0, 0), 1.5),
    "noise (Gaussian sigma 10 grey levels)": lambda image: np.clip(
        image + np.random.default_rng(int(image.sum()) % 2**32).normal(0, 10, image.shape), 0, 255).astype(np.uint8),
    "half resolution": lambda image: cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                                                interpolation=cv2.INTER_AREA),
    "black padding (25% each side)": pad_black,
    "90° rotation": lambda image: np.ascontiguousarray(np.rot90(image)),
}


def stress_subset(test: ImageSet) -> ImageSet:
    return test.subset(np.arange(0, len(test), STRESS_SUBSET_STEP))


def evaluate_stress(labels: np.ndarray, clean: np.ndarray, degraded: dict[str, np.ndarray]) -> dict[str, Any]:
    """Accuracy drops: `clean` and each `degraded[name]` are the probabilities on the same stress subset."""
    clean_accuracy = float((clean.argmax(1) == labels).mean())
    report: dict[str, Any] = {"images": len(labels), "subset": f"every {STRESS_SUBSET_STEP}th Testing image",
                              "clean_accuracy": round(clean_accuracy, 4), "tests": {}}
    for name, probabilities in degraded.items():
        accuracy = float((probabilities.argmax(1) == labels).mean())
        notumor = int(((probabilities.argmax(1) == NOTUMOR) & (labels != NOTUMOR)).sum())
        report["tests"][name] = {"accuracy": round(accuracy, 4),
                                 "drop_points": round(100 * (clean_accuracy - accuracy), 2),
                                 "tumours_called_notumor": notumor}
    return report


# ---------------------------------------------------------------- quick look with the PyTorch twin


def torch_predict(checkpoint: Path, input_size: int, temperature: float = 1.0) -> Predict:
    """Probabilities from the PyTorch twin (the training model; `verify_port` proves the Keras port agrees)."""
    import torch

    from core.model.classifier import softmax_with_temperature
    from core.model.preprocess import to_model_batch
    from core.training.train_torch import XceptionTwin, load_keras_npz

    model = XceptionTwin()
    if checkpoint.suffix == ".npz":
        load_keras_npz(model, checkpoint)
    else:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(state.get("model", state))
    model = model.eval().to(memory_format=torch.channels_last)

    def predict(images: list[np.ndarray]) -> np.ndarray:
        logits = []
        with torch.no_grad():
            for start in range(0, len(images), 32):
                batch = torch.from_numpy(to_model_batch(images[start:start + 32], input_size)).permute(0, 3, 1, 2)
                logits.append(model(batch.contiguous(memory_format=torch.channels_last)).numpy())
        return softmax_with_temperature(np.concatenate(logits), temperature)

    return predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-checkpoint", type=Path, required=True, help="model.pt, last.pt or Keras .npz")
    parser.add_argument("--input-size", type=int, required=True)
    parser.add_argument("--stress", action="store_true", help="also run the stress tests (slow)")
    parser.add_argument("--out", type=Path, help="write the JSON here")
    args = parser.parse_args()
    predict = torch_predict(args.torch_checkpoint, args.input_size)
    report: dict[str, Any] = {}
    for folder in external_folders():
        images = read_external(folder)
        report[folder.name] = evaluate_external(images, predict([image.display for image in images]))
        print(json.dumps({folder.name: report[folder.name]["overall"]}, indent=1), flush=True)
    if args.stress:
        subset = stress_subset(read_split(DEFAULT_TAR, "Testing"))
        degraded = {name: predict([transform(image) for image in subset.images])
                    for name, transform in STRESS_TESTS.items()}
        report["stress"] = evaluate_stress(subset.labels, predict(list(subset.images)), degraded)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
