"""The one preprocessing function shared by training, evaluation and the application.

The training classes come from different collections that differ in framing (tight crops vs the whole head with
black margins), brightness and contrast, and a network happily learns those instead of the lesion. Preprocessing
therefore removes what it can of them before the model sees a pixel; every input (JPEG, PNG or a windowed DICOM
slice, gray or colour, any size) goes through the same steps:

1. **Gray**: ITU-R BT.601 luma for colour input (`core.io.colour.luma_u8`).
2. **Head crop**: the foreground is every pixel brighter than half of Otsu's threshold (computed on a copy shrunk
   to at most 128 px, lightly blurred); the bounding box of its largest connected part, together with any part at
   least a fifth its size, padded by 4% on each side and grown to a square about its centre (the aspect ratio is
   kept; parts of the square outside the image are black), is cut out and resized to the model's input size (area
   averaging when shrinking, bicubic when enlarging). Black margins, zoom and position of the head no longer matter.
3. **Intensity**: the crop's 1st percentile becomes black and the head's 99th percentile white (clipped), then a
   power curve maps the head's median to 0.45. A global gamma (display curve) changes the median and is undone by
   that step, so bright T2-like and dark T1-like exports arrive at comparable grey levels.
4. Replicated to 3 channels and scaled to [-1, 1] (the Keras Xception convention).

v3 of the id marks the head crop and the intensity normalisation (v2 stretched the whole picture to a square).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.io.colour import luma_u8

MODEL_INPUT_SIZE = 256
PREPROCESSING_ID = "head-crop-square-fgnorm-v3"

_MASK_SIDE = 128  # the foreground is found on a copy at most this large: fast, and blind to single-pixel noise
_OTSU_FRACTION = 0.5  # half of Otsu's threshold keeps dark tissue (CSF, oedema) inside the head
_MIN_THRESHOLD = 8  # grey levels; a flat black image has no foreground
_PART_FRACTION = 0.2  # foreground parts at least this share of the largest count as head (both hemispheres of a cut)
_MARGIN = 0.04  # of the box side, on each side
_DARK_PERCENTILE, _BRIGHT_PERCENTILE = 1.0, 99.0
_TARGET_MEDIAN = 0.45
_GAMMA_LIMITS = (0.4, 2.5)  # a head that is nearly all dark or all bright is not pushed to extremes
IMAGE_MAP_GRID = 64  # cells on the longest side of a model map placed back on the image (smooth once upsampled)


@dataclass(frozen=True)
class HeadBox:
    """A square crop in image pixels: top-left corner and side (it may reach outside the image)."""

    top: int
    left: int
    side: int


def to_gray_u8(image: np.ndarray) -> np.ndarray:
    """An (H, W) uint8 image from gray, RGB or RGBA uint8 input (ITU-R BT.601 luma, `core.io.colour`)."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 display image, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return luma_u8(image)
    raise ValueError(f"unsupported image shape {image.shape}")


def foreground_threshold(gray: np.ndarray) -> int:
    """The grey level above which a pixel belongs to the head (half of Otsu's threshold, at least 8)."""
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return max(int(otsu * _OTSU_FRACTION), _MIN_THRESHOLD)


def head_mask(gray: np.ndarray) -> np.ndarray:
    """Boolean (H, W) foreground of a gray uint8 image: the parts of the thresholded image that count as head."""
    height, width = gray.shape
    factor = min(1.0, _MASK_SIDE / max(height, width))
    small = cv2.resize(gray, (max(1, round(width * factor)), max(1, round(height * factor))),
                       interpolation=cv2.INTER_AREA) if factor < 1.0 else gray
    small = cv2.GaussianBlur(small, (3, 3), 0)
    binary = (small > foreground_threshold(small)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return np.zeros(gray.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    kept = np.flatnonzero(areas >= _PART_FRACTION * areas.max()) + 1
    mask: np.ndarray = np.isin(labels, kept).astype(np.uint8)
    if factor < 1.0:
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    return mask.astype(bool)


def head_hull(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) mask of the convex hull of the head (`head_mask`): no holes where CSF, bone or a lesion is dark."""
    return convex_hull(head_mask(image))


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """uint8 (H, W) mask of the convex hull of a boolean mask's parts (all zero for an empty mask)."""
    mask = mask.astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = np.zeros_like(mask)
    if contours:
        cv2.fillPoly(hull, [cv2.convexHull(np.concatenate(contours))], 1)
    return hull


def head_box(mask: np.ndarray) -> HeadBox:
    """The square about the mask's bounding box, with margins; the whole image when the mask is empty."""
    height, width = mask.shape
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        top, bottom, left, right = 0, height, 0, width
    else:
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    side = max(bottom - top, right - left)
    side = max(int(round(side * (1 + 2 * _MARGIN))), 1)
    centre_row, centre_col = (top + bottom) / 2, (left + right) / 2
    return HeadBox(int(round(centre_row - side / 2)), int(round(centre_col - side / 2)), side)


def crop_square(image: np.ndarray, box: HeadBox) -> np.ndarray:
    """The box cut out of the image; parts outside the image are black (0)."""
    height, width = image.shape[:2]
    out = np.zeros((box.side, box.side) + image.shape[2:], image.dtype)
    top, left = max(box.top, 0), max(box.left, 0)
    bottom, right = min(box.top + box.side, height), min(box.left + box.side, width)
    if bottom > top and right > left:
        out[top - box.top:bottom - box.top, left - box.left:right - box.left] = image[top:bottom, left:right]
    return out


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


def normalise_intensity(gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Float32 in [0, 1]: the crop's 1st percentile → 0, the head's 99th → 1, then a power curve takes the head's
    median to 0.45."""
    values = gray.astype(np.float32)
    head = values[mask] if mask.any() else values.ravel()
    dark = float(np.percentile(values, _DARK_PERCENTILE))
    bright = float(np.percentile(head, _BRIGHT_PERCENTILE))
    if bright <= dark:
        return np.zeros_like(values)
    scaled = np.clip((values - dark) / (bright - dark), 0.0, 1.0)
    median = float(np.median(scaled[mask])) if mask.any() else float(np.median(scaled))
    if 0.0 < median < 1.0:
        gamma = float(np.clip(np.log(_TARGET_MEDIAN) / np.log(median), *_GAMMA_LIMITS))
        scaled = np.power(scaled, gamma, dtype=np.float32)
    return scaled


def to_model_gray(display_u8: np.ndarray, size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """The (size, size) float32 image in [0, 1] that the model sees (steps 1–3 of the module docstring)."""
    gray = to_gray_u8(display_u8)
    mask = head_mask(gray)
    box = head_box(mask)
    crop = _resize(crop_square(gray, box), size)
    crop_mask = cv2.resize(crop_square(mask.astype(np.uint8), box), (size, size), interpolation=cv2.INTER_NEAREST)
    return normalise_intensity(crop, crop_mask.astype(bool))


def to_image_space(maps: np.ndarray, image_shape: tuple[int, int], box: HeadBox, grid: int = IMAGE_MAP_GRID
                   ) -> np.ndarray:
    """(K, h, w) maps over the model input (e.g. Grad-CAM) placed back on the whole display image: (K, rows, cols)
    with the image's aspect ratio and its longest side `grid` cells, bilinear inside the crop, 0 outside it. The
    inverse of the head crop, so an overlay lands on the anatomy the model looked at."""
    count, height, width = maps.shape
    if height == 0 or width == 0:
        return maps
    rows, cols = image_shape[:2]
    scale = grid / max(rows, cols)
    centres_y = (np.arange(max(1, round(rows * scale))) + 0.5) / scale  # display-image coordinates of the cells
    centres_x = (np.arange(max(1, round(cols * scale))) + 0.5) / scale
    map_y = ((centres_y - box.top) / box.side * height - 0.5).astype(np.float32)
    map_x = ((centres_x - box.left) / box.side * width - 0.5).astype(np.float32)
    grid_x, grid_y = np.meshgrid(map_x, map_y)
    inside = (((centres_y >= box.top) & (centres_y < box.top + box.side))[:, None]
              & ((centres_x >= box.left) & (centres_x < box.left + box.side))[None, :])
    placed = [cv2.remap(np.ascontiguousarray(m, np.float32), grid_x, grid_y, interpolation=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE) for m in maps]
    return np.where(inside, np.stack(placed), 0.0).astype(np.float32)


def head_coverage(hull: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
    """The share of each cell of a (rows, cols) grid over the image that is inside the head's hull (`convex_hull` of
    `head_mask`), lightly smoothed: multiplied into a placed map, attention is shown over the head only, fading out
    at its edge instead of filling the black background with the map's coarse cells; dark tissue inside (a necrotic
    core, oedema, CSF) keeps its attention."""
    mask = hull.astype(np.float32)
    rows, cols = grid_shape
    coverage = cv2.resize(mask, (cols, rows), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(coverage, (0, 0), 1.0)


def to_model_input(display_u8: np.ndarray, size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """Model input of shape (size, size, 3), float32 in [-1, 1], from an 8-bit display image."""
    scaled = to_model_gray(display_u8, size) * 2.0 - 1.0
    return np.repeat(scaled[:, :, None], 3, axis=2)


def to_model_batch(display_images: list[np.ndarray], size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """A (N, size, size, 3) batch; see `to_model_input`."""
    return np.stack([to_model_input(image, size) for image in display_images]).astype(np.float32)
