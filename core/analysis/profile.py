"""The per-slice probability profile: each analysed slice's class probabilities at its position in the series, for
the strip above the slice slider (`desktop/viewer/profile_view.py`) and the report's figure (`core/output/pdf.py`).

Only counted slices (in distribution) have values. The model gives no class for an out-of-distribution slice, so its
probabilities are not drawn, and an unreadable slice has none; both are marked as analysed without a value. Curves
join consecutive slices only: across a slice that was not analysed nothing is drawn, so the profile never suggests
a value the model did not compute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.analysis.results import SliceResult, StudyResult


class SliceState(Enum):
    NOT_ANALYSED = "not analysed"
    COUNTED = "counted"
    OUT_OF_DISTRIBUTION = "out of distribution"
    UNREADABLE = "could not be read"


@dataclass(frozen=True)
class ProbabilityProfile:
    """`probabilities[index, class]` of each slice of the series (NaN where the slice has no counted prediction) and
    each slice's `SliceState`."""

    probabilities: np.ndarray
    states: tuple[SliceState, ...]

    @property
    def series_length(self) -> int:
        return len(self.states)

    def indices(self, state: SliceState) -> list[int]:
        return [index for index, own in enumerate(self.states) if own is state]

    @property
    def analysed(self) -> list[int]:
        return [index for index, state in enumerate(self.states) if state is not SliceState.NOT_ANALYSED]

    def runs(self) -> list[range]:
        """Maximal runs of consecutive counted slices: each is drawn as one stretch of curve."""
        return consecutive_runs(self.indices(SliceState.COUNTED))

    def analysed_runs(self) -> list[range]:
        """Maximal runs of consecutive analysed slices, whatever their result: the marked parts of the series."""
        return consecutive_runs(self.analysed)


def consecutive_runs(indices: list[int]) -> list[range]:
    """Maximal runs of consecutive indices (ascending): where a profile's curve may join neighbouring slices."""
    runs: list[range] = []
    for index in indices:
        if runs and runs[-1].stop == index:
            runs[-1] = range(runs[-1].start, index + 1)
        else:
            runs.append(range(index, index + 1))
    return runs


def slice_entry(result: SliceResult) -> tuple[SliceState, np.ndarray | None]:
    """What the profile holds for one analysed slice: its state, and its probabilities when it is counted (None
    otherwise). The window updates its profile one streamed result at a time with it."""
    state = SliceState[result.outcome.name]  # the outcomes' names are those of the analysed states
    if state is SliceState.COUNTED and result.prediction is not None:  # counted implies a prediction
        return state, result.prediction.probabilities
    return state, None


def probability_profile(slice_results: Iterable[SliceResult], series_length: int, class_count: int
                        ) -> ProbabilityProfile:
    """The profile of a series of `series_length` slices from its analysed slices' results."""
    probabilities = np.full((series_length, class_count), np.nan)
    states = [SliceState.NOT_ANALYSED] * series_length
    for result in slice_results:
        if not 0 <= result.slice_index < series_length:
            continue  # a result from another series length (e.g. a case reopened on a changed folder) has no place
        states[result.slice_index], values = slice_entry(result)
        if values is not None:
            probabilities[result.slice_index] = values
    return ProbabilityProfile(probabilities, tuple(states))


def study_profile(study: StudyResult) -> ProbabilityProfile:
    """The profile of an analysed series; without a recorded series length it ends at the last analysed slice."""
    length = study.series_length or max((result.slice_index + 1 for result in study.slice_results), default=0)
    return probability_profile(study.slice_results, length, len(study.classes))


def slice_position(index: int, series_length: int, first: float, last: float) -> float:
    """Where slice `index` lies on an axis whose first slice is at `first` and last slice at `last` (as the slice
    slider places its values); a single slice sits in the middle."""
    if series_length <= 1:
        return (first + last) / 2
    return first + (last - first) * index / (series_length - 1)


def slice_at(position: float, series_length: int, first: float, last: float) -> int:
    """The slice nearest to `position` on the axis of `slice_position`."""
    if series_length <= 1 or last == first:
        return 0
    index = round((position - first) / (last - first) * (series_length - 1))
    return max(0, min(series_length - 1, index))
