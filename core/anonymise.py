"""What "anonymise" removes from reports, exports and file names: the patient's name, ID and birth date.

File names are replaced too, because folders and files are often named after the patient; a slice is then named by
its position in the series instead.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.analysis import SliceResult
    from core.study import SeriesInfo

IDENTIFYING_FIELDS = ("patient_name", "patient_id", "patient_birth_date")


def without_identifiers(info: SeriesInfo) -> SeriesInfo:
    """A copy of `info` with the identifying fields emptied."""
    return dataclasses.replace(info, **{name: "" for name in IDENTIFYING_FIELDS})


def slice_name(result: SliceResult, anonymise: bool) -> str:
    """The slice's file label, or "image k" (1-based series position) when anonymising."""
    return f"image {result.slice_index + 1}" if anonymise else result.slice_label
