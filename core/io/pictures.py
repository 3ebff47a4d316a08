"""Plain picture files (JPEG, PNG, BMP, TIFF) through Pillow: size from the header without decoding, pixels on demand.

Pillow rather than OpenCV decodes, because it refuses truncated files where OpenCV silently fills the missing part
of a JPEG with gray, which would be analysed as if it were anatomy.

A folder of pictures is one series in natural filename order ("img2" before "img10"). Pictures carry no patient or
geometry metadata, so their `SeriesInfo` stays empty.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import UnreadableFileError
from core.io.colour import luma
from core.io.types import Series, SeriesInfo, Slice, check_image_size
from core.io.windowing import FULL_RANGE_8BIT, Window

#: Leading bytes of each supported format; the content decides, not the extension.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*")
_NUMBER_RUNS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders embedded numbers by value: "slice2" < "slice10"."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in _NUMBER_RUNS.split(text) if part)


def is_image_file(path: Path) -> bool:
    with path.open("rb") as stream:
        head = stream.read(8)
    return any(head.startswith(signature) for signature in _SIGNATURES)


@dataclass(frozen=True)
class ImageHeader:
    path: Path
    rows: int
    cols: int
    bit_depth: int
    modified_ns: int  # with `size`, the pixel cache's key: a file changed on disk is decoded afresh
    size: int


#: Pillow modes that hold more than 8 bits of gray; they keep their values (and get the automatic window).
_DEEP_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
#: Pillow modes whose values are gray already; every other mode (colour, palette, alpha) goes through RGB to luma.
_GRAY_MODES = ("L", *_DEEP_GRAY_MODES)
_PILLOW_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


@dataclass(frozen=True)
class ImagePixelSource:
    """Decodes a picture to gray float32 on demand (colour → gray by `core.io.colour.luma`)."""

    path: Path
    cache_key: tuple[str, int, int]

    def decode(self) -> np.ndarray:
        try:
            with Image.open(self.path) as image:
                image.load()  # raises on truncated or corrupt data instead of returning a partial image
                if image.mode in _GRAY_MODES:
                    return np.asarray(image, dtype=np.float32)
                return luma(np.asarray(image.convert("RGB")))
        except _PILLOW_ERRORS as error:
            raise UnreadableFileError(self.path, f"the picture is damaged or incomplete ({error})") from error

    def voi_lut(self, pixels: np.ndarray) -> np.ndarray | None:
        return None

    def tags(self) -> list[tuple[str, str, str]]:
        return []


def read_header(path: Path) -> ImageHeader:
    """Size and bit depth without decoding; raises `UnreadableFileError` for damaged, tiny or huge pictures."""
    try:
        with Image.open(path) as image:
            cols, rows = image.size
            bit_depth = 16 if image.mode in _DEEP_GRAY_MODES else 8
            # Taken from the open file: a picture deleted or moved after the scan must not fail the whole study.
            stat = os.fstat(image.fp.fileno()) if image.fp is not None else path.stat()
    except Image.DecompressionBombError as error:
        # Pillow refuses sizes far beyond its own limit from the header alone; say so in the same words as ours.
        raise UnreadableFileError(path, f"image is too large to open safely ({error})") from None
    except _PILLOW_ERRORS as error:
        raise UnreadableFileError(path, f"the picture is damaged and could not be read ({error})") from error
    check_image_size(path, rows, cols)
    return ImageHeader(path, rows, cols, bit_depth, stat.st_mtime_ns, stat.st_size)


def build_series(headers: list[ImageHeader]) -> list[Series]:
    """One series per folder, slices in natural filename order."""
    by_folder: dict[Path, list[ImageHeader]] = {}
    for header in headers:
        by_folder.setdefault(header.path.parent, []).append(header)
    series = []
    for folder, members in sorted(by_folder.items(), key=lambda item: natural_key(str(item[0]))):
        members.sort(key=lambda h: natural_key(h.path.name))
        slices = [_slice(header, index) for index, header in enumerate(members)]
        series.append(Series(uid=str(folder), info=SeriesInfo(), slices=slices))
    return series


def _slice(header: ImageHeader, index: int) -> Slice:
    source = ImagePixelSource(header.path, (str(header.path), header.modified_ns, header.size))
    windows: list[Window] = [FULL_RANGE_8BIT] if header.bit_depth == 8 else []
    return Slice(header.path, None, index, (header.rows, header.cols), windows, source)
