"""Choosing the slices to analyse: the middle of the stack, where a brain MR series shows the most brain.

Rule (also in the README): walk outwards from the middle slice (middle, then the nearest neighbours, lower index
first on ties) and take the first n slices that are not nearly empty. A slice is *nearly empty* when fewer than
MIN_CONTENT_FRACTION (5 %) of the pixels of its default display image, sampled on a grid of at most
CONTENT_GRID × CONTENT_GRID points, are brighter than BACKGROUND_LEVEL (25 of 255, i.e. about 10 % of full
brightness). When fewer than n slices have content, the nearest nearly-empty ones fill the gap, so the result has
min(n, len(series)) slices, in stack order. Slices whose pixels cannot be decoded are never chosen; they are
reported with their reason. A single-image
series returns that image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.errors import UnreadableFileError
from core.io.load import Series, Slice

#: How many central slices the desktop application and the CLI analyse per series unless told otherwise: one default,
#: so the same study gets the same study-level result in both. Nine slices of a typical 20-30-slice axial brain
#: series cover its central third, where the tumours of the training data sit.
DEFAULT_SLICE_COUNT = 9

BACKGROUND_LEVEL = 25
MIN_CONTENT_FRACTION = 0.05
CONTENT_GRID = 64


def content_fraction(display: np.ndarray) -> float:
    """Fraction of a display image's sampled pixels brighter than BACKGROUND_LEVEL."""
    step_rows = max(1, display.shape[0] // CONTENT_GRID)
    step_cols = max(1, display.shape[1] // CONTENT_GRID)
    sample = display[::step_rows, ::step_cols]  # strided view: no copy, no resampling cost
    return float(np.count_nonzero(sample > BACKGROUND_LEVEL)) / sample.size


def is_nearly_empty(slice_: Slice) -> bool:
    return content_fraction(slice_.display()) < MIN_CONTENT_FRACTION


@dataclass(frozen=True)
class SliceSelection:
    """The chosen slices, and the slices met on the way whose pixels could not be decoded (with the reason), so a
    caller can say why fewer slices than asked were analysed."""

    chosen: list[Slice]
    unreadable: list[tuple[Slice, str]]


def select_central_slices(series: Series, n: int) -> SliceSelection:
    """The n slices around the middle of the stack, skipping nearly empty ones (rule in the module docstring)."""
    if n <= 0 or not series.slices:
        return SliceSelection([], [])
    middle = (len(series.slices) - 1) / 2
    outward = sorted(range(len(series.slices)), key=lambda index: (abs(index - middle), index))
    with_content: list[int] = []
    nearly_empty: list[int] = []
    unreadable: list[tuple[Slice, str]] = []
    for index in outward:
        try:
            (nearly_empty if is_nearly_empty(series.slices[index]) else with_content).append(index)
        except UnreadableFileError as error:
            unreadable.append((series.slices[index], error.reason))
            continue
        if len(with_content) == n:
            break
    chosen = with_content + nearly_empty[: n - len(with_content)]
    return SliceSelection([series.slices[index] for index in sorted(chosen)],
                          sorted(unreadable, key=lambda entry: entry[0].index))


def central_slices(series: Series, n: int) -> list[Slice]:
    """The chosen slices of `select_central_slices`."""
    return select_central_slices(series, n).chosen


@dataclass(frozen=True)
class SlicePolicy:
    """Which slices of a series to analyse: the one policy the CLI, the self-test and the desktop state it with.

    `SlicePolicy.central(n)` (n defaults to DEFAULT_SLICE_COUNT) chooses by `select_central_slices`;
    `SlicePolicy.every_slice()` takes the whole series; `SlicePolicy.explicit(indices)` takes the user's own set (slice
    indices in the series; unknown ones are ignored). Build it with those constructors."""

    central_count: int | None = DEFAULT_SLICE_COUNT  # None: not the central rule
    indices: tuple[int, ...] | None = None  # None: not an explicit set

    @classmethod
    def central(cls, n: int = DEFAULT_SLICE_COUNT) -> SlicePolicy:
        return cls(central_count=n)

    @classmethod
    def every_slice(cls) -> SlicePolicy:
        return cls(central_count=None)

    @classmethod
    def explicit(cls, indices: Iterable[int]) -> SlicePolicy:
        return cls(central_count=None, indices=tuple(sorted(set(indices))))


def select_slices(series: Series, policy: SlicePolicy) -> SliceSelection:
    """The slices `policy` names, in stack order. Only the central rule decodes slices while choosing, so only it
    can report unreadable ones; the others leave decoding (and its failures) to the analysis."""
    if policy.central_count is not None:
        return select_central_slices(series, policy.central_count)
    if policy.indices is None:
        return SliceSelection(list(series.slices), [])
    return SliceSelection([series.slices[index] for index in policy.indices if 0 <= index < len(series.slices)], [])
