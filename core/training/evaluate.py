"""Evaluate trained weights and produce the shipped model folder: weights copy, OOD statistics, manifest, model card.

    python -m core.training.evaluate --weights runs/x/weights.npz --input-size 256 --out models

Everything is tuned on the validation part of Training (the same seeded stratified split the trainer held out):
the temperature (minimum NLL), the OOD threshold. Testing is only measured: officially, and de-duplicated (Testing
images with no perceptual-hash near-duplicate in Training). Network outputs are cached per weights file under
`--cache` so re-running for the card costs seconds. See models/MODEL_CARD.md for the results.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.model import ood
from core.model.classifier import MANIFEST_NAME, Classifier, ModelManifest, file_sha256, softmax_with_temperature
from core.model.labels import DISPLAY_NAMES
from core.model.preprocess import PREPROCESSING_ID, to_model_batch
from core.training.dataset import CLASSES, DEFAULT_TAR, ImageSet, read_split, train_validation_split
from core.training.external import (
    STRESS_SUBSET_STEP,
    STRESS_TESTS,
    evaluate_external,
    evaluate_stress,
    external_folders,
    read_external,
    stress_subset,
    wilson_interval,
)
from core.training.non_mri import non_mri_set
from core.training.recipe import DEFAULT_SEED

NOTUMOR = CLASSES.index("notumor")
ECE_BINS = 15
MAX_WEIGHTS_BYTES = 45 * 1024 * 1024
# Of 64 pHash bits. Distances between these slices are even; Testing→Training has a spike of 412 images at exactly 0
# and a dip at 2, while the nearest *other* Training image of a Training slice is typically 4–10 bits away (measured:
# 4: 13%, 6: 17%, 8: 20%, 10: 15%), so 4–10 is the ordinary distance between different brains, not duplication.
DEDUP_HAMMING_THRESHOLD = 2
SANITY_IMAGES_PER_CLASS = 4
OOD_TRAIN_STEP = 4
RANDOMISATION_STAGES = ["logits", "block14", "block13", "block12", "block11", "block10", "block8", "block6", "block4"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--input-size", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tar", type=Path, default=DEFAULT_TAR)
    parser.add_argument("--training-log", type=Path, help="default: training_log.json next to the weights")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the trainer's seed (validation split)")
    parser.add_argument("--version", default="")
    parser.add_argument("--ood-components", type=int, default=64)
    parser.add_argument("--ood-validation-quantile", type=float, default=0.995)
    parser.add_argument("--samples", type=Path, default=DEFAULT_TAR.parent.parent / "samples-original")
    parser.add_argument("--cache", type=Path, default=Path(".devwork/eval-cache"))
    parser.add_argument("--compared-recipes", type=Path,
                        help="JSON list of the recipes tried for this release, each {name, description, "
                             "validation_accuracy, external: {set: figures of `core.training.external`}}, for the card")
    parser.add_argument("--torch-checkpoint", type=Path,
                        help="the trainer's model.pt: compute the bulk outputs with the PyTorch twin (faster)")
    return parser.parse_args()


# ---------------------------------------------------------------- network outputs


@dataclass(frozen=True)
class Outputs:
    logits: np.ndarray  # (N, K)
    features: np.ndarray  # (N, 2048) pooled Grad-CAM-layer activations


Forward = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # (N, S, S, 3) batch → (logits, pooled features)


def keras_forward(network: Any) -> Forward:
    def forward(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, features = network.forward(batch)
        return logits.numpy(), features.numpy()
    return forward


def torch_forward(checkpoint: Path) -> Forward:
    """The PyTorch twin's outputs: several times faster than TensorFlow on a small CPU; `verify_port` proves the
    shipped Keras model agrees with it."""
    import torch

    from core.training.train_torch import XceptionTwin

    model = XceptionTwin()
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    model = model.eval().to(memory_format=torch.channels_last)

    def forward(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            inputs = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            features = model.features(inputs).mean(dim=(2, 3))
            return model.layers["logits"](features).numpy(), features.numpy()
    return forward


def network_outputs(forward: Forward, images: np.ndarray | list[np.ndarray], input_size: int,
                    batch: int = 32) -> Outputs:
    logits, features = [], []
    for start in range(0, len(images), batch):
        batch_logits, batch_features = forward(to_model_batch(list(images[start:start + batch]), input_size))
        logits.append(batch_logits)
        features.append(batch_features)
    return Outputs(np.concatenate(logits), np.concatenate(features))


def cached_outputs(cache_file: Path, compute: Any) -> Outputs:
    if cache_file.is_file():
        with np.load(cache_file) as stored:
            return Outputs(stored["logits"], stored["features"])
    outputs = compute()
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, logits=outputs.logits, features=outputs.features)
    return outputs


# ---------------------------------------------------------------- metrics


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising validation NLL (a fine log-spaced grid: one convex-ish parameter)."""
    candidates = np.exp(np.linspace(np.log(0.05), np.log(20.0), 4001))
    nll = [negative_log_likelihood(softmax_with_temperature(logits, t), labels) for t in candidates]
    return float(candidates[int(np.argmin(nll))])


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-12))))


def confidence_bins(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(confidence, bin index in 0..ECE_BINS-1 of equal-width bins, argmax) of each row."""
    confidence = probabilities.max(axis=1)
    which = np.clip(np.digitize(confidence, np.linspace(0.0, 1.0, ECE_BINS + 1)[1:-1], right=True), 0, ECE_BINS - 1)
    return confidence, which, probabilities.argmax(axis=1)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray) -> float:
    confidence, which, predicted = confidence_bins(probabilities)
    correct = predicted == labels
    total = 0.0
    for b in range(ECE_BINS):
        members = which == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


def reliability(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Accuracy per confidence bin (NaN for empty bins), for the reliability diagram."""
    _, which, predicted = confidence_bins(probabilities)
    correct = predicted == labels
    return np.array([correct[which == b].mean() if (which == b).any() else np.nan for b in range(ECE_BINS)])


def roc_curve(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(false positive rates, true positive rates, AUC) for one-vs-rest scores."""
    order = np.argsort(-scores, kind="stable")
    hits = positives[order].astype(np.float64)
    tpr = np.concatenate([[0.0], np.cumsum(hits) / max(hits.sum(), 1)])
    fpr = np.concatenate([[0.0], np.cumsum(1 - hits) / max((1 - hits).sum(), 1)])
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def classification_metrics(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = {}
    for k, name in enumerate(CLASSES):
        true_positive = confusion[k, k]
        precision = true_positive / max(confusion[:, k].sum(), 1)
        recall = true_positive / max(confusion[k].sum(), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        auc = roc_curve(probabilities[:, k], labels == k)[2]
        per_class[name] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                           "f1": round(float(f1), 4), "auc": round(auc, 4), "support": int(confusion[k].sum())}
    correct = int(np.trace(confusion))
    low, high = wilson_interval(correct, len(labels))
    tumours_called_notumor = int(confusion[:, NOTUMOR].sum() - confusion[NOTUMOR, NOTUMOR])
    return {"images": int(len(labels)), "correct": correct, "accuracy": round(correct / len(labels), 4),
            "accuracy_95ci": [round(low, 4), round(high, 4)], "per_class": per_class,
            "tumours_called_notumor": tumours_called_notumor, "confusion": confusion.tolist()}


# ---------------------------------------------------------------- de-duplication


def perceptual_hashes(images: np.ndarray) -> np.ndarray:
    """64-bit pHash of each image (imagehash: DCT of a 32×32 downscale, signs of the 8×8 low frequencies)."""
    import imagehash
    from PIL import Image

    hashes = np.empty(len(images), np.uint64)
    for index, image in enumerate(images):
        bits = imagehash.phash(Image.fromarray(image)).hash.ravel()
        hashes[index] = np.uint64(int("".join("1" if b else "0" for b in bits), 2))
    return hashes


def nearest_hamming_distances(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """For each query hash, the smallest Hamming distance to any reference hash."""
    return np.array([int(np.bitwise_count(references ^ query).min()) for query in queries])


# ---------------------------------------------------------------- Grad-CAM sanity


def average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(len(values))
    _, groups = np.unique(values, return_inverse=True)
    return (np.bincount(groups, ranks) / np.bincount(groups))[groups]  # ties share their mean rank


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ranks_a, ranks_b = average_ranks(a.ravel()), average_ranks(b.ravel())
    if ranks_a.std() == 0 or ranks_b.std() == 0:
        return 0.0  # a constant map carries no ranking
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def randomise_layers(keras_model: Any, prefix: str, rng: np.random.Generator) -> None:
    """Re-draw the kernels of every layer whose name starts with `prefix` (Gaussian, same std as before)."""
    for layer in keras_model.layers:
        if layer.name.startswith(prefix):
            for variable in layer.trainable_variables:
                if "kernel" in variable.path:
                    current = np.asarray(variable.numpy())
                    variable.assign(rng.normal(0.0, current.std() + 1e-3, current.shape).astype(np.float32))


def gradcam_sanity(keras_model: Any, network_class: Any, gradcam_layer: str, images: list[np.ndarray],
                   input_size: int, seed: int) -> dict[str, Any]:
    """Cascading randomisation (head first, then blocks from the top): CAM rank correlation to the original."""
    network = network_class(keras_model, gradcam_layer, input_size)
    batch = to_model_batch(images, input_size)
    logits, _, cams = (t.numpy() for t in network.forward_with_cams(batch))
    predicted = logits.argmax(axis=1)
    original = cams[np.arange(len(images)), predicted]
    across_images = [spearman(original[i], original[j]) for i in range(len(images)) for j in range(i + 1, len(images))]
    rng = np.random.default_rng(seed)
    stages, correlations, examples = [], [], [original]
    for prefix in RANDOMISATION_STAGES:
        randomise_layers(keras_model, prefix, rng)
        randomised = network.forward_with_cams(batch)[2].numpy()[np.arange(len(images)), predicted]
        stages.append(prefix)
        correlations.append([spearman(original[i], randomised[i]) for i in range(len(images))])
        examples.append(randomised)
    return {"stages": stages, "spearman_mean": [round(float(np.mean(c)), 4) for c in correlations],
            "spearman_all": correlations, "across_images_spearman_mean": round(float(np.mean(across_images)), 4),
            "original_pixel_std_across_images": round(float(original.std(axis=0).mean()), 4),
            "examples": examples}


# ---------------------------------------------------------------- figures


def save_figures(out: Path, report: dict[str, Any], curves: dict[str, Any], sanity_images: list[np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for axis, split in zip(axes, ("official", "deduplicated")):
        confusion = np.asarray(report[split]["confusion"])
        axis.imshow(confusion, cmap="Blues")
        for (row, col), count in np.ndenumerate(confusion):
            axis.text(col, row, str(count), ha="center", va="center",
                      color="white" if count > confusion.max() / 2 else "black")
        axis.set_xticks(range(len(CLASSES)), CLASSES, rotation=30)
        axis.set_yticks(range(len(CLASSES)), CLASSES)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        axis.set_title(f"{split} Testing (n={report[split]['images']}, acc {report[split]['accuracy']:.2%})")
    figure.tight_layout()
    figure.savefig(out / "confusion_matrix.png", dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(5.5, 5))
    for name, (fpr, tpr, auc) in curves["roc"].items():
        axis.plot(fpr, tpr, label=f"{name} (AUC {auc:.4f})")
    axis.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_title("One-vs-rest ROC, official Testing")
    axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(out / "roc_curves.png", dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(5.5, 5))
    centres = (np.arange(ECE_BINS) + 0.5) / ECE_BINS
    for label, accuracy in curves["reliability"].items():
        axis.plot(centres, accuracy, "o-", label=label)
    axis.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    axis.set_xlabel("confidence (bin centre)")
    axis.set_ylabel("accuracy in bin")
    axis.set_title(f"Reliability, official Testing (T = {report['calibration']['temperature']:.3f})")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "calibration.png", dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(7, 4))
    distances = curves["hash_distances"]
    axis.hist(distances, bins=(np.arange(0, distances.max() + 2) - 0.5).tolist(), color="grey")
    axis.axvline(DEDUP_HAMMING_THRESHOLD + 0.5, color="red", label=f"duplicate if ≤ {DEDUP_HAMMING_THRESHOLD}")
    axis.set_xlabel("pHash Hamming distance of each Testing image to its nearest Training image (64 bits)")
    axis.set_ylabel("Testing images")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "dedup_hash_distances.png", dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, max(3.0, float(np.percentile(curves["ood_scores"]["non-MRI"], 90))), 60)
    for label, scores in curves["ood_scores"].items():
        axis.hist(np.clip(scores, 0, bins[-1]), bins=bins.tolist(), alpha=0.5, density=True, label=label)
    axis.axvline(1.0, color="red", label="threshold")
    axis.set_xlabel("feature distance / threshold (clipped)")
    axis.set_ylabel("density")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "ood_scores.png", dpi=110)
    plt.close(figure)

    sanity = report["gradcam_sanity"]
    examples = curves["sanity_examples"]
    shown = [0, 1, 2, 3, 5, len(examples) - 1]
    titles = ["original"] + [f"+ {stage}" for stage in sanity["stages"]]
    rows = min(4, len(sanity_images))
    figure, axes = plt.subplots(rows + 1, len(shown) + 1, figsize=(2.0 * (len(shown) + 1), 2.0 * (rows + 1)))
    for row in range(rows):
        image_index = row * max(1, len(sanity_images) // rows)
        axes[row, 0].imshow(sanity_images[image_index], cmap="gray")
        axes[row, 0].set_title("slice" if row == 0 else "")
        for col, stage in enumerate(shown, start=1):
            cam = cv2.resize(examples[stage][image_index], sanity_images[image_index].shape[::-1],
                             interpolation=cv2.INTER_CUBIC)
            axes[row, col].imshow(sanity_images[image_index], cmap="gray")
            axes[row, col].imshow(np.clip(cam, 0, 1), cmap="jet", alpha=0.45, vmin=0, vmax=1)
            axes[row, col].set_title(titles[stage] if row == 0 else "", fontsize=8)
    for axis in axes[:rows].ravel():
        axis.axis("off")
    for axis in axes[rows, 1:]:
        axis.remove()
    plot = figure.add_subplot(rows + 1, 1, rows + 1)
    plot.plot(["original"] + sanity["stages"], [1.0] + sanity["spearman_mean"], "o-")
    plot.set_ylabel("Spearman to original")
    plot.set_ylim(-1.05, 1.05)
    plot.axhline(0.0, color="grey", linewidth=0.6)
    plot.tick_params(axis="x", labelsize=8)
    axes[rows, 0].remove()
    figure.tight_layout()
    figure.savefig(out / "gradcam_sanity.png", dpi=100)
    plt.close(figure)


# ---------------------------------------------------------------- main steps


def read_training_log(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    summary = json.loads(path.read_text()).get("summary", {})
    return {"command": summary.get("command"), "device": summary.get("device", "CPU"),
            "settings": summary.get("args", {}), "total_steps": summary.get("total_steps"),
            "wall_time_s": summary.get("wall_time_s"), "data": summary.get("data", {}), "note": summary.get("note", ""),
            "validation_accuracy_at_end": summary.get("validation_accuracy")}


def load_keras(weights: Path, input_size: int) -> Any:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from core.model.network import build_model, load_weights_npz

    model = build_model(input_size)
    load_weights_npz(model, weights)
    return model


def evaluate_ood(gate: ood.FeatureGate, test: ImageSet, test_outputs: Outputs, non_mri: list[tuple[str, np.ndarray]],
                 non_mri_outputs: Outputs) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    test_scores = gate.scores(test_outputs.features)
    test_reasons = [ood.rejection_reason(image, float(score)) for image, score in zip(test.images, test_scores)]
    non_mri_scores = gate.scores(non_mri_outputs.features)
    non_mri_reasons = [ood.rejection_reason(image, float(score))
                       for (_, image), score in zip(non_mri, non_mri_scores)]
    by_kind: dict[str, dict[str, Any]] = {}
    for (kind, _), reason in zip(non_mri, non_mri_reasons):
        entry = by_kind.setdefault(kind, {"images": 0, "rejected": 0, "by_input_checks": 0})
        entry["images"] += 1
        entry["rejected"] += bool(reason)
        entry["by_input_checks"] += bool(reason) and reason != "features unlike the training MRIs"
    test_by_reason: dict[str, int] = {}
    for reason in test_reasons:
        if reason:
            test_by_reason[reason] = test_by_reason.get(reason, 0) + 1
    rates = {"test_mri_images": len(test_reasons),
             "test_mri_rejected": int(sum(bool(r) for r in test_reasons)),
             "test_mri_rejected_share": round(float(np.mean([bool(r) for r in test_reasons])), 4),
             "test_mri_rejected_by_reason": test_by_reason,
             "non_mri_images": len(non_mri_reasons),
             "non_mri_rejected": int(sum(bool(r) for r in non_mri_reasons)),
             "non_mri_rejected_share": round(float(np.mean([bool(r) for r in non_mri_reasons])), 4),
             "non_mri_by_kind": by_kind}
    return rates, {"Testing MRI": test_scores, "non-MRI": non_mri_scores}


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise ValueError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def evaluate_samples(model_dir: Path, samples: Path) -> dict[str, Any]:
    """End-to-end check through the written model folder and the application's Classifier."""
    paths = sorted(samples.glob("*/*.jpg"))
    if not paths:
        return {}
    classifier = Classifier(model_dir)
    started = time.perf_counter()
    classifier.load()
    load_s = time.perf_counter() - started
    predictions = classifier.predict([_read_rgb(path) for path in paths])
    wrong = [f"{path.parent.name}/{path.name} → {p.label or 'rejected'}"
             for p, path in zip(predictions, paths) if p.label != path.parent.name]
    return {"images": len(paths), "correct": len(paths) - len(wrong), "wrong": wrong,
            "rejected": sum(p.label is None for p in predictions), "classifier_load_s": round(load_s, 2)}


def main() -> None:
    args = parse_args()
    started = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    weights_sha = file_sha256(args.weights)
    if args.weights.stat().st_size > MAX_WEIGHTS_BYTES:
        raise SystemExit(f"{args.weights} is larger than 45 MB")
    cache = args.cache / weights_sha[:16]
    print("reading data", flush=True)
    training, test = read_split(args.tar, "Training"), read_split(args.tar, "Testing")
    train_part, validation = train_validation_split(training, args.seed)
    non_mri = non_mri_set(list(test.images[::7]), per_kind=40, seed=args.seed)

    keras_model = load_keras(args.weights, args.input_size)
    from core.model.classifier import Network
    from core.model.network import GRADCAM_LAYER

    network = Network(keras_model, GRADCAM_LAYER, args.input_size)
    forward = torch_forward(args.torch_checkpoint) if args.torch_checkpoint else keras_forward(network)
    externals = {folder.name: read_external(folder) for folder in external_folders()}
    stress = stress_subset(test)
    # The OOD statistics need training features, not all 5,000: every 4th training image (stratified by order).
    ood_train = train_part.subset(np.arange(0, len(train_part), OOD_TRAIN_STEP))
    image_sets: list[tuple[str, np.ndarray | list[np.ndarray]]] = [
        ("validation", validation.images), ("test", test.images), ("train", ood_train.images),
        ("non_mri", [image for _, image in non_mri]),
        *((f"external-{key}", [image.display for image in value]) for key, value in externals.items()),
        *((f"stress-{i}", [transform(image) for image in stress.images])
          for i, transform in enumerate(STRESS_TESTS.values()))]
    outputs = {}
    for name, images in image_sets:
        print(f"network outputs: {name} ({len(images)} images)", flush=True)
        outputs[name] = cached_outputs(cache / f"{name}.npz",
                                       lambda images=images: network_outputs(forward, images, args.input_size))

    temperature = fit_temperature(outputs["validation"].logits, validation.labels)
    probabilities = {name: softmax_with_temperature(outputs[name].logits, temperature)
                     for name in ("validation", "test")}
    raw_test = softmax_with_temperature(outputs["test"].logits, 1.0)
    raw_validation = softmax_with_temperature(outputs["validation"].logits, 1.0)

    print("perceptual hashes", flush=True)
    distances = nearest_hamming_distances(perceptual_hashes(test.images), perceptual_hashes(training.images))
    unique = distances > DEDUP_HAMMING_THRESHOLD

    report: dict[str, Any] = {
        "validation": classification_metrics(probabilities["validation"], validation.labels),
        "official": classification_metrics(probabilities["test"], test.labels),
        "deduplicated": classification_metrics(probabilities["test"][unique], test.labels[unique]),
        "calibration": {
            "temperature": round(temperature, 4),
            "validation_nll_before": round(negative_log_likelihood(raw_validation, validation.labels), 4),
            "validation_nll_after": round(negative_log_likelihood(probabilities["validation"], validation.labels), 4),
            "validation_ece_before": round(expected_calibration_error(raw_validation, validation.labels), 4),
            "validation_ece_after": round(expected_calibration_error(probabilities["validation"],
                                                                      validation.labels), 4),
            "test_ece_before": round(expected_calibration_error(raw_test, test.labels), 4),
            "test_ece_after": round(expected_calibration_error(probabilities["test"], test.labels), 4),
            "bins": ECE_BINS},
        "deduplication": {"method": "imagehash pHash (64 bits) of the 256² images, nearest Training image",
                          "hamming_threshold": DEDUP_HAMMING_THRESHOLD,
                          "test_images_with_duplicate": int((~unique).sum()),
                          "duplicates_by_class": {c: int(((~unique) & (test.labels == k)).sum())
                                                  for k, c in enumerate(CLASSES)},
                          "distance_histogram": np.bincount(distances).tolist()}}

    print("OOD statistics", flush=True)
    gate = ood.fit_feature_gate(outputs["train"].features, ood_train.labels, outputs["validation"].features,
                                components=args.ood_components, validation_quantile=args.ood_validation_quantile)
    ood_rates, ood_scores = evaluate_ood(gate, test, outputs["test"], non_mri, outputs["non_mri"])
    validation_rejected = [bool(ood.rejection_reason(image, float(score))) for image, score in
                           zip(validation.images, gate.scores(outputs["validation"].features))]
    ood_rates["validation_mri_rejected_share"] = round(float(np.mean(validation_rejected)), 4)
    ood_scores["validation MRI"] = gate.scores(outputs["validation"].features)

    report["external"] = {key: evaluate_external(images, softmax_with_temperature(
        outputs[f"external-{key}"].logits, temperature)) for key, images in externals.items()}
    for key, external in externals.items():
        scores = gate.scores(outputs[f"external-{key}"].features)
        rejected = [bool(ood.rejection_reason(image.display, float(score))) for image, score in zip(external, scores)]
        report["external"][key]["ood_rejected"] = int(sum(rejected))
    report["stress"] = evaluate_stress(
        stress.labels, probabilities["test"][::STRESS_SUBSET_STEP],
        {name: softmax_with_temperature(outputs[f"stress-{i}"].logits, temperature)
         for i, name in enumerate(STRESS_TESTS)})

    print("Grad-CAM sanity", flush=True)
    sanity_indices = np.concatenate([np.flatnonzero(test.labels == k)[::53][:SANITY_IMAGES_PER_CLASS]
                                     for k in range(len(CLASSES))])
    sanity_images = [test.images[i] for i in sanity_indices]
    sanity = gradcam_sanity(keras_model, Network, GRADCAM_LAYER, sanity_images, args.input_size, args.seed)
    sanity_examples = sanity.pop("examples")
    report["gradcam_sanity"] = sanity

    weights_name, ood_name = "weights.npz", "ood.npz"
    if args.weights.resolve() != (args.out / weights_name).resolve():
        shutil.copyfile(args.weights, args.out / weights_name)
    gate.save(args.out / ood_name)
    training_info = read_training_log(args.training_log or args.weights.parent / "training_log.json")
    training_info["parameter_count"] = int(keras_model.count_params())
    training_info["seed"] = args.seed
    if args.compared_recipes:
        report["compared_recipes"] = json.loads(args.compared_recipes.read_text())
    manifest = ModelManifest(
        name="xception-brainmri", version=args.version or f"{args.input_size}px",
        classes=list(CLASSES), display_names=list(DISPLAY_NAMES), input_size=args.input_size,
        preprocessing_id=PREPROCESSING_ID, gradcam_layer=GRADCAM_LAYER, temperature=round(temperature, 4),
        weights_file=weights_name, weights_sha256=weights_sha, training_data_sha256=file_sha256(args.tar),
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        ood_file=ood_name, ood_sha256=file_sha256(args.out / ood_name),
        metrics={key: report[key] for key in ("official", "deduplicated", "validation", "calibration", "external",
                                                  "stress")},
        ood={"method": "input checks + Mahalanobis (shared Ledoit-Wolf covariance) in a PCA projection of pooled "
                       "block14 features; threshold = validation quantile",
             "components": int(gate.components.shape[0]), "validation_quantile": args.ood_validation_quantile,
             "threshold_distance": round(gate.threshold, 4),
             "input_checks": ood.InputCheckThresholds().__dict__} | ood_rates,
        training=training_info)
    manifest.write(args.out / MANIFEST_NAME)

    print("end-to-end check on the original sample JPEGs", flush=True)
    report["samples_original"] = evaluate_samples(args.out, args.samples)
    manifest.metrics["samples_original"] = report["samples_original"]
    manifest.write(args.out / MANIFEST_NAME)

    calibration = report["calibration"]
    curves = {"roc": {name: roc_curve(probabilities["test"][:, k], test.labels == k) for k, name in enumerate(CLASSES)},
              "reliability": {f"T = 1 (ECE {calibration['test_ece_before']:.3f})": reliability(raw_test, test.labels),
                              f"T = {temperature:.2f} (ECE {calibration['test_ece_after']:.3f})":
                                  reliability(probabilities["test"], test.labels)},
              "hash_distances": distances, "ood_scores": ood_scores, "sanity_examples": sanity_examples}
    save_figures(args.out, report, curves, sanity_images)
    report["evaluation_wall_time_s"] = round(time.time() - started, 1)
    report["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}"
    (args.out / "evaluation.json").write_text(json.dumps(report | {"ood": manifest.ood}, indent=1))
    from core.training.model_card import write_model_card

    write_model_card(args.out / "MODEL_CARD.md", manifest, report)
    print(json.dumps({"official": report["official"]["accuracy"], "deduplicated": report["deduplicated"]["accuracy"],
                      "temperature": temperature, "ood": ood_rates}, indent=1), flush=True)


if __name__ == "__main__":
    main()
