"""The format-neutral study model: Study → Series → Slice, the display pipeline (window → 8-bit) and the caches.

`core.io.load.load_study` builds these from files, through `core.io.dicom` (pydicom) and `core.io.pictures` (Pillow),
which
implement `PixelSource`; `core.io.load` re-exports the types, so callers import everything about a study from there.
A slice's pixels are decoded on first use (`Slice.modality_pixels()` / `Slice.display()`) and kept in a
process-wide, byte-bounded LRU cache that worker threads and the UI thread share (each cache holds a lock for its
bookkeeping only, never while decoding). `Slice.cached_display()` answers from the caches without decoding, for the
UI thread; workers fill them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from core.errors import BrainMriError, UnreadableFileError
from core.io.windowing import Window, auto_window, percentile_sample, window_from_sample, window_unit_range
from core.viewing.orientation import AXIS_LETTERS

#: Largest image (rows × columns) decoded. Above this a file is skipped rather than allocating gigabytes:
#: 25 Mpx is 100 MB as float32, far beyond any MR slice (≤ 1024²) yet small enough to keep a few in memory.
MAX_IMAGE_PIXELS = 25_000_000
#: Smallest side accepted; an image under 8 pixels wide or high carries no diagnostic content (e.g. a 1×1 spacer).
MIN_IMAGE_SIDE = 8
#: Where in the stack the slices sampled for a series' automatic window lie (fractions of its length): spread over
#: it, so one window suits the whole series, and clear of its ends, which often hold little but the skull's edge.
SERIES_WINDOW_SAMPLES = (0.1, 0.3, 0.5, 0.7, 0.9)


@dataclass
class SeriesInfo:
    """Descriptive metadata of a series for the viewer and the report; empty strings / None when unknown."""

    patient_name: str = ""
    patient_id: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_date: str = ""
    study_time: str = ""  # "14:32", from Study Time (0008,0030)
    accession_number: str = ""  # (0008,0050): what RIS and PACS match a report to
    study_description: str = ""
    series_description: str = ""
    modality: str = ""
    orientation: str = ""
    manufacturer: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    series_number: str = ""
    pixel_spacing: tuple[float, float] | None = None
    slice_thickness: float | None = None
    slice_spacing: float | None = None
    #: What `core.io.sequence` tells the sequence by, read with the rest of the header so nothing re-reads a file:
    #: whether Contrast/Bolus Agent (0018,0010) has a value, and Repetition, Echo and Inversion Time in ms
    #: (0018,0080/0081/0082, PS3.3 C.8.3.1).
    contrast_agent_recorded: bool = False
    repetition_time: float | None = None
    echo_time: float | None = None
    inversion_time: float | None = None

    @property
    def from_pictures(self) -> bool:
        """Whether the series is picture files (JPEG, PNG), which have no DICOM header: a DICOM file states its
        Modality (PS3.3 C.7.3.1, type 1), a picture none."""
        return not self.modality


@dataclass(frozen=True)
class SkippedFile:
    """A file that `load_study` could not open, with a reason a radiologist can read."""

    path: Path
    reason: str


class PixelSource(Protocol):
    """What a `Slice` needs from its file format (implemented in `core.io.dicom` and `core.io.pictures`)."""

    @property
    def cache_key(self) -> Hashable:
        """Names the decoded pixels in the caches: the file (path, modification time, size) and the frame."""

    def decode(self) -> np.ndarray:
        """Modality pixels as float32 (H, W); raises `UnreadableFileError` when the pixels cannot be decoded."""

    def voi_lut(self, pixels: np.ndarray) -> np.ndarray | None:
        """The file's own VOI LUT applied, scaled to [0, 1]; None when the file has none."""

    def tags(self) -> list[tuple[str, str, str]]:
        """Rows for the tag table."""


@dataclass(eq=False)
class Slice:
    """One 2-D image of a series: a single-frame file, one frame of a multi-frame file, or one picture file."""

    path: Path
    frame: int | None
    index: int
    shape: tuple[int, int]
    windows: list[Window]
    source: PixelSource = field(repr=False)
    #: MONOCHROME1: low values are white, so the display image is inverted after windowing (PS3.3 C.7.6.3.1.2).
    inverted: bool = False
    #: Where the slice lies in mm (`core.io.dicom.geometry.normal_position`): along the patient axis nearest its
    #: normal, `position_axis` (0, 1, 2: x, y, z of LPS; + is left, posterior, superior), from ImagePositionPatient
    #: (PS3.3 C.7.6.2.1.1); else Slice Location (C.7.6.2.1.2), whose axis is not stated (None); None when unknown.
    position: float | None = None
    position_axis: int | None = None
    #: Series Number (PS3.3 C.7.3.1) and Instance Number (C.7.6.1) as the file gives them; unknown: "" / None.
    series_number: str = ""
    instance_number: int | None = None
    #: This slice's own geometry (PS3.3 C.7.6.2.1.1), None when unknown: ImageOrientationPatient (six direction
    #: cosines) and PixelSpacing (row, column mm). Pictures have none.
    orientation: tuple[float, ...] | None = None
    pixel_spacing: tuple[float, float] | None = None
    #: Why this slice's geometry is unknown although its file states it (a damaged value), "" when it is not.
    geometry_problem: str = ""
    #: The automatic window shared by the slices of a series (`Series` sets it); None for a slice on its own.
    series_window: SeriesWindow | None = field(default=None, repr=False)

    @property
    def named_by_file(self) -> bool:
        """Whether `label` is the file's name: without an instance number or a position nothing else tells the
        slice apart (pictures). Anonymised outputs name such a slice "image k" (`core.output.anonymise.slice_name`)."""
        return self.instance_number is None and self.position is None

    @property
    def label(self) -> str:
        """The one name a slice is shown by (viewer, results, reports, JSON, CLI): as radiologists name it,
        "Se 6 Im 26, S 12.5 mm" (series and instance number, "Fr k" for a frame of a multi-frame object, and the
        position, lettered with the patient direction as scanners annotate it: "S"/"I" on axial slices, "L"/"R" on
        sagittal, "A"/"P" on coronal; "loc" for a Slice Location, whose direction is not stated), leaving out what is
        unknown; the file name when `named_by_file`."""
        if self.named_by_file:
            return self.path.name if self.frame is None else f"{self.path.name} frame {self.frame + 1}"
        numbers = [f"Se {self.series_number}" if self.series_number else "",
                   f"Im {self.instance_number}" if self.instance_number is not None else "",
                   f"Fr {self.frame + 1}" if self.frame is not None else ""]
        return ", ".join(part for part in (" ".join(number for number in numbers if number), self._position_words())
                         if part)

    def _position_words(self) -> str:
        if self.position is None:
            return ""
        value = round(self.position, 1) + 0.0  # no "-0.0"
        if self.position_axis is None:
            return f"loc {value:.1f} mm"
        return f"{AXIS_LETTERS[self.position_axis][0 if value >= 0 else 1]} {abs(value):.1f} mm"

    def modality_pixels(self) -> np.ndarray:
        """Pixel values after the modality LUT, float32 (H, W), read-only (shared through the cache)."""
        key = self.source.cache_key
        cached = PIXEL_CACHE.get(key)
        if cached is not None:
            return cached
        pixels = np.ascontiguousarray(self.source.decode(), dtype=np.float32)
        if pixels.shape != self.shape:
            raise UnreadableFileError(
                self.path, f"decoded image is {pixels.shape[1]}×{pixels.shape[0]}, header says "
                f"{self.shape[1]}×{self.shape[0]}"
            )
        pixels.setflags(write=False)
        PIXEL_CACHE.put(key, pixels)
        return pixels

    def display(self, window: Window | None = None) -> np.ndarray:
        """8-bit display image (H, W), read-only: window (default: first DICOM window, else the file's VOI LUT,
        else the series' automatic window) applied, MONOCHROME1 inverted."""
        # Without a window of the file's own, the default rendering depends on the series the slice was opened in
        # (its automatic window), so the key holds that window.
        automatic = self.automatic_window() if window is None and not self.windows else None
        key = (self.source.cache_key, window, automatic)
        cached = DISPLAY_CACHE.get(key)
        return cached if cached is not None else self._store_display(key, self.modality_pixels(), window)

    def cached_display(self, window: Window | None = None) -> np.ndarray | None:
        """`display(window)` when it needs no decoding (the display image or the pixels are cached, and so is the
        automatic window where it is needed), else None: the viewer asks this on the UI thread and leaves a miss
        to a worker. Windowing cached pixels is done here (a W/L drag re-renders the shown slice)."""
        automatic = None
        if window is None and not self.windows:
            automatic = self.known_automatic_window()
            if automatic is None:
                return None
        key = (self.source.cache_key, window, automatic)
        cached = DISPLAY_CACHE.get(key)
        if cached is not None:
            return cached
        pixels = PIXEL_CACHE.get(self.source.cache_key)
        return self._store_display(key, pixels, window) if pixels is not None else None

    def _store_display(self, key: Hashable, pixels: np.ndarray, window: Window | None) -> np.ndarray:
        image = self._render(pixels, window)
        image.setflags(write=False)
        DISPLAY_CACHE.put(key, image)
        return image

    def default_window(self) -> Window:
        """The window `display(None)` uses when the file has no VOI LUT: the first listed, else automatic."""
        return self.windows[0] if self.windows else self.automatic_window()

    def known_default_window(self) -> Window | None:
        """`default_window()` when it needs no decoding, else None (see `known_automatic_window`)."""
        return self.windows[0] if self.windows else self.known_automatic_window()

    def automatic_window(self) -> Window:
        """The series' automatic window (one for all its slices, so browsing keeps the same window/level); a slice
        on its own, or in a series none of whose sampled slices decodes, gets its own."""
        shared = self.series_window.get() if self.series_window is not None else None
        return shared or auto_window(self.modality_pixels())

    def known_automatic_window(self) -> Window | None:
        """`automatic_window()` when it needs no decoding: the series' window once computed, a slice's own from its
        cached pixels; None until then."""
        if self.series_window is not None:
            computed, shared = self.series_window.peek()
            if not computed:
                return None
            if shared is not None:
                return shared
        pixels = PIXEL_CACHE.get(self.source.cache_key)
        return auto_window(pixels) if pixels is not None else None

    def tags(self) -> list[tuple[str, str, str]]:
        return self.source.tags()

    def _render(self, pixels: np.ndarray, window: Window | None) -> np.ndarray:
        scaled = self.source.voi_lut(pixels) if window is None and not self.windows else None
        if scaled is None:
            scaled = window_unit_range(pixels, window or self.default_window())
        if self.inverted:
            scaled = 1.0 - scaled
        return (scaled * 255.0 + 0.5).astype(np.uint8)  # values are in [0, 255.5): rounds half up


class SeriesWindow:
    """A series' automatic window, computed once on first use from the slices at SERIES_WINDOW_SAMPLES.

    Per-slice automatic windows made window/level jump from slice to slice (each slice stretched to its own range).
    No lock: two threads asking at once both compute the same window, which costs a little work but never makes the
    UI thread wait behind a worker's decoding."""

    def __init__(self, slices: Sequence[Slice]) -> None:
        self._slices = list(slices)
        self._computed = False
        self._window: Window | None = None

    def get(self) -> Window | None:
        """The window; None when none of the sampled slices could be decoded."""
        if not self._computed:
            self._window = self._compute()
            self._computed = True  # after the window: a thread that sees it set reads the window computed
        return self._window

    def peek(self) -> tuple[bool, Window | None]:
        """(whether the window has been computed, the window), without computing it."""
        computed = self._computed
        return computed, self._window if computed else None

    def _compute(self) -> Window | None:
        count = len(self._slices)
        sampled = [self._slices[index] for index in sorted({min(count - 1, int(fraction * count))
                                                             for fraction in SERIES_WINDOW_SAMPLES})]
        samples = []
        for slice_ in sampled:
            try:
                samples.append(percentile_sample(slice_.modality_pixels()).ravel())
            except BrainMriError:
                continue  # a damaged slice is reported where it is shown; the others still set the window
        return window_from_sample(np.concatenate(samples)) if samples else None


@dataclass(eq=False)
class Series:
    uid: str
    info: SeriesInfo
    slices: list[Slice]

    def __post_init__(self) -> None:
        shared = SeriesWindow(self.slices)
        for slice_ in self.slices:
            slice_.series_window = shared

    @property
    def description(self) -> str:
        """One line for series lists, e.g. "3: T1 AX POST (MR, 40 slices)"."""
        name = self.info.series_description or (self.slices[0].path.parent.name if self.slices else "")
        prefix = f"{self.info.series_number}: " if self.info.series_number else ""
        modality = f"{self.info.modality}, " if self.info.modality else ""
        count = f"{len(self)} slice" + ("" if len(self) == 1 else "s")
        return f"{prefix}{name} ({modality}{count})"

    def __len__(self) -> int:
        return len(self.slices)


@dataclass(eq=False)
class Study:
    source: Path
    series: list[Series]
    skipped: list[SkippedFile]
    #: True when `should_cancel` stopped the scan; `series` then holds only what was read before.
    cancelled: bool = False


def check_image_size(path: Path, rows: int, cols: int) -> None:
    """Raise `UnreadableFileError` for images too small to read or too large to decode safely."""
    if rows < MIN_IMAGE_SIDE or cols < MIN_IMAGE_SIDE:
        raise UnreadableFileError(path, f"image is too small ({cols}×{rows} pixels; at least "
                                        f"{MIN_IMAGE_SIDE}×{MIN_IMAGE_SIDE} needed)")
    if rows * cols > MAX_IMAGE_PIXELS:
        raise UnreadableFileError(path, f"image is too large to open safely ({cols}×{rows} pixels; the limit is "
                                        f"{MAX_IMAGE_PIXELS / 1e6:.0f} million pixels)")


class ByteBoundedLru:
    """Thread-safe LRU of numpy arrays bounded by their total size in bytes.

    Decoding happens outside the lock: two threads may decode the same slice at once, which wastes a little work
    but never blocks the UI thread behind a slow decode.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def current_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        if value.nbytes > self.max_bytes:
            return  # larger than the whole budget: hand it back uncached
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self._bytes -= previous.nbytes
            self._items[key] = value
            self._bytes += value.nbytes
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


PIXEL_CACHE = ByteBoundedLru(512 * 1024**2)
DISPLAY_CACHE = ByteBoundedLru(128 * 1024**2)
