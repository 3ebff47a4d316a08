"""The per-slice probability profile's data (core/analysis/profile.py): values, states, runs and the slice axis."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.profile import SliceState, probability_profile, slice_at, slice_position, study_profile
from core.analysis.results import aggregate
from tests.analysis_doubles import ManifestDouble, prediction, slice_result

GLIOMA = [0.7, 0.1, 0.1, 0.1]
MENINGIOMA = [0.1, 0.7, 0.1, 0.1]


def test_counted_slices_have_their_probabilities_at_their_position_and_the_rest_none() -> None:
    results = [slice_result(2, prediction(GLIOMA)), slice_result(3, prediction(MENINGIOMA)),
               slice_result(4, prediction(GLIOMA, ood_reason="blank image")), slice_result(6, None, error="bad")]
    profile = probability_profile(results, series_length=8, class_count=4)
    assert profile.series_length == 8
    assert profile.states == (SliceState.NOT_ANALYSED,) * 2 + (SliceState.COUNTED,) * 2 + (
        SliceState.OUT_OF_DISTRIBUTION, SliceState.NOT_ANALYSED, SliceState.UNREADABLE, SliceState.NOT_ANALYSED)
    np.testing.assert_allclose(profile.probabilities[2:4], [GLIOMA, MENINGIOMA])
    # No values where the model gave no class (out of distribution), had no image, or was not asked.
    assert np.isnan(profile.probabilities[[0, 1, 4, 5, 6, 7]]).all()
    assert profile.analysed == [2, 3, 4, 6]
    assert profile.indices(SliceState.OUT_OF_DISTRIBUTION) == [4] and profile.indices(SliceState.UNREADABLE) == [6]


def test_curves_join_consecutive_counted_slices_only() -> None:
    counted = [1, 2, 3, 5, 8, 9]
    results = [slice_result(index, prediction(GLIOMA)) for index in counted]
    results.append(slice_result(4, prediction(GLIOMA, ood_reason="blank image")))
    profile = probability_profile(results, series_length=10, class_count=4)
    assert profile.runs() == [range(1, 4), range(5, 6), range(8, 10)]
    assert profile.analysed_runs() == [range(1, 6), range(8, 10)]  # the out-of-distribution slice is analysed


def test_the_profile_fills_in_as_results_stream() -> None:
    results = [slice_result(index, prediction(GLIOMA)) for index in range(5)]
    analysed = [probability_profile(results[:count], 5, 4).analysed for count in range(6)]
    assert analysed == [list(range(count)) for count in range(6)]


def test_results_outside_the_series_are_left_out() -> None:
    profile = probability_profile([slice_result(7, prediction(GLIOMA))], series_length=5, class_count=4)
    assert profile.analysed == []


def test_a_study_without_a_recorded_length_ends_at_its_last_analysed_slice() -> None:
    results = [slice_result(index, prediction(GLIOMA)) for index in (3, 4)]
    assert study_profile(aggregate(results, ManifestDouble())).series_length == 5
    assert study_profile(aggregate(results, ManifestDouble(), series_length=40)).series_length == 40


def test_slice_positions_span_the_axis_and_clicks_find_the_nearest_slice() -> None:
    positions = [slice_position(index, 5, 10.0, 50.0) for index in range(5)]
    assert positions == pytest.approx([10.0, 20.0, 30.0, 40.0, 50.0])
    assert [slice_at(x, 5, 10.0, 50.0) for x in (10.0, 24.0, 26.0, 50.0)] == [0, 1, 2, 4]
    assert slice_at(-100.0, 5, 10.0, 50.0) == 0 and slice_at(900.0, 5, 10.0, 50.0) == 4  # beyond the ends
    assert slice_position(0, 1, 10.0, 50.0) == 30.0 and slice_at(12.0, 1, 10.0, 50.0) == 0  # a single slice
