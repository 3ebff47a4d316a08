"""Putting a reopened case's slice results back on the slices they were made from.

A case stores each result's position in the series (`SliceResult.slice_index`) and its source file. When the study
has changed since (a file added, removed or renamed; a DICOM instance missing), the same position can hold another
image, and a saved Grad-CAM or class would be shown on it. So results are matched by their source file: a result
whose file is one slice of the series now takes that slice's position; a file holding several slices (frames of a
multi-frame object) must still hold it at the saved position. A result that cannot be placed is reported, never
guessed.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from core.analysis.results import SliceResult
from core.io.load import Series


@dataclasses.dataclass(frozen=True)
class Relinked:
    """The results placed on the series as it is now (positions updated), and those whose slice was not found."""

    placed: list[SliceResult]
    not_found: list[SliceResult]


def relink(results: Sequence[SliceResult], series: Series) -> Relinked:
    """Match each saved result to the series' slice made from the same file (module docstring)."""
    positions: dict[Path, list[int]] = defaultdict(list)
    for slice_ in series.slices:
        positions[slice_.path].append(slice_.index)
    placed, not_found = [], []
    for result in results:
        candidates = positions.get(result.source_path, []) if result.source_path is not None else []
        if len(candidates) == 1:
            placed.append(dataclasses.replace(result, slice_index=candidates[0]))
        elif result.slice_index in candidates:  # frames of one file: only where they were
            placed.append(result)
        else:
            not_found.append(result)
    return Relinked(sorted(placed, key=lambda result: result.slice_index), not_found)
