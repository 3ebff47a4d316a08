"""DICOM loading: series grouping, geometric order and spacing, metadata, pixel pipeline, multi-frame, compression."""

from __future__ import annotations

import dataclasses
import math
import shutil
import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import JPEG2000Lossless, RLELossless

from core.analysis.selection import central_slices
from core.io import types as io_types
from core.io import windowing
from core.io.dicom import geometry as dicom_geometry
from core.io.dicom import pixels as dicom_pixels
from core.io.dicom import text as dicom_text
from core.io.load import COPY_REASON, Window, load_study
from tests.dicom_factory import (
    BRAIN_BASE,
    BRAIN_STEP,
    enhanced_frame_order,
    phantom,
    write_enhanced_mr,
    write_mr_series,
)

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
CENTER = (64, 64)  # inside the phantom's head on every non-empty slice of a 128×128 series


@pytest.fixture(autouse=True)
def empty_caches():
    io_types.PIXEL_CACHE.clear()
    io_types.DISPLAY_CACHE.clear()
    yield


def _center_values(series: io_types.Series) -> list[int]:
    return [int(s.modality_pixels()[CENTER]) for s in series.slices]


@pytest.mark.parametrize("tilt_degrees", [0.0, 20.0])
def test_shuffled_40_slice_series_is_sorted_along_the_normal(tmp_path, tilt_degrees):
    paths = write_mr_series(tmp_path, n_slices=40, tilt_degrees=tilt_degrees, slice_spacing=1.5)
    assert [p.name for p in paths] != sorted(p.name for p in paths), "file names must not give the order away"

    loaded = load_study(tmp_path)

    assert loaded.skipped == []
    (series,) = loaded.series
    assert [s.path for s in series.slices] == paths
    assert [s.index for s in series.slices] == list(range(40))
    assert series.info.slice_spacing == pytest.approx(1.5, abs=1e-3)
    assert np.diff([s.position for s in series.slices]) == pytest.approx(np.full(39, 1.5), abs=1e-3)  # DS precision
    assert series.info.orientation == "axial"  # 20° is the usual AC-PC tilt of an axial brain series
    # slice k stores BRAIN_BASE + BRAIN_STEP * k in the head, so the pixels prove the order too
    assert _center_values(series)[5:35] == [BRAIN_BASE + BRAIN_STEP * k for k in range(5, 35)]


def test_geometry_wins_over_instance_number(tmp_path):
    paths = write_mr_series(tmp_path, n_slices=6, per_slice=lambda k, ds: setattr(ds, "InstanceNumber", 100 - k))
    (series,) = load_study(tmp_path).series
    assert [s.path for s in series.slices] == paths


def test_instance_number_orders_when_positions_are_missing(tmp_path):
    def drop_position(k: int, dataset: Dataset) -> None:
        del dataset.ImagePositionPatient

    paths = write_mr_series(tmp_path, n_slices=6, per_slice=drop_position)
    (series,) = load_study(tmp_path).series
    assert [s.path for s in series.slices] == paths
    assert series.info.slice_spacing is None
    # not ordered by geometry, yet each slice is still named by its position: Slice Location
    assert [s.position for s in series.slices] == pytest.approx([1.5 * k for k in range(6)])


def test_natural_file_name_orders_when_geometry_and_instance_numbers_are_missing(tmp_path):
    def drop_order_tags(k: int, dataset: Dataset) -> None:
        del dataset.ImagePositionPatient, dataset.InstanceNumber

    paths = write_mr_series(tmp_path, n_slices=12, per_slice=drop_order_tags)
    for path in paths:  # names "s2" < "s10" naturally, though "s10" < "s2" as plain text
        path.rename(path.with_name(f"s{int(path.stem[2:])}"))
    (series,) = load_study(tmp_path).series
    assert [s.path.name for s in series.slices] == [f"s{n}" for n in range(12)]


@pytest.mark.parametrize(
    ("orientation", "label"),
    [
        ([1, 0, 0, 0, 1, 0], "axial"),
        ([1, 0, 0, 0, 0, -1], "coronal"),
        ([0, 1, 0, 0, 0, -1], "sagittal"),
        ([1, 0, 0, 0, math.cos(math.radians(45)), math.sin(math.radians(45))], "oblique"),
        ([1, 0, 0, 0, math.cos(math.radians(25)), math.sin(math.radians(25))], "axial"),
    ],
)
def test_orientation_label(orientation, label):
    assert dicom_geometry.orientation_label(tuple(float(v) for v in orientation)) == label


def test_series_metadata_is_formatted_and_never_invented(tmp_path):
    write_mr_series(tmp_path, n_slices=3, PatientName="Doe^John^Q", Manufacturer=None, pixel_spacing=(0.8, 0.7))
    info = load_study(tmp_path).series[0].info
    assert info.patient_name == "Doe, John Q"
    assert info.patient_id == "PHANTOM-001"
    assert info.patient_birth_date == "1970-01-01"
    assert info.patient_sex == "O"
    assert info.study_date == "2024-01-31"
    assert (info.study_description, info.series_description) == ("BRAIN", "T1 AX")
    assert (info.modality, info.series_number) == ("MR", "3")
    assert info.manufacturer == ""  # absent in the file: empty, not guessed
    assert info.pixel_spacing == (0.8, 0.7)
    assert info.slice_thickness == 1.5
    assert info.study_instance_uid and info.series_instance_uid


@pytest.mark.parametrize(("written", "shown"), [("Doe^John", "Doe, John"), ("Doe", "Doe"), ("", ""),
                                                ("Doe^John^^Dr", "Doe, John"),
                                                ("Yamada^Tarou=山田^太郎", "Yamada, Tarou")])
def test_person_name_format(written, shown):
    assert dicom_text.format_person_name(written) == shown


def test_mixed_series_in_one_folder_are_separated(tmp_path):
    same_study = pydicom.uid.generate_uid()
    first = write_mr_series(tmp_path, n_slices=5, seed=1, SeriesDescription="T1 AX", SeriesNumber=1,
                            StudyInstanceUID=same_study)
    for path in first:
        path.rename(path.with_name("a_" + path.name))
    write_mr_series(tmp_path, n_slices=7, seed=2, SeriesDescription="T2 AX", SeriesNumber=2,
                    StudyInstanceUID=same_study)
    loaded = load_study(tmp_path)
    assert [(s.info.series_description, len(s)) for s in loaded.series] == [("T1 AX", 5), ("T2 AX", 7)]
    assert loaded.series[0].description == "1: T1 AX (MR, 5 slices)"


def test_a_copy_of_the_series_in_a_subfolder_is_left_out_and_listed(tmp_path):
    """A series with its copy in backup/ opened as one 40-slice series: every image twice, the slice spacing lost
    (0 between each image and its copy), and the 9 central slices only 5 images, some counted twice."""
    study = tmp_path / "study"
    paths = write_mr_series(study, n_slices=20, rows=64, cols=64)
    shutil.copytree(study, tmp_path / "backup")
    shutil.move(tmp_path / "backup", study / "backup")

    loaded = load_study(study)

    (series,) = loaded.series
    assert [s.path for s in series.slices] == paths  # the files met first: the folder's own, then its subfolders'
    assert series.info.slice_spacing == pytest.approx(1.5)
    assert len({s.path for s in central_slices(series, 9)}) == 9
    assert sorted((s.path, s.reason) for s in loaded.skipped) == sorted(
        (study / "backup" / path.name, COPY_REASON) for path in paths
    )


def test_a_copy_of_a_multi_frame_file_is_left_out_and_listed(tmp_path):
    original = write_enhanced_mr(tmp_path / "a.dcm", n_frames=6, rows=32, cols=32)
    copy = Path(shutil.copy(original, tmp_path / "b.dcm"))
    loaded = load_study(tmp_path)
    (series,) = loaded.series
    assert sorted(s.frame for s in series.slices) == list(range(6)) and {s.path for s in series.slices} == {original}
    assert [(s.path, s.reason) for s in loaded.skipped] == [(copy, COPY_REASON)]


def test_two_series_with_a_reused_sop_instance_uid_are_not_copies(tmp_path):
    """An exporter that reuses SOP Instance UIDs across series must not make a whole series look like a copy."""
    study_uid = pydicom.uid.generate_uid()
    for name in ("pre", "post"):
        write_mr_series(tmp_path / name, n_slices=3, rows=32, cols=32, StudyInstanceUID=study_uid,
                        SeriesDescription=f"T1 {name}",
                        per_slice=lambda k, dataset: setattr(dataset, "SOPInstanceUID", f"1.2.3.{k}"))
    loaded = load_study(tmp_path)
    assert loaded.skipped == [] and sorted(len(series) for series in loaded.series) == [3, 3]


def test_one_uid_given_to_every_file_of_a_series_loses_no_image(tmp_path):
    """Some exporters give every file one SOP Instance UID; the files differ in position, so none is a copy."""
    paths = write_mr_series(tmp_path, n_slices=6, rows=32, cols=32,
                            per_slice=lambda k, dataset: setattr(dataset, "SOPInstanceUID", "1.2.3.4"))
    loaded = load_study(tmp_path)
    assert loaded.skipped == []
    assert [s.path for s in loaded.series[0].slices] == paths


@pytest.mark.parametrize(("other", "separate"), [
    ({"PatientID": "OTHER-2"}, True),
    ({"PatientName": "Other^Person"}, True),
    ({"PatientID": "OTHER-2", "PatientName": "Other^Person"}, True),
    ({"PatientName": "TEST^PHANTOM"}, False),  # the same name written in capitals
], ids=["other-id", "other-name", "other-patient", "same-name-in-capitals"])
def test_files_of_two_patients_sharing_one_series_uid_become_a_series_each(tmp_path, other, separate):
    """Two patients' files with one Series Instance UID were interleaved into one series and given one verdict."""
    uids = {"StudyInstanceUID": pydicom.uid.generate_uid(), "SeriesInstanceUID": pydicom.uid.generate_uid()}
    first = write_mr_series(tmp_path / "a", n_slices=6, rows=32, cols=32, seed=1, **uids)
    second = write_mr_series(tmp_path / "b", n_slices=6, rows=32, cols=32, seed=2, **uids, **other)

    loaded = load_study(tmp_path)

    assert loaded.skipped == []
    if separate:
        assert [[s.path for s in series.slices] for series in loaded.series] == [first, second]
        second_id = other.get("PatientID", "PHANTOM-001")
        assert [series.info.patient_id for series in loaded.series] == ["PHANTOM-001", second_id]
        assert [series.info.slice_spacing for series in loaded.series] == [pytest.approx(1.5)] * 2
    else:
        (series,) = loaded.series
        assert len(series) == 12


def test_multi_frame_enhanced_mr_frames_follow_per_frame_positions(tmp_path):
    path = write_enhanced_mr(tmp_path / "enhanced.dcm", n_frames=12, rows=64, cols=64, slice_spacing=2.0)
    (series,) = load_study(path).series
    assert [s.frame for s in series.slices] == enhanced_frame_order(12)
    assert series.info.slice_spacing == pytest.approx(2.0)
    assert series.info.pixel_spacing == (1.0, 1.0)
    assert series.info.orientation == "axial"
    assert series.slices[0].windows == [Window(300.0, 800.0)]
    assert series.slices[0].label == f"Se 3 Fr {series.slices[0].frame + 1}, S 0.0 mm"  # frames of one instance
    assert [int(s.modality_pixels()[32, 32]) for s in series.slices][2:10] == [
        BRAIN_BASE + BRAIN_STEP * k for k in range(2, 10)
    ]


def test_rescale_then_window(tmp_path):
    write_mr_series(tmp_path, n_slices=3, RescaleSlope=2.0, RescaleIntercept=-100.0,
                    WindowCenter=[900.0, 500.0], WindowWidth=[400.0, 2000.0],
                    WindowCenterWidthExplanation=["NARROW", "WIDE"])
    middle = load_study(tmp_path).series[0].slices[1]
    stored = BRAIN_BASE + BRAIN_STEP * 1
    assert middle.modality_pixels()[CENTER] == 2.0 * stored - 100.0  # 720
    assert middle.windows == [Window(900.0, 400.0, "NARROW"), Window(500.0, 2000.0, "WIDE")]
    # PS3.3 C.11.2.1.2.1: ((720 - 899.5) / 399 + 0.5) * 255 → 12; background -100 is below the window → 0
    assert middle.display()[CENTER] == round(((720 - 899.5) / 399 + 0.5) * 255)
    assert middle.display()[0, 0] == 0
    wide = middle.display(middle.windows[1])
    assert wide[CENTER] == round(((720 - 499.5) / 1999 + 0.5) * 255)


def test_monochrome1_is_inverted(tmp_path):
    write_mr_series(tmp_path / "m1", n_slices=3, seed=3, PhotometricInterpretation="MONOCHROME1",
                    WindowCenter=210.0, WindowWidth=420.0)
    write_mr_series(tmp_path / "m2", n_slices=3, seed=3, WindowCenter=210.0, WindowWidth=420.0)
    inverted = load_study(tmp_path / "m1").series[0].slices[1].display()
    normal = load_study(tmp_path / "m2").series[0].slices[1].display()
    assert normal[0, 0] == 0 and inverted[0, 0] == 255  # background is white in MONOCHROME1
    np.testing.assert_array_equal(inverted, 255 - normal)


def test_automatic_window_uses_robust_percentiles(tmp_path):
    def add_hot_pixel(k: int, dataset: Dataset) -> None:
        image = phantom(128, 128, k, 3)
        image[CENTER] = 4000  # one hot pixel must not compress the head to black
        dataset.PixelData = image.tobytes()

    write_mr_series(tmp_path, n_slices=3, per_slice=add_hot_pixel)
    slices = load_study(tmp_path).series[0].slices
    middle = slices[1]
    assert middle.windows == []
    window = middle.default_window()
    assert window.name == "Automatic"
    assert window.center + window.width / 2 < 1000
    assert slices[2].display()[CENTER[0] + 5, CENTER[1]] == 255  # the brightest head of the series is white
    assert middle.display()[CENTER[0] + 5, CENTER[1]] >= 245  # (410 of 420: nearly white)
    assert middle.display()[0, 0] == 0


def _intensity_grows_tenfold(k: int, dataset: Dataset) -> None:
    """Slice k's values are k + 1 times the phantom's: slices with very different intensity ranges."""
    dataset.PixelData = (phantom(128, 128, k, 10) * (k + 1)).astype(np.uint16).tobytes()


def test_one_automatic_window_serves_the_whole_series(tmp_path):
    write_mr_series(tmp_path, n_slices=10, per_slice=_intensity_grows_tenfold)
    series = load_study(tmp_path).series[0]
    own_windows = {windowing.auto_window(s.modality_pixels()) for s in series.slices[2:8]}
    assert len(own_windows) == 6  # per slice, the automatic window would jump from slice to slice

    assert {s.default_window() for s in series.slices} == {series.slices[0].automatic_window()}
    assert series.slices[0].default_window().name == "Automatic"
    heads = [int(s.display()[CENTER]) for s in series.slices[2:8]]
    assert heads == sorted(heads) and heads[0] < heads[-1] - 100  # brighter slices stay brighter on screen


def test_a_slice_opened_alone_gets_its_own_automatic_window(tmp_path):
    paths = write_mr_series(tmp_path, n_slices=10, per_slice=_intensity_grows_tenfold)
    in_series = load_study(tmp_path).series[0].slices[3]
    alone = load_study(paths[3]).series[0].slices[0]
    assert in_series.display()[CENTER] < alone.display()[CENTER] == 255  # not the series' cached rendering
    assert alone.default_window() == windowing.auto_window(alone.modality_pixels())


def test_the_files_own_window_is_the_default_for_every_slice(tmp_path):
    write_mr_series(tmp_path, n_slices=10, per_slice=_intensity_grows_tenfold, WindowCenter=900, WindowWidth=1600)
    series = load_study(tmp_path).series[0]
    assert {s.default_window() for s in series.slices} == {Window(900.0, 1600.0)}


def test_signed_pixels_and_negative_rescale(tmp_path):
    def signed(k: int, dataset: Dataset) -> None:
        dataset.PixelRepresentation = 1
        dataset.PixelData = (phantom(128, 128, k, 3).astype(np.int16) - 500).tobytes()

    write_mr_series(tmp_path, n_slices=3, per_slice=signed)
    pixels = load_study(tmp_path).series[0].slices[1].modality_pixels()
    assert pixels[0, 0] == -500
    assert pixels[CENTER] == BRAIN_BASE + BRAIN_STEP - 500


def test_eight_bit_stored_values(tmp_path):
    def eight_bit(k: int, dataset: Dataset) -> None:
        dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 8, 8, 7
        dataset.PixelData = (phantom(128, 128, k, 3) // 4).astype(np.uint8).tobytes()

    write_mr_series(tmp_path, n_slices=3, per_slice=eight_bit)
    middle = load_study(tmp_path).series[0].slices[1]
    assert middle.modality_pixels()[CENTER] == (BRAIN_BASE + BRAIN_STEP) // 4


def test_voi_lut_sequence_is_the_default_when_no_window_is_given(tmp_path):
    lut = Dataset()
    lut.LUTDescriptor = [1024, 0, 16]  # 1024 entries starting at value 0, 16-bit output
    lut.LUTData = (np.arange(1024) * 32).astype(np.uint16).tobytes()
    write_mr_series(tmp_path, n_slices=3, VOILUTSequence=Sequence([lut]))
    middle = load_study(tmp_path).series[0].slices[1]
    assert middle.windows == []
    assert middle.display()[CENTER] == round((BRAIN_BASE + BRAIN_STEP) * 32 / 65535 * 255)


def test_rgb_and_ybr_are_shown_as_gray():
    rgb = load_study(PYDICOM_FILES / "SC_rgb_rle.dcm").series[0].slices[0]
    ybr = load_study(PYDICOM_FILES / "SC_rgb_dcmtk_+eb+cy+n1.dcm").series[0].slices[0]
    assert rgb.display().shape == (100, 100)
    # the same picture stored as RGB and as YBR_FULL gives the same gray image, up to YBR rounding
    difference = np.abs(rgb.display().astype(int) - ybr.display().astype(int))
    assert difference.mean() < 1 and difference.max() <= 10


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless])
def test_compressed_synthetic_series_decode_losslessly(tmp_path, syntax):
    write_mr_series(tmp_path, n_slices=4, seed=5, transfer_syntax=syntax)
    (series,) = load_study(tmp_path).series
    assert pydicom.dcmread(series.slices[0].path).file_meta.TransferSyntaxUID == syntax
    for k, slice_ in enumerate(series.slices):
        np.testing.assert_array_equal(slice_.modality_pixels(), phantom(128, 128, k, 4))


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
                                  "MR_small_bigendian.dcm", "MR_small_implicit.dcm"])
def test_pydicom_compressed_and_encoded_variants_match_the_uncompressed_original(name):
    reference = load_study(PYDICOM_FILES / "MR_small.dcm").series[0].slices[0].modality_pixels()
    variant = load_study(PYDICOM_FILES / name).series[0].slices[0].modality_pixels()
    np.testing.assert_array_equal(variant, reference)


def test_lossy_jpeg_variants_decode(tmp_path):
    for name in ("SC_rgb_jpeg_gdcm.dcm", "JPGExtended.dcm", "693_J2KI.dcm", "JPEGLSNearLossless_16.dcm"):
        image = load_study(PYDICOM_FILES / name).series[0].slices[0].display()
        assert image.dtype == np.uint8 and image.std() > 0, name


def test_compressed_file_without_an_installed_decoder_is_skipped(tmp_path, monkeypatch):
    write_mr_series(tmp_path, n_slices=2, transfer_syntax=RLELossless)
    monkeypatch.setattr(dicom_pixels, "decoder_available", lambda syntax: False)
    loaded = load_study(tmp_path)
    assert loaded.series == []
    assert [s.reason for s in loaded.skipped] == [
        "the pixels are compressed as RLE Lossless, and no decoder for it is installed"
    ] * 2


def test_decoder_availability_reflects_installed_plugins():
    assert dicom_pixels.decoder_available(RLELossless)
    assert dicom_pixels.decoder_available(JPEG2000Lossless)
    assert not dicom_pixels.decoder_available(pydicom.uid.MPEG2MPML)  # video: pydicom has no decoder at all


def test_dicomdir_opens_the_files_it_references():
    loaded = load_study(PYDICOM_FILES / "dicomdirtests" / "DICOMDIR")
    assert loaded.skipped == []
    assert sum(len(s) for s in loaded.series) == 31
    assert {s.info.modality for s in loaded.series} == {"CR", "CT", "MR"}


def test_tags_rows_leave_out_pixel_data_and_shorten_long_values(tmp_path):
    write_mr_series(tmp_path, n_slices=1, ImageComments="X" * 500)
    rows = load_study(tmp_path).series[0].slices[0].tags()
    tags = {tag: (name, value) for tag, name, value in rows}
    assert tags["(0010,0010)"] == ("PatientName", "Test^Phantom")
    assert not rows[0][0].startswith("(0002,") and rows[-1][0].startswith("(0002,")  # file meta group last
    assert "(7FE0,0010)" not in tags
    assert len(tags["(0020,4000)"][1]) == dicom_text.TAG_VALUE_MAX_CHARS
    assert tags["(0020,4000)"][1].endswith("…")


def test_load_reads_headers_only(tmp_path, monkeypatch):
    write_mr_series(tmp_path, n_slices=5)
    decoded = []
    original = dicom_pixels.DicomPixelSource._decode_stored_values
    monkeypatch.setattr(dicom_pixels.DicomPixelSource, "_decode_stored_values",
                        lambda self: decoded.append(self.path) or original(self))
    (series,) = load_study(tmp_path).series
    assert decoded == [] and io_types.PIXEL_CACHE.current_bytes == 0
    series.slices[2].display()
    first = list(decoded)  # the slice, and the slices sampled once for the series' automatic window
    series.slices[2].display()
    assert first.count(series.slices[2].path) == 1 and decoded == first  # decoded once, then served from the cache


def test_cached_display_never_decodes(tmp_path, monkeypatch):
    """The viewer asks `cached_display` on the UI thread: an image when nothing needs decoding, else None."""
    write_mr_series(tmp_path, n_slices=10, per_slice=_intensity_grows_tenfold)
    decoded = []
    original = dicom_pixels.DicomPixelSource._decode_stored_values
    monkeypatch.setattr(dicom_pixels.DicomPixelSource, "_decode_stored_values",
                        lambda self: decoded.append(self.path) or original(self))
    (series,) = load_study(tmp_path).series
    shown, other = series.slices[4], series.slices[6]
    narrow = Window(500.0, 300.0)
    # Nothing decoded yet: not even the series' automatic window (no window in these files) is known.
    assert shown.cached_display() is None and shown.cached_display(narrow) is None
    assert shown.known_default_window() is None and shown.known_automatic_window() is None
    assert decoded == []

    expected = shown.display()
    assert shown.cached_display() is expected  # the cached display image itself
    assert shown.known_default_window() == shown.automatic_window() == other.known_automatic_window()
    decoded.clear()
    # Another window of cached pixels is rendered (a W/L drag), without decoding; another slice is not.
    np.testing.assert_array_equal(shown.cached_display(narrow), shown.display(narrow))
    assert other.cached_display() is None
    assert decoded == []
    np.testing.assert_array_equal(other.display(), series.slices[6].cached_display())


def test_cached_display_of_a_slice_alone_and_with_its_own_window(tmp_path):
    paths = write_mr_series(tmp_path / "alone", n_slices=3, per_slice=_intensity_grows_tenfold)
    alone = load_study(paths[1]).series[0].slices[0]  # a series of one
    assert alone.cached_display() is None and alone.known_automatic_window() is None
    alone.modality_pixels()
    assert alone.known_automatic_window() is None  # the series' window is computed by whoever decodes
    assert alone.automatic_window() == alone.known_automatic_window()
    np.testing.assert_array_equal(alone.cached_display(), alone.display())
    bare = dataclasses.replace(alone, series_window=None)  # outside any series: its own window, from its pixels
    assert bare.known_automatic_window() == windowing.auto_window(alone.modality_pixels())
    io_types.PIXEL_CACHE.clear()
    assert bare.known_automatic_window() is None and bare.cached_display() is None

    write_mr_series(tmp_path / "own", n_slices=3, WindowCenter=900, WindowWidth=1600)
    own = load_study(tmp_path / "own").series[0].slices[1]
    assert own.known_default_window() == Window(900.0, 1600.0) and own.cached_display() is None
    own.modality_pixels()  # the file's window needs no automatic one
    np.testing.assert_array_equal(own.cached_display(), own.display())


def test_pixel_cache_stays_within_its_byte_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(io_types.PIXEL_CACHE, "max_bytes", 3 * 128 * 128 * 4)  # room for three float32 slices
    write_mr_series(tmp_path, n_slices=8)
    for slice_ in load_study(tmp_path).series[0].slices:
        slice_.modality_pixels()
        assert io_types.PIXEL_CACHE.current_bytes <= io_types.PIXEL_CACHE.max_bytes
    assert io_types.PIXEL_CACHE.current_bytes == 3 * 128 * 128 * 4


def test_concurrent_decoding_gives_consistent_images(tmp_path):
    write_mr_series(tmp_path, n_slices=20)
    slices = load_study(tmp_path).series[0].slices
    results: dict[int, list[np.ndarray]] = {i: [] for i in range(len(slices))}
    errors: list[BaseException] = []

    def scroll(order: list[int]) -> None:
        try:
            for i in order:
                results[i].append(slices[i].display())
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=scroll, args=(list(range(20))[::step],)) for step in (1, -1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for images in results.values():
        for image in images[1:]:
            np.testing.assert_array_equal(image, images[0])


def test_cached_arrays_are_read_only(tmp_path):
    write_mr_series(tmp_path, n_slices=1)
    slice_ = load_study(tmp_path).series[0].slices[0]
    with pytest.raises(ValueError):
        slice_.display()[0, 0] = 1
    with pytest.raises(ValueError):
        slice_.modality_pixels()[0, 0] = 1


def test_progress_is_reported_per_file_and_cancel_stops_the_scan(tmp_path):
    write_mr_series(tmp_path, n_slices=10)
    calls: list[tuple[int, int]] = []
    load_study(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 10) for i in range(1, 11)]

    cancelled = load_study(tmp_path, progress=lambda done, total: calls.append((done, total)),
                           should_cancel=lambda: len(calls) >= 13)
    assert cancelled.cancelled
    assert sum(len(s) for s in cancelled.series) == 3


@pytest.mark.parametrize(("written", "shown"), [("=山田^太郎", "山田, 太郎"), ("==やまだ^たろう", "やまだ, たろう"),
                                                ("^=山田", "山田"), (" ^ =李^雷", "李, 雷"), ("Doe^John=", "Doe, John"),
                                                ("==", "")])
def test_a_name_without_an_alphabetic_group_is_shown_in_its_ideographic_or_phonetic_form(written, shown):
    """PS3.5 6.2.1.2: alphabetic=ideographic=phonetic; an empty group is skipped, so a recorded name is shown."""
    assert dicom_text.format_person_name(written) == shown


def test_a_name_recorded_in_ideographic_form_only_is_loaded(tmp_path):
    write_mr_series(tmp_path, n_slices=2, PatientName="=山田^太郎", SpecificCharacterSet="ISO_IR 192")
    assert load_study(tmp_path).series[0].info.patient_name == "山田, 太郎"
