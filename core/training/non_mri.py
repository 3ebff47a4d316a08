"""A documented, offline-generated set of inputs that are NOT brain MRI slices, for measuring the OOD gate.

Eight kinds, each generated deterministically from a seed (and, for the last kinds, from real slices that are
transformed until they are no longer a brain MRI display image):

- `noise`: uniform, Gaussian and colour noise at several sizes, and low-frequency (blurred) noise blobs.
- `blank`: constant images (black, grey, white) and near-constant ones with faint noise.
- `gradient`: linear and radial grey ramps.
- `photograph`: the photographs and renderings shipped with matplotlib (grace_hopper.jpg, a product photo, a logo,
  terrain elevation rendered in colour and grey), random crops and grey versions, plus synthetic colour scenes drawn
  with OpenCV (filled shapes over textured colour backgrounds).
- `chest_xray_like`: a synthetic frontal chest radiograph: bright full-frame body, dark lung fields, rib arcs, spine.
- `ct_like`: a synthetic head CT in a bone window (bright skull ring, flat brain, dark background) and real slices
  rendered as a bone window (only the brightest structures kept) or inverted (a MONOCHROME1 mistake).
- `text_overlay`: real slices under heavy burnt-in text (several large lines covering much of the image) and a
  document page (dark text on white).
- `document`: pure text pages and table-like line drawings.

Nothing is downloaded. The real slices passed in should come from the Testing split (the set only measures).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import matplotlib
import numpy as np

from core.io.colour import luma_u8

SAMPLE_DATA = Path(matplotlib.get_data_path()) / "sample_data"
PHOTO_FILES = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")
TERRAIN_FILES = {"jacksboro_fault_dem.npz": "elevation", "topobathy.npz": "topo"}  # file: elevation array


def _stretched_u8(values: np.ndarray) -> np.ndarray:
    """float32 values min-max stretched to 0..255 (OpenCV's NORM_MINMAX), truncated to uint8."""
    stretched = np.empty_like(values)
    cv2.normalize(values, stretched, 0, 255, cv2.NORM_MINMAX)
    return stretched.astype(np.uint8)


def _random_size(rng: np.random.Generator) -> int:
    return int(rng.choice([200, 256, 320, 512]))


def noise_images(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    images = []
    for index in range(count):
        size = _random_size(rng)
        variant = index % 4
        if variant == 0:
            images.append(rng.integers(0, 256, (size, size), dtype=np.uint8))
        elif variant == 1:
            images.append(np.clip(rng.normal(128, 40, (size, size)), 0, 255).astype(np.uint8))
        elif variant == 2:
            images.append(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        else:
            blobs = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 20)
            images.append(_stretched_u8(blobs))
    return images


def blank_images(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    images = []
    for index in range(count):
        size = _random_size(rng)
        level = float(rng.choice([0, 30, 128, 200, 255]))
        faint = rng.normal(0, 2, (size, size)) if index % 2 else np.zeros((size, size))
        images.append(np.clip(level + faint, 0, 255).astype(np.uint8))
    return images


def gradient_images(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    images = []
    for index in range(count):
        size = _random_size(rng)
        rows, cols = np.mgrid[0:size, 0:size] / size
        if index % 2:
            centre = rng.uniform(0.2, 0.8, 2)
            ramp = 1.0 - np.hypot(rows - centre[0], cols - centre[1]) / 0.8
        else:
            angle = rng.uniform(0, np.pi)
            ramp = rows * np.cos(angle) + cols * np.sin(angle)
        images.append(_stretched_u8(ramp.astype(np.float32)))
    return images


def _shipped_photographs() -> list[np.ndarray]:
    photos = []
    for name in PHOTO_FILES:
        bgr = cv2.imread(str(SAMPLE_DATA / name), cv2.IMREAD_COLOR)
        if bgr is not None:
            photos.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    for name, key in TERRAIN_FILES.items():
        path = SAMPLE_DATA / name
        if path.is_file():
            with np.load(path) as stored:
                elevation = stored[key].astype(np.float32)
            gray = _stretched_u8(elevation)
            photos.append(cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB))
            photos.append(gray)
    return photos


def _synthetic_scene(rng: np.random.Generator) -> np.ndarray:
    size = _random_size(rng)
    background = cv2.GaussianBlur(rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8), (0, 0), 1)
    scene = cv2.resize(background, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(3, 9))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = tuple(int(c) for c in rng.integers(0, size, 2))
        if rng.random() < 0.5:
            cv2.circle(scene, centre, int(rng.integers(size // 16, size // 4)), colour, -1)
        else:
            corner = tuple(int(c) for c in rng.integers(0, size, 2))
            cv2.rectangle(scene, centre, corner, colour, -1)
    return scene


def photograph_images(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Shipped photographs (whole, random crops, grey versions) and synthetic colour scenes, alternating."""
    photos = _shipped_photographs()
    images = []
    for index in range(count):
        if index % 2 or not photos:
            images.append(_synthetic_scene(rng))
            continue
        photo = photos[(index // 2) % len(photos)]
        height, width = photo.shape[:2]
        crop = int(min(height, width) * rng.uniform(0.5, 1.0))
        top, left = int(rng.integers(0, height - crop + 1)), int(rng.integers(0, width - crop + 1))
        patch = np.ascontiguousarray(photo[top:top + crop, left:left + crop])
        if patch.ndim == 3 and index % 4 == 2:
            patch = luma_u8(patch)  # grey photographs are harder than colour ones
        images.append(patch)
    return images


def chest_xray_like_images(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    images = []
    for _ in range(count):
        size = 512
        image = np.full((size, size), int(rng.integers(150, 200)), np.float32)
        for side in (-1, 1):
            centre = (size // 2 + side * int(size * rng.uniform(0.18, 0.24)), int(size * 0.48))
            axes = (int(size * rng.uniform(0.13, 0.17)), int(size * rng.uniform(0.28, 0.34)))
            cv2.ellipse(image, centre, axes, 0, 0, 360, float(rng.integers(40, 80)), -1)
        for rib in range(9):  # rib arcs across both lung fields
            y = int(size * (0.2 + 0.07 * rib))
            cv2.ellipse(image, (size // 2, y), (int(size * 0.38), int(size * 0.08)), 0, 200, 340, 170.0, 6)
        cv2.rectangle(image, (size // 2 - 18, 0), (size // 2 + 18, size), 220.0, -1)  # spine / mediastinum
        noisy = cv2.GaussianBlur(image, (0, 0), 4) + rng.normal(0, 4, (size, size))
        images.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return images


def _synthetic_head_ct(rng: np.random.Generator) -> np.ndarray:
    size = 512
    image = np.zeros((size, size), np.float32)
    centre = (size // 2 + int(rng.integers(-15, 15)), size // 2 + int(rng.integers(-15, 15)))
    axes = (int(size * rng.uniform(0.33, 0.38)), int(size * rng.uniform(0.40, 0.45)))
    cv2.ellipse(image, centre, axes, 0, 0, 360, 250.0, -1)  # skull
    inner = (axes[0] - int(rng.integers(10, 20)), axes[1] - int(rng.integers(10, 20)))
    cv2.ellipse(image, centre, inner, 0, 0, 360, float(rng.integers(60, 110)), -1)  # flat brain in a bone window
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def ct_like_images(rng: np.random.Generator, count: int, slices: Sequence[np.ndarray]) -> list[np.ndarray]:
    images = []
    for index in range(count):
        variant = index % 3
        if variant == 0 or not len(slices):
            images.append(_synthetic_head_ct(rng))
            continue
        slice_ = slices[int(rng.integers(0, len(slices)))]
        if variant == 1:  # bone window: only the brightest structures survive, everything else is flat
            level = np.percentile(slice_, 97)
            bone = np.clip((slice_.astype(np.float32) - level) * 8 + 60 * (slice_ > 20), 0, 255)
            images.append(bone.astype(np.uint8))
        else:
            images.append(255 - slice_)
    return images


def _draw_text_lines(image: np.ndarray, rng: np.random.Generator, lines: int, colour: int, scale: float) -> None:
    height = image.shape[0]
    for line in range(lines):
        text = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 :/"), int(rng.integers(8, 16))))
        y = int((line + 1) * height / (lines + 1))
        cv2.putText(image, text, (5, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, max(1, int(scale * 3)))


def text_overlay_images(rng: np.random.Generator, count: int, slices: Sequence[np.ndarray]) -> list[np.ndarray]:
    images = []
    for index in range(count):
        if index % 3 == 2 or not len(slices):
            page = np.full((512, 400), 245, np.uint8)
            _draw_text_lines(page, rng, lines=18, colour=20, scale=0.7)
            images.append(page)
            continue
        image = slices[int(rng.integers(0, len(slices)))].copy()
        scale = image.shape[0] / 256 * rng.uniform(0.9, 1.3)
        _draw_text_lines(image, rng, lines=int(rng.integers(6, 10)), colour=255, scale=scale)
        images.append(image)
    return images


def document_images(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    images = []
    for index in range(count):
        page = np.full((400, 400), int(rng.integers(220, 256)), np.uint8)
        if index % 2:
            for position in range(0, 400, int(rng.integers(25, 60))):  # a table grid
                cv2.line(page, (position, 0), (position, 399), 0, 2)
                cv2.line(page, (0, position), (399, position), 0, 2)
        else:
            _draw_text_lines(page, rng, lines=14, colour=0, scale=0.6)
        images.append(page)
    return images


def non_mri_set(slices: Sequence[np.ndarray], per_kind: int = 30, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """(kind, uint8 image) pairs, `per_kind` of each kind; `slices` are real MRI display images (e.g. Testing)."""
    rng = np.random.default_rng(seed)
    generators: dict[str, Callable[[], list[np.ndarray]]] = {
        "noise": lambda: noise_images(rng, per_kind),
        "blank": lambda: blank_images(rng, per_kind),
        "gradient": lambda: gradient_images(rng, per_kind),
        "photograph": lambda: photograph_images(rng, per_kind),
        "chest_xray_like": lambda: chest_xray_like_images(rng, per_kind),
        "ct_like": lambda: ct_like_images(rng, per_kind, slices),
        "text_overlay": lambda: text_overlay_images(rng, per_kind, slices),
        "document": lambda: document_images(rng, per_kind),
    }
    return [(kind, image) for kind, generate in generators.items() for image in generate()]
