"""Every file pydicom ships is opened with an explicit expected outcome.

OPENED: at least one series, and the first slice decodes to an 8-bit display image.
DECODE_ERROR: the header opens (the slice is listed) but decoding raises UnreadableFileError naming the file.
SKIPPED: no series; every skipped entry names the file, and the first reason contains the given text.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_files

from core.errors import UnreadableFileError
from core.io.load import load_study

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
OPENED = ("opened", "")
SKIPPED = "skipped"
DECODE_ERROR = "decode error"

# file (relative to pydicom's test_files, fnmatch pattern allowed) → (outcome, text expected in the reason)
EXPECTED = {
    "693_J2KI.dcm": OPENED,
    "CT_small.dcm": OPENED,
    "ExplVR_BigEnd.dcm": OPENED,
    "ExplVR_BigEndNoMeta.dcm": (SKIPPED, "no image (it is a RT Ion Plan Storage)"),
    "ExplVR_LitEndNoMeta.dcm": (SKIPPED, "no image (it is a RT Ion Plan Storage)"),
    "GDCMJ2K_TextGBR.dcm": OPENED,
    "J2K_pixelrep_mismatch.dcm": OPENED,
    "JPEG-lossy.dcm": (DECODE_ERROR, "the pixel data could not be decoded"),
    "JPEG2000-embedded-sequence-delimiter.dcm": (DECODE_ERROR, "the pixel data could not be decoded"),
    "JPEG2000.dcm": OPENED,
    "JPEGLSNearLossless_08.dcm": OPENED,
    "JPEGLSNearLossless_16.dcm": OPENED,
    "JPGExtended.dcm": OPENED,
    "MR_small.dcm": OPENED,
    "MR_small_RLE.dcm": OPENED,
    "MR_small_bigendian.dcm": OPENED,
    "MR_small_expb.dcm": OPENED,
    "MR_small_implicit.dcm": OPENED,
    "MR_small_jp2klossless.dcm": OPENED,
    "MR_small_jpeg_ls_lossless.dcm": OPENED,
    "MR_small_padded.dcm": OPENED,
    "MR_truncated.dcm": (SKIPPED, "the pixel data is incomplete (8130 of 8192 bytes); the file is probably truncated"),
    "README.txt": (SKIPPED, "not a DICOM file or a supported picture"),
    "SC_jpeg_no_color_transform.dcm": OPENED,
    "SC_jpeg_no_color_transform_2.dcm": OPENED,
    "SC_rgb_dcmtk_+eb+cr.dcm": OPENED,
    "SC_rgb_dcmtk_+eb+cy+n1.dcm": OPENED,
    "SC_rgb_dcmtk_+eb+cy+n2.dcm": OPENED,
    "SC_rgb_dcmtk_+eb+cy+np.dcm": OPENED,
    "SC_rgb_dcmtk_+eb+cy+s2.dcm": OPENED,
    "SC_rgb_dcmtk_+eb+cy+s4.dcm": OPENED,
    "SC_rgb_gdcm_KY.dcm": OPENED,
    "SC_rgb_jls_lossy_line.dcm": OPENED,
    "SC_rgb_jls_lossy_sample.dcm": OPENED,
    "SC_rgb_jpeg.dcm": OPENED,
    "SC_rgb_jpeg_app14_dcmd.dcm": OPENED,
    "SC_rgb_jpeg_dcmd.dcm": OPENED,
    "SC_rgb_jpeg_dcmtk.dcm": OPENED,
    "SC_rgb_jpeg_gdcm.dcm": OPENED,
    "SC_rgb_jpeg_lossy_gdcm.dcm": OPENED,
    "SC_rgb_rle.dcm": OPENED,
    "SC_rgb_rle_16bit.dcm": OPENED,
    "SC_rgb_rle_16bit_2frame.dcm": OPENED,
    "SC_rgb_rle_2frame.dcm": OPENED,
    "SC_rgb_rle_32bit.dcm": OPENED,
    "SC_rgb_rle_32bit_2frame.dcm": OPENED,
    "SC_rgb_small_odd.dcm": (SKIPPED, "image is too small (3×3 pixels; at least 8×8 needed)"),
    "SC_rgb_small_odd_big_endian.dcm": (SKIPPED, "image is too small (3×3 pixels; at least 8×8 needed)"),
    "SC_rgb_small_odd_jpeg.dcm": (SKIPPED, "image is too small (3×3 pixels; at least 8×8 needed)"),
    "SC_ybr_full_422_uncompressed.dcm": OPENED,
    "UN_sequence.dcm": (SKIPPED, "it is a CT Image Storage object, but without pixel data"),
    "badVR.dcm": (SKIPPED, "the DICOM header is invalid"),
    "crayons.icc": (SKIPPED, "not a DICOM file or a supported picture"),
    "dicomdirtests/77654033/CR1/6154": OPENED,
    "dicomdirtests/77654033/CR2/6247": OPENED,
    "dicomdirtests/77654033/CR3/6278": OPENED,
    "dicomdirtests/77654033/CT2/17106": OPENED,
    "dicomdirtests/77654033/CT2/17136": OPENED,
    "dicomdirtests/77654033/CT2/17166": OPENED,
    "dicomdirtests/77654033/CT2/17196": OPENED,
    "dicomdirtests/98892001/CT2N/6293": OPENED,
    "dicomdirtests/98892001/CT2N/6924": OPENED,
    "dicomdirtests/98892001/CT5N/2062": OPENED,
    "dicomdirtests/98892001/CT5N/2392": OPENED,
    "dicomdirtests/98892001/CT5N/2693": OPENED,
    "dicomdirtests/98892001/CT5N/3023": OPENED,
    "dicomdirtests/98892001/CT5N/3353": OPENED,
    "dicomdirtests/98892003/MR1/15820": OPENED,
    "dicomdirtests/98892003/MR1/4919": OPENED,
    "dicomdirtests/98892003/MR1/5641": OPENED,
    "dicomdirtests/98892003/MR2/15970": OPENED,
    "dicomdirtests/98892003/MR2/4950": OPENED,
    "dicomdirtests/98892003/MR2/4981": OPENED,
    "dicomdirtests/98892003/MR2/5011": OPENED,
    "dicomdirtests/98892003/MR2/6273": OPENED,
    "dicomdirtests/98892003/MR2/6605": OPENED,
    "dicomdirtests/98892003/MR2/6935": OPENED,
    "dicomdirtests/98892003/MR700/4467": OPENED,
    "dicomdirtests/98892003/MR700/4528": OPENED,
    "dicomdirtests/98892003/MR700/4558": OPENED,
    "dicomdirtests/98892003/MR700/4588": OPENED,
    "dicomdirtests/98892003/MR700/4618": OPENED,
    "dicomdirtests/98892003/MR700/4648": OPENED,
    "dicomdirtests/98892003/MR700/4678": OPENED,
    "dicomdirtests/DICOMDIR": OPENED,
    "dicomdirtests/DICOMDIR-bigEnd": OPENED,
    "dicomdirtests/DICOMDIR-empty.dcm": (SKIPPED, "the DICOMDIR lists no files"),
    "dicomdirtests/DICOMDIR-implicit": OPENED,
    "dicomdirtests/DICOMDIR-nooffset": OPENED,
    "dicomdirtests/DICOMDIR-nopatient": OPENED,
    "dicomdirtests/DICOMDIR-reordered": OPENED,
    "dicomdirtests/README.txt": (SKIPPED, "not a DICOM file or a supported picture"),
    "dicomdirtests/TINY_ALPHA/DICOMDIR": (SKIPPED, "it is a CT Image Storage object, but without pixel data"),
    "dicomdirtests/TINY_ALPHA/README": (SKIPPED, "not a DICOM file or a supported picture"),
    "empty_charset_LEI.dcm": (SKIPPED, "no image (the DICOM object has no pixel data)"),
    "examples_jpeg2k.dcm": OPENED,
    "examples_overlay.dcm": OPENED,
    "examples_palette.dcm": OPENED,
    "examples_rgb_color.dcm": OPENED,
    "examples_ybr_color.dcm": OPENED,
    "image_dfl.dcm": OPENED,
    "liver_1frame.dcm": OPENED,
    "liver_expb_1frame.dcm": OPENED,
    "meta_missing_tsyntax.dcm": (SKIPPED, "the image header is incomplete (no Rows)"),
    "nested_priv_SQ.dcm": (SKIPPED, "the image header is incomplete (no Rows)"),
    "no_meta.dcm": (SKIPPED, "not a DICOM file or a supported picture"),
    "no_meta_group_length.dcm": (SKIPPED, "it is a RT Image Storage object, but without pixel data"),
    "priv_SQ.dcm": (SKIPPED, "it is a MR Image Storage object, but without pixel data"),
    "reportsi.dcm": (SKIPPED, "no image (it is a Basic Text SR Storage)"),
    "reportsi_with_empty_number_tags.dcm": (SKIPPED, "no image (it is a Basic Text SR Storage)"),
    "rtdose.dcm": OPENED,
    "rtdose_1frame.dcm": OPENED,
    "rtdose_expb.dcm": OPENED,
    "rtdose_expb_1frame.dcm": OPENED,
    "rtdose_rle.dcm": OPENED,
    "rtdose_rle_1frame.dcm": OPENED,
    "rtplan.dcm": (SKIPPED, "no image (it is a RT Plan Storage)"),
    "rtplan.dump": (SKIPPED, "not a DICOM file or a supported picture"),
    "rtplan_truncated.dcm": (SKIPPED, "no image (it is a RT Plan Storage)"),
    "rtstruct.dcm": (SKIPPED, "no image (it is a RT Structure Set Storage)"),
    "rtstruct.dump": (SKIPPED, "not a DICOM file or a supported picture"),
    "test-SR.dcm": (SKIPPED, "no image (it is a Comprehensive SR Storage)"),
    "test1.json": (SKIPPED, "not a DICOM file or a supported picture"),
    "test_PN.json": (SKIPPED, "not a DICOM file or a supported picture"),
    "waveform_ecg.dcm": (SKIPPED, "no image (it is a 12-lead ECG Waveform Storage)"),
    "zipMR.gz": (SKIPPED, "not a DICOM file or a supported picture"),
    # 29 tiny CT headers that the TINY_ALPHA DICOMDIR indexes; they carry no pixel data.
    "dicomdirtests/TINY_ALPHA/PT000000/ST000000/SE000000/IM*": (
        SKIPPED, "no image (it is a CT Image Storage object, but without pixel data"
    ),
}


def _shipped_files() -> list[str]:
    # get_testdata_files() lists local files only (it never downloads); it also returns folders, dropped here.
    return sorted(Path(p).relative_to(TEST_FILES).as_posix() for p in get_testdata_files() if os.path.isfile(p))


def _expectation(name: str) -> tuple[str, str]:
    matches = [pattern for pattern in EXPECTED if fnmatch.fnmatchcase(name, pattern)]
    assert len(matches) == 1, f"{name} must match exactly one expectation, matched {matches}"
    return EXPECTED[matches[0]]


def test_every_shipped_file_is_listed_and_every_entry_is_used():
    shipped = _shipped_files()
    assert len(shipped) > 80
    for name in shipped:
        _expectation(name)
    for pattern in EXPECTED:
        assert any(fnmatch.fnmatchcase(name, pattern) for name in shipped), f"stale expectation {pattern}"


@pytest.mark.parametrize("name", _shipped_files())
def test_shipped_file_has_expected_outcome(name: str):
    outcome, reason_text = _expectation(name)
    study = load_study(TEST_FILES / name)
    if outcome == SKIPPED:
        assert study.series == []
        assert study.skipped, "a skipped file must be reported"
        assert reason_text in study.skipped[0].reason
        return
    assert study.series, [s.reason for s in study.skipped]
    first = study.series[0].slices[0]
    if outcome == DECODE_ERROR:
        with pytest.raises(UnreadableFileError) as error:
            first.display()
        assert reason_text in error.value.reason
        assert first.path.name in str(error.value)
        return
    image = first.display()
    assert image.dtype == np.uint8
    assert image.shape == first.shape
