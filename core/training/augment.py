"""Training augmentation for domain generalisation, on the CPU, one 8-bit display image at a time.

The training classes differ by source (scanner, sequence, export, framing), so the network must not be able to tell
sources apart by anything but anatomy. Every transform below varies one of those cues; each runs with its own
probability, in this order:

- **Skull strip** (before anything else): one extra-training source is skull-stripped, and only healthy brains are,
  so "no skull → no tumour" would be an easy shortcut. The convex hull of the head mask
  (`core.model.preprocess.head_mask`)
  is eroded by 4–9% of the head's size and everything outside it is blacked out, in every class.
- **Spatial**: rotation ±15° plus an occasional quarter turn (planes and orientations vary by source), left-right
  flip, a mild elastic warp (a smooth random displacement of about 2% of the side).
- **Appearance**: a random monotonic intensity curve (sequence and display curve), a multiplicative low-frequency
  bias field (coil shading), and occasionally inverted contrast inside the head so T1- and T2-like contrast both
  occur in every class.
- **Quality**: Gaussian blur, Rician noise, down-then-up sampling, JPEG re-compression.

The result goes through the shared preprocessing (`core.model.preprocess.to_model_gray`: head crop, intensity
normalisation), and `jitter_framing` then varies the crop a little (scale ±10%, shift ±6%) because the crop of a real
slice is never perfect.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.model.preprocess import head_hull, to_model_gray


@dataclass(frozen=True)
class AugmentSettings:
    """Probabilities and ranges of the transforms (module docstring)."""

    strip_probability: float = 0.2
    strip_erosion: tuple[float, float] = (0.04, 0.09)
    rotation_degrees: float = 15.0
    quarter_turn_probability: float = 0.25
    flip_probability: float = 0.5
    elastic_probability: float = 0.2
    elastic_amplitude: float = 0.02
    curve_probability: float = 0.7
    bias_probability: float = 0.5
    bias_strength: float = 0.3
    invert_probability: float = 0.15
    blur_probability: float = 0.25
    blur_sigma: tuple[float, float] = (0.5, 1.6)
    noise_probability: float = 0.25
    noise_sigma: tuple[float, float] = (2.0, 12.0)
    resample_probability: float = 0.25
    resample_factor: tuple[float, float] = (0.35, 0.8)
    jpeg_probability: float = 0.25
    jpeg_quality: tuple[int, int] = (25, 90)
    framing_scale: float = 0.10
    framing_shift: float = 0.06


DEFAULT_SETTINGS = AugmentSettings()


def skull_strip(image: np.ndarray, rng: np.random.Generator, erosion: tuple[float, float]) -> np.ndarray:
    """Black out everything but an eroded head hull (a crude skull strip)."""
    hull = head_hull(image)
    rows, cols = np.flatnonzero(hull.any(axis=1)), np.flatnonzero(hull.any(axis=0))
    if rows.size == 0:
        return image
    size = max(rows[-1] - rows[0], cols[-1] - cols[0])
    radius = max(1, int(size * rng.uniform(*erosion)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return image * cv2.erode(hull, kernel)


def rotate(image: np.ndarray, rng: np.random.Generator, settings: AugmentSettings) -> np.ndarray:
    if rng.random() < settings.quarter_turn_probability:
        image = np.rot90(image, int(rng.integers(1, 4)))
    if rng.random() < settings.flip_probability:
        image = image[:, ::-1]
    height, width = image.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-1, 1) * settings.rotation_degrees, 1.0)
    return cv2.warpAffine(np.ascontiguousarray(image), matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderValue=0)


def smooth_field(shape: tuple[int, int], rng: np.random.Generator, grid: int = 4) -> np.ndarray:
    """A float32 field of the image's shape, bicubically interpolated from a small grid of standard normals."""
    coarse = rng.standard_normal((grid, grid)).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def elastic(image: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    height, width = image.shape
    scale = amplitude * max(height, width)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    map_x = cols + smooth_field(image.shape, rng) * scale
    map_y = rows + smooth_field(image.shape, rng) * scale
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderValue=0)


def monotonic_curve(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random increasing piecewise-linear grey-level curve with 0 fixed (the background stays black)."""
    knots = np.linspace(0, 255, 6)
    steps = rng.dirichlet(np.full(5, 4.0))
    values = np.concatenate([[0.0], np.cumsum(steps)]) * 255
    table = np.interp(np.arange(256), knots, values)
    return table.astype(np.uint8)[image]


def bias_field(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    field = np.exp(smooth_field(image.shape, rng, grid=3) * strength)
    return np.clip(image * field, 0, 255).astype(np.uint8)


def invert_inside_head(image: np.ndarray) -> np.ndarray:
    mask = head_hull(image).astype(bool)
    inverted = image.copy()
    inverted[mask] = 255 - image[mask]
    return inverted


def rician_noise(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Magnitude of the image plus complex Gaussian noise, as in a magnitude MR reconstruction."""
    real = image + rng.normal(0, sigma, image.shape)
    imaginary = rng.normal(0, sigma, image.shape)
    return np.clip(np.hypot(real, imaginary), 0, 255).astype(np.uint8)


def resample(image: np.ndarray, factor: float) -> np.ndarray:
    height, width = image.shape
    small = cv2.resize(image, (max(8, int(width * factor)), max(8, int(height * factor))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def jpeg_recompress(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if ok else None
    return image if decoded is None else decoded


def augment_display(image: np.ndarray, rng: np.random.Generator,
                    settings: AugmentSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """One randomly transformed copy of an (H, W) uint8 display image, still uint8 (module docstring)."""
    s = settings
    if rng.random() < s.strip_probability:
        image = skull_strip(image, rng, s.strip_erosion)
    image = rotate(image, rng, s)
    if rng.random() < s.elastic_probability:
        image = elastic(image, rng, s.elastic_amplitude)
    if rng.random() < s.curve_probability:
        image = monotonic_curve(image, rng)
    if rng.random() < s.bias_probability:
        image = bias_field(image, rng, s.bias_strength)
    if rng.random() < s.invert_probability:
        image = invert_inside_head(image)
    if rng.random() < s.blur_probability:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(*s.blur_sigma))
    if rng.random() < s.noise_probability:
        image = rician_noise(image, rng, rng.uniform(*s.noise_sigma))
    if rng.random() < s.resample_probability:
        image = resample(image, rng.uniform(*s.resample_factor))
    if rng.random() < s.jpeg_probability:
        image = jpeg_recompress(image, int(rng.integers(*s.jpeg_quality)))
    return np.ascontiguousarray(image)


def jitter_framing(gray01: np.ndarray, rng: np.random.Generator, settings: AugmentSettings = DEFAULT_SETTINGS
                   ) -> np.ndarray:
    """Zoom and shift a preprocessed (size, size) image a little, black outside."""
    size = gray01.shape[0]
    scale = 1.0 + rng.uniform(-1, 1) * settings.framing_scale
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), 0.0, scale)
    matrix[:, 2] += rng.uniform(-1, 1, size=2) * settings.framing_shift * size
    return cv2.warpAffine(gray01, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)


def training_gray(image: np.ndarray, rng: np.random.Generator, size: int,
                  settings: AugmentSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """The (size, size) float32 [0, 1] image the network trains on: augmented, preprocessed as in the app, jittered."""
    return jitter_framing(to_model_gray(augment_display(image, rng, settings), size), rng, settings)
