"""central_slices: n slices around the middle, nearly empty ones skipped (rule in core/analysis/selection.py)."""

from __future__ import annotations

import cv2
import numpy as np

from core.analysis.selection import MIN_CONTENT_FRACTION, central_slices, content_fraction, is_nearly_empty
from core.io.load import load_study
from tests.dicom_factory import write_mr_series


def _series(folder, **options):
    write_mr_series(folder, **options)
    (series,) = load_study(folder).series
    return series


def test_n_slices_around_the_middle_in_stack_order(tmp_path):
    series = _series(tmp_path, n_slices=40, rows=64, cols=64)
    assert [s.index for s in central_slices(series, 5)] == [17, 18, 19, 20, 21]
    assert [s.index for s in central_slices(series, 1)] == [19]


def test_nearly_empty_ends_of_the_stack_are_skipped(tmp_path):
    series = _series(tmp_path, n_slices=40, rows=64, cols=64)
    with_content = [s.index for s in series.slices if not is_nearly_empty(s)]
    assert with_content == list(range(4, 36))  # the phantom's head shrinks to nothing at both ends
    assert [s.index for s in central_slices(series, 32)] == with_content
    # asking for more than have content: the nearly-empty slices nearest the middle fill the gap
    assert [s.index for s in central_slices(series, 36)] == list(range(2, 38))


def test_more_requested_than_available_returns_every_slice(tmp_path):
    series = _series(tmp_path, n_slices=4, rows=64, cols=64)
    assert [s.index for s in central_slices(series, 10)] == [0, 1, 2, 3]
    assert central_slices(series, 0) == []


def test_single_picture_returns_that_picture_even_when_dark(tmp_path):
    path = tmp_path / "black.png"
    cv2.imwrite(str(path), np.zeros((32, 32), np.uint8))
    (series,) = load_study(path).series
    assert central_slices(series, 3) == series.slices


def test_undecodable_slices_are_never_returned(tmp_path):
    series = _series(tmp_path, n_slices=9, rows=64, cols=64)
    broken = series.slices[4]
    broken.path.write_bytes(broken.path.read_bytes()[:400])  # damaged after the scan
    chosen = central_slices(series, 3)
    assert broken not in chosen
    assert [s.index for s in chosen] == [2, 3, 5]  # outward from 4: 3, 5, 2 (lower index first on ties)


def test_content_fraction_threshold():
    image = np.zeros((128, 128), np.uint8)
    image[:, :4] = 200  # 4 of 128 columns bright: 3 % of the area
    assert content_fraction(image) < MIN_CONTENT_FRACTION
    image[:, :16] = 200
    assert content_fraction(image) == 16 / 128
