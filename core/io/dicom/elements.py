"""Reading one element of a header that may be damaged, and finding where a frame's element lives.

Descriptive metadata must never cost a slice whose pixels are fine: pydicom converts values lazily and raises on a
damaged element (NotImplementedError for an unknown VR such as "MO" on Manufacturer or "EA" on PatientBirthDate,
found by fuzzing; ValueError / UnicodeDecodeError for undecodable values), so each field is read on its own and a
failure empties only that field.

In an enhanced multi-frame object (PS3.3 C.7.6.16) a frame's plane, pixel measures, VOI and rescale live in its
per-frame functional group item, else in the shared one; `frame_group` finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue


def frame_group(dataset: Dataset, frame: int | None, sequence: str) -> Dataset:
    """Where a frame's attribute lives in an enhanced multi-frame object (PS3.3 C.7.6.16): the per-frame functional
    group item, else the shared one; for classic objects the dataset itself."""
    candidates = []
    if frame is not None and dataset.get("PerFrameFunctionalGroupsSequence"):
        candidates.append(dataset.PerFrameFunctionalGroupsSequence[frame])
    if dataset.get("SharedFunctionalGroupsSequence"):
        candidates.append(dataset.SharedFunctionalGroupsSequence[0])
    for groups in candidates:
        if groups.get(sequence):
            return groups[sequence][0]
    return dataset


def text_value(dataset: Dataset, keyword: str, convert: Callable[[object], str] = str) -> str:
    """One descriptive element as text; "" when absent, empty or unreadable (see the module docstring)."""
    try:
        value = dataset.get(keyword)
        return "" if value is None else convert(value)
    except Exception:  # see the module docstring: any failure to read one element empties that field only
        return ""


def number_value(dataset: Dataset, keyword: str) -> float | None:
    """One single-valued numeric element (DS, IS, FD, ...) as a float; None when absent, empty, multi-valued or
    unreadable, for the reason given in the module docstring."""
    try:
        value = dataset.get(keyword)
        return float(value) if value not in (None, "") else None
    except Exception:  # see the module docstring: a damaged number empties that field only
        return None


def floats(value: Any) -> list[float] | None:
    """DS/FD values (single or multi-valued, as pydicom gives them) as floats; None when absent or empty."""
    if value is None or value == "":
        return None
    values = list(value) if isinstance(value, (MultiValue, list, tuple)) else [value]
    return [float(v) for v in values]
