"""The one preprocessing function shared by training, evaluation and the application.

The training images are display-ready 8-bit grayscale exports resized bicubically to 256×256, so every input the
model sees (JPEG, PNG or a windowed DICOM slice) is brought to that same form: 8-bit gray → the dataset's own
bicubic resize to 256×256 → (only for a model with another input size) OpenCV bicubic resize to that size, exactly
as the trainer resizes the 256×256 training images → replicated to 3 channels → scaled to [-1, 1] (the Keras
Xception convention).

The dataset was resized with Pillow's bicubic filter, which widens its kernel when shrinking (antialiasing); OpenCV's
INTER_CUBIC does not. On the 24 original test JPEGs, Pillow reproduces the dataset's pixels to within the WebP
compression error (mean |Δ| 0.4–1.1 grey levels) while OpenCV differs up to twice as much (2.4 on a 630² image), so
the first resize uses Pillow. v2 of the id marks that change.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

MODEL_INPUT_SIZE = 256
PREPROCESSING_ID = "gray-bicubic-square-pm1-v2"
DATASET_SIZE = 256  # the resolution of the training set images


def to_gray_u8(image: np.ndarray) -> np.ndarray:
    """An (H, W) uint8 image from gray, RGB or RGBA uint8 input (ITU-R BT.601 luma, as OpenCV and Pillow use)."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 display image, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY)
    raise ValueError(f"unsupported image shape {image.shape}")


def to_dataset_form(gray: np.ndarray) -> np.ndarray:
    """An (H, W) uint8 image resized to 256×256 the way the training set was made (Pillow bicubic)."""
    if gray.shape == (DATASET_SIZE, DATASET_SIZE):
        return gray
    resized = Image.fromarray(np.ascontiguousarray(gray)).resize((DATASET_SIZE, DATASET_SIZE), Image.Resampling.BICUBIC)
    return np.asarray(resized)


def to_model_input(display_u8: np.ndarray, size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """Model input of shape (size, size, 3), float32 in [-1, 1], from an 8-bit display image."""
    gray = to_dataset_form(to_gray_u8(display_u8))
    if size != DATASET_SIZE:
        gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_CUBIC)
    scaled = gray.astype(np.float32) / 127.5 - 1.0
    return np.repeat(scaled[:, :, None], 3, axis=2)


def to_model_batch(display_images: list[np.ndarray], size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """A (N, size, size, 3) batch; see `to_model_input`."""
    return np.stack([to_model_input(image, size) for image in display_images]).astype(np.float32)
