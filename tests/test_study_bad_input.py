"""Bad input never raises out of load_study: each unusable file is skipped with a reason naming what was wrong,
and damage only found while decoding raises UnreadableFileError naming the file."""

from __future__ import annotations

import errno
import io
import os
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
from pydicom.uid import RLELossless

from core.analysis.results import aggregate
from core.errors import UnreadableFileError
from core.io.load import (
    FOLDER_LINK_LOOP_REASON,
    LINKED_FOLDER_LISTED_REASON,
    SAME_FILE_REASON,
    SYMLINK_LOOP_REASON,
    load_study,
)
from core.io.types import MAX_IMAGE_PIXELS
from core.io.windowing import auto_window
from core.output.pdf import write_pdf
from tests.analysis_doubles import ManifestDouble, prediction, slice_result
from tests.dicom_factory import phantom, write_enhanced_mr, write_mr_series

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _only_skip_reason(path: Path) -> str:
    loaded = load_study(path)
    assert loaded.series == []
    (skipped,) = loaded.skipped
    assert skipped.path == path
    return skipped.reason


def _png_bytes(rows: int, cols: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((rows, cols), 128, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_claiming_size(rows: int, cols: int) -> bytes:
    """A small PNG whose IHDR claims rows × cols: the header is all a size guard may look at."""
    data = bytearray(_png_bytes(8, 8))
    ihdr = data[12:29]  # chunk type + 13 bytes of IHDR data
    ihdr[4:12] = struct.pack(">II", cols, rows)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@pytest.mark.parametrize("name", ["empty.dcm", "empty.jpg", "no_extension"])
def test_zero_byte_files(tmp_path, name):
    path = tmp_path / name
    path.touch()
    assert _only_skip_reason(path) == "the file is empty (0 bytes)"


def test_truncated_dicom_is_caught_from_its_header(tmp_path):
    path = shutil.copy(PYDICOM_FILES / "MR_truncated.dcm", tmp_path)
    assert _only_skip_reason(Path(path)) == (
        "the pixel data is incomplete (8130 of 8192 bytes); the file is probably truncated"
    )


def test_synthetic_series_with_one_truncated_file_keeps_the_rest(tmp_path):
    paths = write_mr_series(tmp_path, n_slices=5)
    paths[2].write_bytes(paths[2].read_bytes()[:-1000])
    loaded = load_study(tmp_path)
    assert [s.path for s in loaded.series[0].slices] == paths[:2] + paths[3:]
    (skipped,) = loaded.skipped
    assert skipped.path == paths[2] and "truncated" in skipped.reason


def test_truncated_compressed_dicom_is_skipped(tmp_path):
    (path,) = write_mr_series(tmp_path, n_slices=1, transfer_syntax=RLELossless)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 600])  # cut inside the RLE fragment
    assert "without pixel data; the file may be incomplete" in _only_skip_reason(path)


def test_damage_found_only_when_decoding_raises_with_the_file_name(tmp_path):
    (path,) = write_mr_series(tmp_path, n_slices=1, transfer_syntax=RLELossless)
    (slice_,) = load_study(path).series[0].slices
    data = bytearray(path.read_bytes())
    data[-2000:-8] = b"\x80" * 1992  # RLE "no-op" bytes: the segment decodes to too few pixels
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableFileError) as error:
        slice_.display()
    assert error.value.path == path
    assert str(error.value).startswith(f"{path.name}: the pixel data could not be decoded")


@pytest.mark.parametrize(("name", "reason"), [
    ("rtplan.dcm", "no image (it is a RT Plan Storage)"),
    ("test-SR.dcm", "no image (it is a Comprehensive SR Storage)"),
    ("waveform_ecg.dcm", "no image (it is a 12-lead ECG Waveform Storage)"),
])
def test_dicom_without_pixel_data(tmp_path, name, reason):
    path = Path(shutil.copy(PYDICOM_FILES / name, tmp_path))
    assert _only_skip_reason(path) == reason


def test_missing_transfer_syntax_with_native_pixels_is_read_as_parsed(tmp_path):
    (written,) = write_mr_series(tmp_path / "src", n_slices=1)
    dataset = pydicom.dcmread(written)
    del dataset.file_meta.TransferSyntaxUID
    path = tmp_path / "no_syntax.dcm"
    pydicom.dcmwrite(path, dataset, implicit_vr=False, little_endian=True)
    assert pydicom.dcmread(path).file_meta.get("TransferSyntaxUID") is None
    (slice_,) = load_study(path).series[0].slices
    np.testing.assert_array_equal(slice_.modality_pixels(), phantom(128, 128, 0, 1))


def test_missing_transfer_syntax_with_compressed_pixels_is_skipped(tmp_path):
    (written,) = write_mr_series(tmp_path / "src", n_slices=1, transfer_syntax=RLELossless)
    dataset = pydicom.dcmread(written)
    del dataset.file_meta.TransferSyntaxUID
    path = tmp_path / "no_syntax.dcm"
    pydicom.dcmwrite(path, dataset, implicit_vr=False, little_endian=True)
    assert _only_skip_reason(path) == (
        "the file does not say how its compressed pixels are encoded (no Transfer Syntax UID)"
    )


@pytest.mark.parametrize("content", [b"patient list\nDoe^John\n", bytes(range(256)) * 40, b"%PDF-1.7\n" * 50])
def test_non_image_files(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    assert _only_skip_reason(path) == "not a DICOM file or a supported picture (JPEG, PNG, BMP, TIFF)"


def test_corrupt_png_header_is_skipped(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(_png_bytes(64, 64)[:8] + b"garbage" * 20)
    assert _only_skip_reason(path).startswith("the picture is damaged and could not be read")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_picture_raises_when_decoded(tmp_path, fmt):
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (256, 256), dtype=np.uint8)).save(buffer, format=fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    (slice_,) = load_study(path).series[0].slices  # the header is intact
    with pytest.raises(UnreadableFileError) as error:
        slice_.display()
    assert error.value.reason.startswith("the picture is damaged or incomplete")
    assert path.name in str(error.value)


@pytest.mark.parametrize("size", [(1, 1), (7, 300)])
def test_too_small_pictures(tmp_path, size):
    path = tmp_path / "tiny.png"
    path.write_bytes(_png_bytes(*size))
    assert _only_skip_reason(path).startswith(f"image is too small ({size[1]}×{size[0]} pixels")


def test_20000_square_picture_is_rejected_from_its_header(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_claiming_size(20_000, 20_000))
    assert path.stat().st_size < 200
    assert _only_skip_reason(path).startswith("image is too large to open safely")


def test_picture_over_the_documented_limit_is_rejected(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(_png_claiming_size(6_000, 6_000))  # 36 Mpx: under Pillow's own limit, over ours
    assert 6_000 * 6_000 > MAX_IMAGE_PIXELS
    assert _only_skip_reason(path) == (
        "image is too large to open safely (6000×6000 pixels; the limit is 25 million pixels)"
    )


def test_20000_square_dicom_is_rejected_from_its_header(tmp_path):
    def huge(k, dataset):
        dataset.Rows = dataset.Columns = 20_000  # the pixel data stays small: only the header claims the size

    (path,) = write_mr_series(tmp_path, n_slices=1, per_slice=huge)
    assert _only_skip_reason(path).startswith("image is too large to open safely (20000×20000 pixels")


@pytest.mark.parametrize("frames", [-1, 10**9])
def test_impossible_frame_count_is_rejected(tmp_path, frames):
    (path,) = write_mr_series(tmp_path, n_slices=1, transfer_syntax=RLELossless)
    dataset = pydicom.dcmread(path)
    dataset.NumberOfFrames = frames  # set after compression: the encoder itself refuses such counts
    dataset.save_as(path)
    assert _only_skip_reason(path) == f"the header claims {frames} frames, which the file cannot hold"


def test_a_frame_count_beyond_the_compressed_fragments_is_rejected_from_the_header(tmp_path):
    """A 300 kB RLE file claiming 300,000 frames took 50 s and 628 MB to open, as a 300,000-slice series: the count
    was weighed only against the file size, and compressed pixel data was not weighed at all."""
    (path,) = write_mr_series(tmp_path, n_slices=1, transfer_syntax=RLELossless)
    frames = path.stat().st_size  # as many frames as the file-size check lets through
    dataset = pydicom.dcmread(path)
    dataset.NumberOfFrames = frames
    dataset.save_as(path)
    assert _only_skip_reason(path) == (
        f"the header claims {frames} frames, but its compressed pixel data holds at most 1"
    )


def _rle_multi_frame(path: Path, n_frames: int) -> Path:
    write_enhanced_mr(path, n_frames=n_frames, rows=32, cols=32)
    dataset = pydicom.dcmread(path)
    dataset.compress(RLELossless)  # one fragment per frame (PS3.5 G)
    dataset.save_as(path)
    return path


def test_a_compressed_multi_frame_file_opens_every_frame_and_no_more(tmp_path):
    path = _rle_multi_frame(tmp_path / "enhanced.dcm", n_frames=4)
    (series,) = load_study(path).series
    assert sorted(slice_.frame for slice_ in series.slices) == [0, 1, 2, 3]
    assert all(slice_.display().max() > 0 for slice_ in series.slices)

    dataset = pydicom.dcmread(path)
    dataset.NumberOfFrames = 5
    dataset.save_as(path)
    assert _only_skip_reason(path) == "the header claims 5 frames, but its compressed pixel data holds at most 4"


def _item(value: bytes) -> bytes:
    """One item of encapsulated pixel data (PS3.5 A.4): tag (FFFE,E000), length, value."""
    return b"\xfe\xff\x00\xe0" + struct.pack("<L", len(value)) + value


@pytest.mark.parametrize(("fragments", "frames", "opens"), [
    (["first half", "second half"], 1, True),  # a frame may span fragments
    (["frame", "", ""], 3, False),  # an empty fragment holds no frame
    (["frame", "", ""], 1, True),
], ids=["frame-in-two-fragments", "empty-fragments-claimed-as-frames", "empty-fragments-ignored"])
def test_frames_are_counted_against_non_empty_fragments(tmp_path, fragments, frames, opens):
    (path,) = write_mr_series(tmp_path, n_slices=1, rows=32, cols=32, transfer_syntax=RLELossless)
    dataset = pydicom.dcmread(path)
    (frame,) = pydicom.encaps.generate_frames(dataset.PixelData, number_of_frames=1)
    pieces = {"first half": frame[:40], "second half": frame[40:], "frame": frame, "": b""}
    dataset.PixelData = _item(b"") + b"".join(_item(pieces[name]) for name in fragments)  # empty offset table
    dataset.NumberOfFrames = frames
    dataset.save_as(path)
    if opens:
        (series,) = load_study(path).series
        np.testing.assert_array_equal(series.slices[0].modality_pixels(), phantom(32, 32, 0, 1))
    else:
        assert _only_skip_reason(path) == (
            f"the header claims {frames} frames, but its compressed pixel data holds at most 1"
        )


def test_missing_path(tmp_path):
    loaded = load_study(tmp_path / "nowhere")
    assert loaded.series == []
    assert [(s.path.name, s.reason) for s in loaded.skipped] == [("nowhere", "no such file or folder")]


def test_folder_of_mixed_good_and_bad_files_accounts_for_every_file(tmp_path):
    series_paths = write_mr_series(tmp_path, n_slices=6)
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "a.png").write_bytes(_png_bytes(32, 32))
    (tmp_path / "empty.dcm").touch()
    (tmp_path / "readme.txt").write_text("burned by the PACS")
    shutil.copy(PYDICOM_FILES / "rtplan.dcm", tmp_path)
    shutil.copy(PYDICOM_FILES / "MR_truncated.dcm", tmp_path)
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden files are ignored, not reported

    loaded = load_study(tmp_path)

    assert [len(s) for s in loaded.series] == [6, 1]
    assert {s.path.name for s in loaded.series[0].slices} == {p.name for p in series_paths}
    assert sorted(s.path.name for s in loaded.skipped) == [
        "MR_truncated.dcm", "empty.dcm", "readme.txt", "rtplan.dcm"
    ]
    assert all(s.reason for s in loaded.skipped)


def _symlink(link: Path, target: Path) -> None:
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError) as error:  # Windows without the symlink privilege
        pytest.skip(f"symbolic links cannot be created here ({error})")


def test_symbolic_link_loops_are_skipped_and_the_rest_of_the_study_opens(tmp_path):
    series_paths = write_mr_series(tmp_path, n_slices=4)
    (tmp_path / "picture.png").write_bytes(_png_bytes(32, 32))
    _symlink(tmp_path / "self_loop", tmp_path / "self_loop")
    _symlink(tmp_path / "loop_a", tmp_path / "loop_b")
    _symlink(tmp_path / "loop_b", tmp_path / "loop_a")

    loaded = load_study(tmp_path)

    assert [len(s) for s in loaded.series] == [4, 1]
    assert [s.path for s in loaded.series[0].slices] == series_paths
    assert sorted((s.path.name, s.reason) for s in loaded.skipped) == [
        ("loop_a", SYMLINK_LOOP_REASON), ("loop_b", SYMLINK_LOOP_REASON), ("self_loop", SYMLINK_LOOP_REASON)
    ]
    assert "symbolic link loop" in SYMLINK_LOOP_REASON


def test_a_symbolic_link_loop_opened_directly_is_skipped_with_its_reason(tmp_path):
    loop = tmp_path / "loop"
    _symlink(loop, loop)
    assert _only_skip_reason(loop) == SYMLINK_LOOP_REASON


def _corrupt_vr(path: Path, tag: bytes, written_vr: bytes, damaged_vr: bytes) -> None:
    """Overwrite one element's VR in an explicit-VR little-endian file, as the fuzzer did."""
    data = path.read_bytes()
    assert data.count(tag + written_vr) == 1
    path.write_bytes(data.replace(tag + written_vr, tag + damaged_vr))


@pytest.mark.parametrize(("tag", "written_vr", "damaged_vr", "field"), [
    (b"\x08\x00\x70\x00", b"LO", b"MO", "manufacturer"),  # (0008,0070) Manufacturer
    (b"\x10\x00\x30\x00", b"DA", b"EA", "patient_birth_date"),  # (0010,0030) PatientBirthDate
], ids=["Manufacturer-MO", "PatientBirthDate-EA"])
def test_unknown_vr_in_a_descriptive_field_empties_that_field_only(tmp_path, tag, written_vr, damaged_vr, field):
    paths = write_mr_series(tmp_path, n_slices=5, rows=32, cols=32, Manufacturer="ACME")
    _corrupt_vr(paths[0], tag, written_vr, damaged_vr)  # the first slice: the one the series shows metadata from

    loaded = load_study(tmp_path)

    assert loaded.skipped == []
    (series,) = loaded.series
    assert [s.path for s in series.slices] == paths
    assert getattr(series.info, field) == ""
    assert series.info.patient_id == "PHANTOM-001" and series.info.modality == "MR"
    assert series.slices[0].modality_pixels().shape == (32, 32)


def test_unknown_vr_in_an_element_the_image_needs_skips_that_file_with_a_reason(tmp_path):
    paths = write_mr_series(tmp_path, n_slices=3, rows=32, cols=32)
    _corrupt_vr(paths[1], b"\x28\x00\x10\x00", b"US", b"MO")  # (0028,0010) Rows: the pixels cannot be laid out

    loaded = load_study(tmp_path)

    assert [s.path for s in loaded.series[0].slices] == [paths[0], paths[2]]
    (skipped,) = loaded.skipped
    assert skipped.path == paths[1]
    assert skipped.reason.startswith(
        "the DICOM header is invalid (Unknown Value Representation 'MO' in tag (0028,0010)")


# (0020,0032) ImagePositionPatient, (0020,0037) ImageOrientationPatient, (0028,0030) PixelSpacing: DS elements.
GEOMETRY_TAGS = {"ImagePositionPatient": b"\x20\x00\x32\x00", "ImageOrientationPatient": b"\x20\x00\x37\x00",
                 "PixelSpacing": b"\x28\x00\x30\x00"}


def _damage_geometry(path: Path, keyword: str, how: str) -> None:
    """Damage one geometry element of an explicit-VR little-endian file: an unknown VR, text of the same length that
    is no number, or one number too few."""
    tag = GEOMETRY_TAGS[keyword]
    if how == "unknown VR":
        _corrupt_vr(path, tag, b"DS", b"MO")
    elif how == "not a number":
        data = bytearray(path.read_bytes())
        assert data.count(tag + b"DS") == 1
        start = data.index(tag + b"DS") + 6  # after tag and VR: the 2-byte length, then the value
        length = struct.unpack("<H", data[start:start + 2])[0]
        data[start + 2:start + 2 + length] = b"x" * length
        path.write_bytes(bytes(data))
    else:
        dataset = pydicom.dcmread(path)
        setattr(dataset, keyword, list(getattr(dataset, keyword))[:-1])
        dataset.save_as(path)


@pytest.mark.parametrize("how", ["unknown VR", "not a number", "a number missing"])
@pytest.mark.parametrize("keyword", list(GEOMETRY_TAGS))
def test_damaged_geometry_opens_the_slice_without_that_geometry_and_says_so(tmp_path, keyword, how):
    # Instance numbers run against the geometric order, so falling back to them shows in the order.
    paths = write_mr_series(tmp_path, n_slices=4, rows=32, cols=32,
                            per_slice=lambda k, dataset: setattr(dataset, "InstanceNumber", 4 - k))
    damaged = paths[0]  # the first slice along the normal, which the series' fields would have come from
    _damage_geometry(damaged, keyword, how)

    loaded = load_study(tmp_path)

    assert loaded.skipped == []
    (series,) = loaded.series
    (slice_,) = [slice_ for slice_ in series.slices if slice_.path == damaged]
    assert slice_.geometry_problem == f"Geometry unknown ({keyword} unreadable)"
    assert [s.geometry_problem for s in series.slices if s is not slice_] == [""] * 3
    assert slice_.modality_pixels().shape == (32, 32)
    assert (series.info.orientation, series.info.pixel_spacing) == ("axial", (0.9, 0.9))  # from an intact slice
    if keyword == "PixelSpacing":  # no scale bar or measurement in mm on that slice; the order stands
        assert slice_.pixel_spacing is None and slice_.orientation == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
        assert [s.path for s in series.slices] == paths and series.info.slice_spacing == pytest.approx(1.5)
    else:  # no complete geometry: ordered by InstanceNumber; named by Slice Location (0 for the first slice)
        assert [s.path for s in series.slices] == paths[::-1] and series.info.slice_spacing is None
        assert slice_.pixel_spacing == (0.9, 0.9) and slice_.label == "Se 3 Im 4, loc 0.0 mm"
        assert (slice_.orientation is None) == (keyword == "ImageOrientationPatient")  # no letters when damaged


def test_a_zero_pixel_spacing_is_unusable_and_the_report_is_still_written(tmp_path):
    write_mr_series(tmp_path / "mr", n_slices=2, rows=32, cols=32, pixel_spacing=(0.0, 0.0))
    (series,) = load_study(tmp_path / "mr").series
    assert series.info.pixel_spacing is None  # no scale bar, no mm: a zero size would divide by zero
    assert series.slices[0].geometry_problem == "Geometry unknown (PixelSpacing unreadable)"
    results = [slice_result(slice_.index, prediction([0.7, 0.1, 0.1, 0.1])) for slice_ in series.slices]
    write_pdf(aggregate(results, ManifestDouble(), series_info=series.info), tmp_path / "report.pdf")
    assert (tmp_path / "report.pdf").stat().st_size > 0


def test_a_slice_still_shows_when_the_slices_sampled_for_the_series_window_are_damaged(tmp_path):
    paths = write_mr_series(tmp_path, n_slices=10, transfer_syntax=RLELossless)
    series = load_study(tmp_path).series[0]
    for index in (1, 3, 5, 7, 9):  # the slices at 10, 30, 50, 70 and 90 % of the stack
        data = bytearray(paths[index].read_bytes())
        data[-2000:-8] = b"\x80" * 1992  # as above: found only when decoded
        paths[index].write_bytes(bytes(data))
    healthy = series.slices[4]
    assert healthy.default_window() == auto_window(healthy.modality_pixels())  # its own window
    assert healthy.display().max() == 255
    with pytest.raises(UnreadableFileError):
        series.slices[5].display()


def _raw_ds(tag: int, value: str) -> RawDataElement:
    """A DS element exactly as a damaged file stores it (pydicom would refuse to write the value itself)."""
    data = value.encode() + (b" " if len(value) % 2 else b"")
    return RawDataElement(Tag(tag), "DS", len(data), data, 0, False, True)


def _slope(value: str | list[int]):
    def damage(dataset: pydicom.Dataset) -> None:
        dataset.RescaleIntercept = 0  # the slope is used only beside an intercept
        if isinstance(value, str):
            dataset[0x00281053] = _raw_ds(0x00281053, value)
        else:
            dataset.RescaleSlope = value
    return damage


def _without_lut_descriptor(sequence_keyword: str):
    def damage(dataset: pydicom.Dataset) -> None:
        item = pydicom.Dataset()
        item[0x00283006] = RawDataElement(Tag(0x00283006), "US", 6, b"\x00\x00\x01\x00\x02\x00", 0, False, True)
        setattr(dataset, sequence_keyword, [item])  # LUT Data without its LUT Descriptor (0028,3002)
    return damage


def _nan_float_pixels(dataset: pydicom.Dataset) -> None:
    del dataset.PixelData
    dataset.FloatPixelData = np.full((32, 32), np.nan, np.float32).tobytes()
    dataset.BitsAllocated = 32
    for keyword in ("BitsStored", "HighBit", "PixelRepresentation", "RescaleSlope", "RescaleIntercept"):
        if keyword in dataset:
            delattr(dataset, keyword)


@pytest.mark.parametrize(("damage", "reason"), [
    (_slope("abc"), "could not be rescaled"),
    (_slope([1, 2]), "could not be rescaled"),
    (_without_lut_descriptor("ModalityLUTSequence"), "could not be rescaled"),
    (_without_lut_descriptor("VOILUTSequence"), "the VOI LUT could not be applied"),
    (_nan_float_pixels, "not finite numbers"),
], ids=["text-slope", "two-slopes", "modality-lut", "voi-lut", "nan-pixels"])
def test_one_file_with_an_unusable_pixel_transform_spoils_only_itself(tmp_path, damage, reason):
    """A text Rescale Slope in one file raised a numpy error out of the series' shared window: every slice of the
    series failed to show, and the CLI ended with an internal error. A NaN pixel made that window NaN (all black)."""
    write_mr_series(tmp_path, n_slices=6, rows=32, cols=32, shuffle=False,
                    per_slice=lambda k, d: damage(d) if k == 3 else None)
    series = load_study(tmp_path).series[0]
    damaged = next(s for s in series.slices if s.path.name.endswith("0003.dcm"))
    with pytest.raises(UnreadableFileError, match=reason) as raised:
        damaged.display()
    assert raised.value.path == damaged.path
    for slice_ in series.slices:
        if slice_ is not damaged:
            assert slice_.display().max() > 200
    window = series.slices[0].default_window()
    assert np.isfinite([window.center, window.width]).all()


@pytest.mark.parametrize("center, width", [("NaN", "400"), ("400", "1e999")])
def test_a_window_that_is_not_a_finite_number_is_not_used(tmp_path, center, width):
    write_mr_series(tmp_path, n_slices=2, rows=32, cols=32,
                    per_slice=lambda k, d: (d.__setitem__(0x00281050, _raw_ds(0x00281050, center)),
                                            d.__setitem__(0x00281051, _raw_ds(0x00281051, width))))
    slice_ = load_study(tmp_path).series[0].slices[0]
    assert slice_.windows == [] or all(not w.has_valid_width for w in slice_.windows)
    assert slice_.display().max() > 200  # the automatic window, not a black image


def test_pictures_deleted_while_the_folder_is_scanned_do_not_fail_the_study(tmp_path):
    """The sizes were read again after the scan, and a picture gone by then raised FileNotFoundError out of
    load_study: the whole study was lost. DICOM already coped."""
    folder = tmp_path / "study"
    folder.mkdir()
    for k in range(4):
        (folder / f"image{k}.png").write_bytes(_png_bytes(64, 64))

    def progress(done: int, total: int) -> None:
        if done == 2:
            for picture in sorted(folder.glob("*.png"))[:2]:  # already scanned
                picture.unlink()

    study = load_study(folder, progress=progress)
    (series,) = study.series
    gone = [slice_ for slice_ in series.slices if not slice_.path.exists()]
    assert gone
    with pytest.raises(UnreadableFileError) as raised:
        gone[0].display()
    assert raised.value.path == gone[0].path


def test_a_dicomdir_is_not_followed_out_of_its_own_folder(tmp_path):
    """Records naming '../other_patient/…' or an absolute path pulled another patient's files into the study."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MediaStorageDirectoryStorage, generate_uid

    media = tmp_path / "cdrom"
    own = write_mr_series(media / "IMAGES", n_slices=2, rows=32, cols=32, PatientID="OWN-1")
    other = write_mr_series(tmp_path / "other_patient", n_slices=2, rows=32, cols=32, PatientID="OTHER-9")
    dicomdir = Dataset()
    dicomdir.file_meta = FileMetaDataset()
    dicomdir.file_meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
    dicomdir.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dicomdir.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    records = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom notes that these IDs break the CS rules, as such media do
        for file_id in (["IMAGES", own[0].name], ["..", "other_patient", other[0].name], [str(other[1])]):
            record = Dataset()
            record.DirectoryRecordType = "IMAGE"
            record.ReferencedFileID = file_id
            records.append(record)
    dicomdir.DirectoryRecordSequence = records
    dicomdir.save_as(media / "DICOMDIR", enforce_file_format=True)

    loaded = load_study(media / "DICOMDIR")
    assert [slice_.path for series in loaded.series for slice_ in series.slices] == [own[0]]


@pytest.fixture
def refuse_access(monkeypatch):
    """`refuse_access(path)` makes a file or folder unreadable as a user meets it: mode 000, and, because root reads
    it regardless (as in CI containers), the calls the loader reads through (`os.scandir` for a folder, `Path.open`
    for a file) refuse that path with EACCES as the system would. The mode is restored afterwards."""
    refused: list[Path] = []
    scandir, path_open = os.scandir, Path.open

    def deny(path: str) -> None:
        if Path(path) in refused:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    def refusing_scandir(path="."):
        deny(os.fspath(path))
        return scandir(path)

    def refusing_open(self, *args, **kwargs):
        deny(str(self))
        return path_open(self, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    monkeypatch.setattr(Path, "open", refusing_open)

    def refuse(path: Path) -> None:
        refused.append(path)
        path.chmod(0)

    yield refuse
    for path in refused:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_an_unreadable_subfolder_is_listed_as_skipped_and_the_rest_opens(tmp_path, refuse_access):
    """A folder that may not be read was left out silently: no entry in the list, CLI exit status 0."""
    study = tmp_path / "study"
    series_paths = write_mr_series(study, n_slices=4, rows=32, cols=32)
    write_mr_series(study / "locked", n_slices=2, rows=32, cols=32)
    refuse_access(study / "locked")

    loaded = load_study(study)

    assert [[s.path for s in series.slices] for series in loaded.series] == [series_paths]
    assert [(s.path, s.reason) for s in loaded.skipped] == [
        (study / "locked", "the folder could not be read: permission denied")
    ]


def test_an_unreadable_folder_opened_directly_is_skipped_with_its_reason(tmp_path, refuse_access):
    write_mr_series(tmp_path / "locked", n_slices=2, rows=32, cols=32)
    refuse_access(tmp_path / "locked")
    assert _only_skip_reason(tmp_path / "locked") == "the folder could not be read: permission denied"


def test_an_unreadable_file_is_skipped_with_a_plain_reason_without_its_path(tmp_path, refuse_access):
    """The reason was "unexpected error while reading the file (PermissionError: [Errno 13] ... '<full path>')"."""
    paths = write_mr_series(tmp_path, n_slices=3, rows=32, cols=32)
    refuse_access(paths[1])

    loaded = load_study(tmp_path)

    assert [s.path for s in loaded.series[0].slices] == [paths[0], paths[2]]
    assert [(s.path, s.reason) for s in loaded.skipped] == [(paths[1], "the file could not be read: permission denied")]


def test_a_linked_series_folder_is_followed(tmp_path):
    """A study folder whose series are links to folders elsewhere opened only its own pictures, silently."""
    linked = write_mr_series(tmp_path / "archive" / "t1", n_slices=4, rows=32, cols=32)
    study = tmp_path / "study"
    study.mkdir()
    (study / "picture.png").write_bytes(_png_bytes(32, 32))
    _symlink(study / "t1", tmp_path / "archive" / "t1")

    loaded = load_study(study)

    assert loaded.skipped == []
    assert [[s.path for s in series.slices] for series in loaded.series] == [
        [study / "t1" / path.name for path in linked], [study / "picture.png"]
    ]


def test_links_back_up_or_into_listed_folders_are_skipped_and_nothing_around_the_study_opens(tmp_path):
    write_mr_series(tmp_path / "other_patient", n_slices=2, rows=32, cols=32, PatientID="OTHER-9")
    study = tmp_path / "study"
    series_paths = write_mr_series(study / "series", n_slices=4, rows=32, cols=32)
    _symlink(study / "again", study / "series")  # its files are listed from the folder itself
    _symlink(study / "self", study)
    _symlink(study / "series" / "study", study)
    _symlink(study / "parent", tmp_path)  # would open the other patient's files, and the study again

    loaded = load_study(study)

    assert [[s.path for s in series.slices] for series in loaded.series] == [series_paths]
    assert sorted((s.path, s.reason) for s in loaded.skipped) == [
        (study / "again", LINKED_FOLDER_LISTED_REASON), (study / "parent", FOLDER_LINK_LOOP_REASON),
        (study / "self", FOLDER_LINK_LOOP_REASON), (study / "series" / "study", FOLDER_LINK_LOOP_REASON),
    ]
    assert FOLDER_LINK_LOOP_REASON.startswith("symbolic link loop")


def test_linked_folders_that_link_to_each_other_are_listed_once(tmp_path):
    study_uid = pydicom.uid.generate_uid()  # one study: the series are then listed by their numbers
    first = write_mr_series(tmp_path / "a", n_slices=2, rows=32, cols=32, SeriesNumber=1, StudyInstanceUID=study_uid)
    second = write_mr_series(tmp_path / "b", n_slices=3, rows=32, cols=32, SeriesNumber=2, StudyInstanceUID=study_uid)
    _symlink(tmp_path / "a" / "to_b", tmp_path / "b")
    _symlink(tmp_path / "b" / "to_a", tmp_path / "a")
    study = tmp_path / "study"
    study.mkdir()
    _symlink(study / "a", tmp_path / "a")

    loaded = load_study(study)

    assert [[s.path.name for s in series.slices] for series in loaded.series] == [
        [path.name for path in first], [path.name for path in second]
    ]
    assert [(s.path, s.reason) for s in loaded.skipped] == [
        (study / "a" / "to_b" / "to_a", LINKED_FOLDER_LISTED_REASON)
    ]


def test_a_second_path_to_a_file_already_listed_is_skipped_with_its_reason(tmp_path):
    (tmp_path / "a.png").write_bytes(_png_bytes(32, 32))
    _symlink(tmp_path / "b.png", tmp_path / "a.png")

    loaded = load_study(tmp_path)

    assert [s.path for s in loaded.series[0].slices] == [tmp_path / "a.png"]
    assert [(s.path, s.reason) for s in loaded.skipped] == [
        (tmp_path / "b.png", SAME_FILE_REASON)
    ]
