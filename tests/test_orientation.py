"""Orientation letters from ImageOrientationPatient (PS3.3 C.7.6.2.1.1): standard planes, oblique planes, and no
letters when the orientation is unknown."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from core.io.load import load_study
from core.paths import sample_study_dir
from core.viewing.orientation import EdgeLabels, direction_letters, edge_labels
from tests.dicom_factory import write_enhanced_mr, write_mr_series

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


@pytest.mark.parametrize(("orientation", "expected"), [
    # Radiological display: the patient's right on the image's left, anterior (or head) at the top.
    (AXIAL, EdgeLabels(left="R", right="L", top="A", bottom="P")),
    (CORONAL, EdgeLabels(left="R", right="L", top="S", bottom="I")),
    (SAGITTAL, EdgeLabels(left="A", right="P", top="S", bottom="I")),
    # An axial slice stored upside down and mirrored: the letters follow the data, not a convention.
    ((-1.0, 0.0, 0.0, 0.0, -1.0, 0.0), EdgeLabels(left="L", right="R", top="P", bottom="A")),
])
def test_standard_planes(orientation: tuple[float, ...], expected: EdgeLabels) -> None:
    assert edge_labels(orientation) == expected


def test_an_axial_slice_rotated_45_degrees_gets_two_letters_per_edge() -> None:
    c = math.cos(math.radians(45))
    # Rows run towards left-posterior, columns towards right-posterior (rotation about the head-foot axis).
    assert edge_labels((c, c, 0.0, -c, c, 0.0)) == EdgeLabels(left="RA", right="LP", top="LA", bottom="RP")


def test_the_dominant_axis_comes_first_and_a_small_tilt_keeps_one_letter() -> None:
    tilt = math.radians(20)  # a typical AC-PC tilt: still read as posterior
    assert direction_letters((0.0, math.cos(tilt), math.sin(tilt))) == "P"
    steep = math.radians(40)  # beyond 30° from the nearest axis: both directions, the nearer first
    assert direction_letters((0.0, math.cos(steep), math.sin(steep))) == "PS"
    assert direction_letters((0.0, -math.sin(steep), -math.cos(steep))) == "IA"


def test_direction_cosines_need_not_be_normalised() -> None:
    assert edge_labels((2.0, 0.0, 0.0, 0.0, 3.0, 0.0)) == edge_labels(AXIAL)


@pytest.mark.parametrize("orientation", [None, (), (1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0, 1.0, 0.0),
                                         (math.nan, 0.0, 0.0, 0.0, 1.0, 0.0), (1.0, 0.0, 0.0, 1.0, 0.0, 0.0),
                                         (1.0, 0.0, 0.0, 0.9, 0.3, 0.0)],
                         ids=["none", "empty", "three", "zero-row", "nan", "parallel", "nearly-parallel"])
def test_unknown_or_degenerate_orientation_gives_no_letters(orientation) -> None:
    assert edge_labels(orientation) is None


def test_a_dicom_series_gets_its_letters_from_its_header(tmp_path: Path) -> None:
    write_mr_series(tmp_path / "sag", n_slices=3, ImageOrientationPatient=list(SAGITTAL))
    series = load_study(tmp_path / "sag").series[0]
    assert [edge_labels(slice_.orientation) for slice_ in series.slices] == [edge_labels(SAGITTAL)] * 3


def test_an_enhanced_multiframe_series_reads_the_shared_functional_group(tmp_path: Path) -> None:
    series = load_study(write_enhanced_mr(tmp_path / "enhanced.dcm")).series[0]
    assert {edge_labels(slice_.orientation) for slice_ in series.slices} == {edge_labels(AXIAL)}


def test_pictures_and_dicom_without_orientation_get_no_letters(tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=3, ImageOrientationPatient=None, ImagePositionPatient=None)
    assert edge_labels(load_study(tmp_path / "mr").series[0].slices[0].orientation) is None
    pictures = load_study(sorted(sample_study_dir().glob("*.jpg"))[:2])
    assert pictures.series[0].slices[0].orientation is None


def test_the_orientation_is_read_when_the_study_opens(tmp_path: Path) -> None:
    paths = write_mr_series(tmp_path / "mr", n_slices=3)
    series = load_study(tmp_path / "mr").series[0]
    for path in paths:
        path.unlink()  # nothing may need the files again for the letters
    assert edge_labels(series.slices[1].orientation) == edge_labels(AXIAL)
