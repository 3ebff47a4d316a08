"""Out-of-distribution gate: is this input a brain MRI slice like the ones the classifier was trained on?

Two stages, both cheap next to the network itself:

1. Input checks on the display image (numpy/OpenCV, no model): a colour photograph (many clearly coloured pixels in
   an RGB input), a blank or nearly constant image, an image without the dark background that surrounds every
   head in a brain MRI slice (chest X-rays, photographs, full-frame textures), an image dominated by pixel-level
   noise, and an image whose anatomy is largely clipped to white (a CT bone window, where saturated bone is the only
   structure left, or heavy burnt-in text). Thresholds (`InputCheckThresholds`) sit well outside the range of the
   5,712 Training images (gray std ≥ 13.0, dark border share ≥ 0.47, noise share ≤ 0.29, no coloured or saturated
   pixels) and of real slices from other archives (saturated share of the anatomy ≤ 0.075 on the 942 extra-train and
   ≤ 0.031 on the 219 external-dev slices), so this stage rejects none of them; `python -m core.training.evaluate`
   measures both stages on real test MRIs and on non-MRI inputs.
2. A feature-space check: the network's global-average-pooled penultimate features are projected onto their
   leading principal components (fitted on the training part), and the Mahalanobis distance to the nearest
   class mean is computed with a shared, Ledoit–Wolf-shrunk covariance. The rejection threshold is a high quantile
   of the distances of the held-out validation MRIs, chosen so that at most 1% of them are rejected.

A rejected slice gets no class (`label is None`) and the reason "input does not look like a brain MRI slice (...)".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.model.preprocess import to_gray_u8

OOD_MESSAGE = "input does not look like a brain MRI slice"  # the reason; "no prediction" is said where it is shown
CHECK_SIZE = 256  # input checks run on a fixed grid so their thresholds do not depend on the source resolution


@dataclass(frozen=True)
class InputCheckThresholds:
    colour_pixel_chroma: int = 40  # max(R,G,B) - min(R,G,B) above which a pixel counts as clearly coloured
    max_colour_fraction: float = 0.05
    min_gray_std: float = 8.0
    dark_level: int = 30  # gray level at or below which a pixel counts as background
    min_border_dark_fraction: float = 0.30
    max_noise_fraction: float = 0.50
    saturated_level: int = 250  # gray level at or above which a pixel counts as clipped to white
    max_saturated_fraction: float = 0.20  # of the anatomy (pixels above `dark_level`)


@dataclass(frozen=True)
class InputStatistics:
    """Measurements the input checks compare against their thresholds (each in [0, 1] except `gray_std`)."""

    colour_fraction: float
    gray_std: float
    border_dark_fraction: float
    noise_fraction: float
    saturated_fraction: float


def input_statistics(display_image: np.ndarray, thresholds: InputCheckThresholds = InputCheckThresholds()
                     ) -> InputStatistics:
    """Measure an (H, W) or (H, W, 3|4) uint8 display image."""
    if display_image.ndim == 3 and display_image.shape[2] >= 3:
        channels = display_image[:, :, :3].astype(np.int16)
        chroma = channels.max(axis=2) - channels.min(axis=2)
        colour_fraction = float((chroma > thresholds.colour_pixel_chroma).mean())
    else:
        colour_fraction = 0.0
    gray = to_gray_u8(display_image)
    gray = cv2.resize(gray, (CHECK_SIZE, CHECK_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    border = CHECK_SIZE // 10
    ring = np.concatenate([gray[:border].ravel(), gray[-border:].ravel(),
                           gray[border:-border, :border].ravel(), gray[border:-border, -border:].ravel()])
    # Share of the variance left after removing a 3×3 smoothing: near 1 for white noise, small for anatomy.
    detail = gray - cv2.blur(gray, (3, 3))
    variance = float(gray.var())
    noise_fraction = float(detail.var() / variance) if variance > 0 else 0.0
    anatomy = gray[gray > thresholds.dark_level]
    saturated_fraction = float((anatomy >= thresholds.saturated_level).mean()) if anatomy.size else 0.0
    return InputStatistics(colour_fraction=colour_fraction, gray_std=float(np.sqrt(variance)),
                           border_dark_fraction=float((ring <= thresholds.dark_level).mean()),
                           noise_fraction=noise_fraction, saturated_fraction=saturated_fraction)


def input_check_reason(display_image: np.ndarray, thresholds: InputCheckThresholds = InputCheckThresholds()) -> str:
    """Why the image fails the input checks, or "" when it passes."""
    stats = input_statistics(display_image, thresholds)
    if stats.colour_fraction > thresholds.max_colour_fraction:
        return "colour image"
    if stats.gray_std < thresholds.min_gray_std:
        return "blank or nearly constant image"
    if stats.noise_fraction > thresholds.max_noise_fraction:
        return "dominated by pixel noise"
    if stats.border_dark_fraction < thresholds.min_border_dark_fraction:
        return "no dark background around the anatomy"
    if stats.saturated_fraction > thresholds.max_saturated_fraction:
        return "much of the anatomy is clipped to white (a CT bone window or burnt-in text?)"
    return ""


def rejection_reason(display_image: np.ndarray, feature_score: float) -> str:
    """Why the gate rejects an image (input checks first, then the feature score; NaN = no feature stage), or ""."""
    return input_check_reason(display_image) or ("features unlike the training MRIs" if feature_score > 1.0 else "")


@dataclass(frozen=True)
class FeatureGate:
    """Mahalanobis distance to the nearest class mean in a PCA projection of the pooled network features."""

    feature_mean: np.ndarray  # (D,)
    components: np.ndarray  # (k, D), rows are principal axes
    class_means: np.ndarray  # (C, k)
    precision: np.ndarray  # (k, k), inverse of the shrunk shared covariance
    threshold: float  # distances above it are out of distribution

    def distances(self, features: np.ndarray) -> np.ndarray:
        """(N,) Mahalanobis distance of each (N, D) feature row to its nearest class mean."""
        projected = (features.astype(np.float64) - self.feature_mean) @ self.components.T
        offsets = projected[:, None, :] - self.class_means[None, :, :]
        squared = np.einsum("nck,kl,ncl->nc", offsets, self.precision, offsets)
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Distances relative to the threshold: above 1 means out of distribution."""
        return self.distances(features) / self.threshold

    def save(self, path: Path) -> None:
        with open(path, "wb") as handle:
            np.savez(handle, feature_mean=self.feature_mean.astype(np.float32),
                     components=self.components.astype(np.float32), class_means=self.class_means.astype(np.float32),
                     precision=self.precision.astype(np.float32), threshold=np.float64(self.threshold))

    @classmethod
    def load(cls, path: Path) -> "FeatureGate":
        with np.load(path) as stored:
            return cls(feature_mean=stored["feature_mean"].astype(np.float64),
                       components=stored["components"].astype(np.float64),
                       class_means=stored["class_means"].astype(np.float64),
                       precision=stored["precision"].astype(np.float64), threshold=float(stored["threshold"]))


def ledoit_wolf_covariance(centered: np.ndarray) -> np.ndarray:
    """Covariance of (N, k) zero-mean rows shrunk towards a scaled identity with the Ledoit–Wolf optimal weight."""
    count, dims = centered.shape
    sample = centered.T @ centered / count
    target_scale = np.trace(sample) / dims
    target = target_scale * np.eye(dims)
    distance = np.sum((sample - target) ** 2)
    # Mean squared distance of each outer product x xᵀ to the sample covariance, without materialising them.
    squared_norms = np.sum(centered ** 2, axis=1)
    spread = (np.mean(squared_norms ** 2) - np.sum(sample ** 2)) / count
    weight = float(np.clip(spread / distance, 0.0, 1.0)) if distance > 0 else 1.0
    return (1.0 - weight) * sample + weight * target


def fit_feature_gate(train_features: np.ndarray, train_labels: np.ndarray, validation_features: np.ndarray,
                     components: int = 64, validation_quantile: float = 0.995) -> FeatureGate:
    """Fit the PCA projection, class means and shared covariance on the training part; set the threshold so that a
    share of `1 - validation_quantile` of the validation MRIs lies above it."""
    train = train_features.astype(np.float64)
    feature_mean = train.mean(axis=0)
    _, _, axes = np.linalg.svd(train - feature_mean, full_matrices=False)
    projection = axes[:min(components, axes.shape[0])]
    projected = (train - feature_mean) @ projection.T
    classes = np.unique(train_labels)
    class_means = np.stack([projected[train_labels == c].mean(axis=0) for c in classes])
    within_class = projected - class_means[np.searchsorted(classes, train_labels)]
    precision = np.linalg.inv(ledoit_wolf_covariance(within_class))
    unthresholded = FeatureGate(feature_mean, projection, class_means, precision, threshold=1.0)
    threshold = float(np.quantile(unthresholded.distances(validation_features), validation_quantile))
    return FeatureGate(feature_mean, projection, class_means, precision, threshold)
