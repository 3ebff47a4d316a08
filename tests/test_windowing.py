"""VOI windows: the three VOI LUT Functions against the formulas of DICOM PS3.3 C.11.2.1.2-3 and against pydicom's
`apply_windowing`, and the function a file states reaching the display."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import apply_windowing

from core.io.load import load_study
from core.io.windowing import FULL_RANGE_8BIT, VOI_FUNCTIONS, Window, voi_function, window_unit_range
from tests.dicom_factory import BRAIN_BASE, BRAIN_STEP, write_mr_series

VALUES = np.array([0.0, 74.5, 75.0, 99.5, 100.0, 110.0, 124.5, 125.0, 200.0], dtype=np.float32)


def _linear(x: float, c: float, w: float) -> float:
    """C.11.2.1.2.1, ymin 0, ymax 1."""
    if x <= c - 0.5 - (w - 1) / 2:
        return 0.0
    if x > c - 0.5 + (w - 1) / 2:
        return 1.0
    return (x - (c - 0.5)) / (w - 1) + 0.5


def _linear_exact(x: float, c: float, w: float) -> float:
    """C.11.2.1.3.2, ymin 0, ymax 1."""
    if x <= c - w / 2:
        return 0.0
    if x > c + w / 2:
        return 1.0
    return (x - c) / w + 0.5


def _sigmoid(x: float, c: float, w: float) -> float:
    """C.11.2.1.3.1, ymin 0, ymax 1."""
    return 1.0 / (1.0 + math.exp(-4.0 * (x - c) / w))


@pytest.mark.parametrize(("function", "formula"), [("LINEAR", _linear), ("LINEAR_EXACT", _linear_exact),
                                                   ("SIGMOID", _sigmoid)])
def test_each_function_follows_the_standards_formula(function, formula):
    window = Window(100.0, 51.0, function=function)
    expected = [formula(float(x), 100.0, 51.0) for x in VALUES]
    np.testing.assert_allclose(window_unit_range(VALUES, window), expected, atol=1e-6)


def test_the_functions_differ_where_the_standard_says_they_do():
    linear, exact, sigmoid = (window_unit_range(VALUES, Window(100.0, 50.0, function=f)) for f in VOI_FUNCTIONS)
    at = {float(x): k for k, x in enumerate(VALUES)}
    assert linear[at[99.5]] == pytest.approx(0.5) and exact[at[100.0]] == pytest.approx(0.5)  # LINEAR's half step
    assert linear[at[124.5]] == 1.0 and exact[at[124.5]] == pytest.approx(0.99)  # LINEAR spans w - 1
    assert sigmoid[at[100.0]] == pytest.approx(0.5)
    assert sigmoid[at[125.0]] == pytest.approx(1 / (1 + math.exp(-2)))  # no clipping at the window's edge
    assert 0.0 < sigmoid[at[0.0]] < 1e-3 and sigmoid[at[200.0]] > 1 - 1e-3


@pytest.mark.parametrize("function", VOI_FUNCTIONS)
def test_the_same_as_pydicoms_apply_windowing(function):
    dataset = Dataset()
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsStored, dataset.PixelRepresentation = 16, 0  # pydicom's output range: 0..65535
    dataset.WindowCenter, dataset.WindowWidth, dataset.VOILUTFunction = 1000.0, 300.0, function
    pixels = np.linspace(0, 2000, 401, dtype=np.float32)
    theirs = apply_windowing(pixels.astype(np.float64), dataset) / 65535.0
    ours = window_unit_range(pixels, Window(1000.0, 300.0, function=function))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_widths_the_standard_forbids_are_narrowed_not_fatal():
    threshold = window_unit_range(VALUES, Window(100.0, 0.2))  # LINEAR below 1: width 1, a threshold at c - 0.5
    assert list(threshold) == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert not Window(100.0, 0.5).has_valid_width and Window(100.0, 0.5, function="LINEAR_EXACT").has_valid_width
    assert not Window(100.0, 0.0, function="SIGMOID").has_valid_width
    assert np.all(np.isfinite(window_unit_range(VALUES, Window(100.0, 0.0, function="SIGMOID"))))


def test_the_full_range_window_is_the_identity_on_8_bit_values():
    pixels = np.array([-1.0, 0.0, 1.0, 254.0, 255.0, 256.0], dtype=np.float32)
    np.testing.assert_allclose(window_unit_range(pixels, FULL_RANGE_8BIT) * 255, [0, 0, 1, 254, 255, 255], atol=1e-4)


def test_stated_function_names_are_read_as_the_standard_defines_them():
    assert [voi_function(text) for text in ("SIGMOID", " linear_exact ", "", "LOG", "LINEAR")] == [
        "SIGMOID", "LINEAR_EXACT", "LINEAR", "LINEAR", "LINEAR"]  # absent or unknown: LINEAR


def test_an_adjusted_window_keeps_its_function():
    dragged = Window(100.0, 50.0, "SOFT TISSUE", "SIGMOID").adjusted(120.0, 80.0)
    assert dragged == Window(120.0, 80.0, "", "SIGMOID")


def test_a_files_voi_lut_function_reaches_the_display(tmp_path: Path):
    write_mr_series(tmp_path, n_slices=3, WindowCenter=[700.0, 500.0], WindowWidth=[400.0, 0.5],
                    VOILUTFunction="SIGMOID")
    middle = load_study(tmp_path).series[0].slices[1]
    assert middle.windows == [Window(700.0, 400.0, "", "SIGMOID"), Window(500.0, 0.5, "", "SIGMOID")]
    stored = BRAIN_BASE + BRAIN_STEP * 1  # the phantom's value at the centre of slice 1
    assert middle.display()[64, 64] == round(255 * _sigmoid(stored, 700.0, 400.0))


def test_a_width_its_function_forbids_leaves_that_window_out(tmp_path: Path):
    write_mr_series(tmp_path, n_slices=3, WindowCenter=[700.0, 500.0], WindowWidth=[400.0, 0.5])
    assert load_study(tmp_path).series[0].slices[1].windows == [Window(700.0, 400.0)]  # LINEAR needs ≥ 1
