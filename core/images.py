"""Plain picture files (JPEG, PNG, BMP, TIFF): headers via Pillow (size only, no decode), pixels via OpenCV.

A folder of pictures is one series in natural filename order ("img2" before "img10"). Pictures carry no patient or
geometry metadata, so their `SeriesInfo` stays empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import UnreadableFileError
from core.study import FULL_RANGE_8BIT, Series, SeriesInfo, Slice, Window, check_image_size

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


@dataclass(frozen=True)
class ImagePixelSource:
    """Decodes a picture to gray float32 on demand (colour → gray with the ITU-R BT.601 luma weights)."""

    path: Path
    cache_key: tuple[str, int, int]

    def decode(self) -> np.ndarray:
        try:
            # np.fromfile + imdecode rather than imread: imread cannot open non-ASCII paths on Windows.
            image = cv2.imdecode(np.fromfile(self.path, dtype=np.uint8), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
        except (OSError, cv2.error) as error:
            raise UnreadableFileError(self.path, f"the picture could not be read ({error})") from error
        if image is None:
            raise UnreadableFileError(self.path, "the picture is damaged or incomplete and could not be decoded")
        if image.ndim == 3:
            conversion = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
            image = cv2.cvtColor(image, conversion)
        return image.astype(np.float32)

    def voi_lut(self, pixels: np.ndarray) -> np.ndarray | None:
        return None

    def tags(self) -> list[tuple[str, str, str]]:
        return []


def read_header(path: Path) -> ImageHeader:
    """Size and bit depth without decoding; raises `UnreadableFileError` for damaged, tiny or huge pictures."""
    try:
        with Image.open(path) as image:
            cols, rows = image.size
            bit_depth = 16 if image.mode.startswith("I;16") or image.mode in ("I", "F") else 8
    except Image.DecompressionBombError:
        # Pillow refuses sizes far beyond its own limit before reading any pixel; report it in our terms.
        raise UnreadableFileError(path, f"image is too large to open safely (beyond Pillow's limit)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnreadableFileError(path, f"the picture is damaged and could not be read ({error})") from error
    check_image_size(path, rows, cols)
    return ImageHeader(path, rows, cols, bit_depth)


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
    stat = header.path.stat()
    source = ImagePixelSource(header.path, (str(header.path), stat.st_mtime_ns, stat.st_size))
    windows: list[Window] = [FULL_RANGE_8BIT] if header.bit_depth == 8 else []
    return Slice(header.path, None, index, (header.rows, header.cols), windows, source)
