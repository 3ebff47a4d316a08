"""Draw the application icon (resources/icons/brainmri.{png,ico,icns}) from code, so it can be changed and redrawn.

The motif is what the application does: an axial brain MR slice, gray on a dark tile, with one warm Grad-CAM spot.

    .venv/bin/python installers/draw_icons.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZE = 1024  # drawn large, scaled down for each format
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def _tile() -> Image.Image:
    tile = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    ImageDraw.Draw(tile).rounded_rectangle((0, 0, SIZE - 1, SIZE - 1), radius=SIZE // 6, fill=(24, 34, 46, 255))
    return tile


def _brain_slice() -> Image.Image:
    """Skull ring, gray matter with a soft texture and a dark midline, as on a T1 axial slice."""
    layer = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(layer)
    box = (SIZE * 0.17, SIZE * 0.12, SIZE * 0.83, SIZE * 0.88)
    draw.ellipse(box, fill=235)  # skull
    inset = SIZE * 0.035
    draw.ellipse((box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset), fill=40)  # CSF gap
    inset *= 1.6
    draw.ellipse((box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset), fill=150)  # brain
    draw.line((SIZE / 2, box[1] + inset, SIZE / 2, box[3] - inset), fill=60, width=SIZE // 90)  # falx
    texture = np.random.default_rng(3).normal(0, 18, (SIZE // 64, SIZE // 64))  # gyri-like blotches
    texture_image = Image.fromarray(np.uint8(np.clip(texture + 128, 0, 255))).resize((SIZE, SIZE), Image.BICUBIC)
    gray = np.asarray(layer, np.float32)
    brain = gray == 150
    gray[brain] += np.asarray(texture_image, np.float32)[brain] - 128
    return Image.fromarray(np.uint8(np.clip(gray, 0, 255))).filter(ImageFilter.GaussianBlur(SIZE / 400))


def _heat_spot() -> Image.Image:
    """A Grad-CAM-like blob, red at its centre fading through orange to transparent."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    distance = np.hypot(x - SIZE * 0.62, y - SIZE * 0.40) / (SIZE * 0.16)
    strength = np.clip(1.0 - distance, 0.0, 1.0) ** 0.8
    rgba = np.zeros((SIZE, SIZE, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = np.uint8(200 * (1.0 - strength))
    rgba[..., 2] = 30
    rgba[..., 3] = np.uint8(220 * strength)
    return Image.fromarray(rgba, "RGBA")


def draw_icon() -> Image.Image:
    icon = _tile()
    slice_image = _brain_slice()
    icon.paste(Image.merge("RGBA", (slice_image, slice_image, slice_image, slice_image.point(lambda v: 255 if v else 0))),
               (0, 0), slice_image.point(lambda v: 255 if v else 0))
    return Image.alpha_composite(icon, _heat_spot())


def main() -> None:
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    icon = draw_icon()
    icon.resize((256, 256), Image.LANCZOS).save(ICON_DIR / "brainmri.png", optimize=True)
    icon.save(ICON_DIR / "brainmri.ico", sizes=ICO_SIZES)
    icon.resize((256, 256), Image.LANCZOS).save(ICON_DIR / "brainmri.icns")
    print(f"icons written to {ICON_DIR}")


if __name__ == "__main__":
    main()
