"""Distance measurement lengths: each direction scaled by its own PixelSpacing, pixels when the spacing is unknown."""

from __future__ import annotations

import math

import pytest

from core.viewing.measure import MM, PX, Distance, distance


def test_rows_and_columns_are_scaled_by_their_own_spacing() -> None:
    spacing = (0.5, 2.0)  # rows 0.5 mm apart, columns 2 mm apart
    assert distance((0, 0), (10, 0), spacing) == Distance(pytest.approx(5.0), MM)  # down 10 rows
    assert distance((0, 0), (0, 10), spacing) == Distance(pytest.approx(20.0), MM)  # across 10 columns
    # An oblique line: Pythagoras on the physical components, not the pixel length times one spacing.
    assert distance((2, 3), (6, 6), spacing).value == pytest.approx(math.hypot(4 * 0.5, 3 * 2.0))


def test_direction_and_fractional_points_do_not_matter() -> None:
    spacing = (0.9, 0.9)
    forward = distance((10.25, 4.5), (40.75, 60.0), spacing)
    assert forward == distance((40.75, 60.0), (10.25, 4.5), spacing)
    assert forward.value == pytest.approx(0.9 * math.hypot(30.5, 55.5))
    assert distance((5, 5), (5, 5), spacing) == Distance(0.0, MM)


@pytest.mark.parametrize("spacing", [None, (0.0, 1.0), (1.0, -0.5), (math.nan, 1.0), (1.0, math.inf), (1.0,)])
def test_unknown_or_unusable_spacing_gives_pixels(spacing) -> None:
    assert distance((0, 0), (30, 40), spacing) == Distance(50.0, PX)


def test_text_has_one_decimal_and_the_unit() -> None:
    assert Distance(23.44, MM).text() == "23.4 mm"
    assert Distance(57.0, PX).text() == "57.0 px"
