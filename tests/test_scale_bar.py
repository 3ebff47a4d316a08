"""Scale bar lengths: the largest round (1-2-5) number of millimetres within a fifth of the visible width."""

from __future__ import annotations

import math

import pytest

from core.viewing.scale_bar import format_length_mm, scale_bar_length_mm


@pytest.mark.parametrize(("mm_per_pixel", "width_px", "expected_mm"), [
    (0.5, 1000, 100.0),  # a fifth of 500 mm is exactly 100 mm: kept, not rounded down by float error
    (0.5, 999, 50.0),
    (0.9, 800, 100.0),  # 144 mm available
    (0.9 / 4, 800, 20.0),  # zoomed in 4×: 36 mm available
    (0.1, 600, 10.0),  # 12 mm
    (0.01, 600, 1.0),  # 1.2 mm
    (0.002, 600, 0.2),  # extreme zoom: sub-millimetre lengths still follow 1-2-5
    (5.0, 600, 500.0),  # zoomed far out: 600 mm
])
def test_the_largest_round_length_under_a_fifth_of_the_width(mm_per_pixel: float, width_px: float,
                                                             expected_mm: float) -> None:
    length = scale_bar_length_mm(mm_per_pixel, width_px)
    assert length == pytest.approx(expected_mm)
    assert length <= mm_per_pixel * width_px / 5 * (1 + 1e-9)


def test_the_bar_shrinks_as_the_view_zooms_in_and_is_never_too_short() -> None:
    lengths = [scale_bar_length_mm(0.9 / zoom, 700) for zoom in (0.5, 1, 2, 4, 8, 16, 32)]
    assert lengths == sorted(lengths, reverse=True)
    for zoom, length in zip((0.5, 1, 2, 4, 8, 16, 32), lengths):
        available = 0.9 / zoom * 700 / 5
        assert available / 2.5 < length <= available  # 1-2-5 steps are at most 2.5 apart


@pytest.mark.parametrize(("mm_per_pixel", "width_px"), [(0.0, 800), (-1.0, 800), (0.5, 0), (math.nan, 800),
                                                        (math.inf, 800)])
def test_unknown_spacing_or_width_gives_no_bar(mm_per_pixel: float, width_px: float) -> None:
    assert scale_bar_length_mm(mm_per_pixel, width_px) is None


def test_labels_are_in_millimetres() -> None:
    assert format_length_mm(50.0) == "50 mm"
    assert format_length_mm(0.5) == "0.5 mm"
    assert format_length_mm(200.0) == "200 mm"
