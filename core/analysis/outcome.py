"""What became of one analysed slice: counted, out of distribution, or unreadable (`SliceResult.outcome`).

Its own small module, beneath `core.analysis.results` and `core.output.wording`, so the words for each outcome can be
chosen without importing the analysis."""

from __future__ import annotations

from enum import Enum
from typing import Protocol


class SliceOutcome(Enum):
    COUNTED = "counted"  # an in-distribution prediction: it counts towards the study-level result
    OUT_OF_DISTRIBUTION = "out of distribution"  # the model's OOD gate refused it: no class
    UNREADABLE = "could not be read"  # its pixels could not be decoded: never reached the model


class _Labelled(Protocol):
    @property
    def label(self) -> str | None: ...


def outcome_of(prediction: _Labelled | None) -> SliceOutcome:
    """The outcome of a slice with this prediction (None: the slice could not be decoded)."""
    if prediction is None:
        return SliceOutcome.UNREADABLE
    return SliceOutcome.OUT_OF_DISTRIBUTION if prediction.label is None else SliceOutcome.COUNTED
