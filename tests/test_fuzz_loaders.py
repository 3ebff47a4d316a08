"""Fuzz the loaders with mutated DICOM, JPEG and PNG files.

Contract under test (DESIGN.md): `load_study` never raises and accounts for every file, either as slices or as a
skipped file with a reason; decoding a slice (`display()`) and reading its tags either work or raise
`UnreadableFileError`; no file takes longer than `PER_FILE_SECONDS` to load and decode.

CI runs `DEFAULT_EXAMPLES` cases in total, derandomised so every run tries the same cases. A longer run:
    BRAINMRI_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -q tests/test_fuzz_loaders.py
(the total is split evenly between the three formats; set BRAINMRI_FUZZ_SEED=<n> to explore other cases).
"""

from __future__ import annotations

import io
import os
import signal
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from pydicom.encaps import generate_frames
from pydicom.uid import RLELossless

from core.errors import UnreadableFileError
from core.io.load import Study, load_study
from core.paths import sample_study_dir
from tests.dicom_factory import write_enhanced_mr, write_mr_series

DEFAULT_EXAMPLES = 150
FORMATS = ("dicom", "jpeg", "png")
TOTAL_EXAMPLES = int(os.environ.get("BRAINMRI_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
EXAMPLES_PER_FORMAT = max(1, TOTAL_EXAMPLES // len(FORMATS))
FUZZ_SEED = int(os.environ.get("BRAINMRI_FUZZ_SEED", 0))
PER_FILE_SECONDS = float(os.environ.get("BRAINMRI_FUZZ_FILE_SECONDS", 2.0))
# Headers are where parsers make decisions; most mutations land in the first bytes, the rest anywhere.
HEADER_BYTES = 1024
# One file per decoder path (native, RLE, JPEG 2000, JPEG-LS, 12-bit JPEG extended, baseline RGB JPEG), all
# shipped inside pydicom's wheel, so nothing is downloaded.
PYDICOM_SEEDS = ("MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
                 "JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm")


@cache
def seed_files(kind: str) -> tuple[bytes, ...]:
    """Valid files of one format whose bytes the mutations start from."""
    if kind == "dicom":
        folder = Path(pydicom.__file__).parent / "data" / "test_files"
        return tuple((folder / name).read_bytes() for name in PYDICOM_SEEDS) + factory_dicom_seeds()
    jpegs = sorted(sample_study_dir().glob("*.jpg"))[:2]
    if kind == "jpeg":
        return tuple(path.read_bytes() for path in jpegs)
    gray = cv2.imdecode(np.fromfile(jpegs[0], dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    small = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA)
    wide = (small.astype(np.uint16) * 257)  # 16-bit PNG: the other depth the image loader handles
    return tuple(cv2.imencode(".png", image)[1].tobytes() for image in (small, wide))


def factory_dicom_seeds() -> tuple[bytes, ...]:
    """A realistic classic MR slice (windows, rescale, geometry, MONOCHROME1) and an enhanced multi-frame MR."""
    with tempfile.TemporaryDirectory(prefix="fuzz-seeds-") as folder:
        classic = write_mr_series(Path(folder) / "classic", n_slices=1, rows=32, cols=32, RescaleSlope=2.0,
                                  RescaleIntercept=-100.0, WindowCenter=[300, 600], WindowWidth=[600, 1200],
                                  PhotometricInterpretation="MONOCHROME1")[0]
        enhanced = write_enhanced_mr(Path(folder) / "enhanced.dcm", n_frames=3, rows=32, cols=32)
        return classic.read_bytes(), enhanced.read_bytes()


@st.composite
def mutated_bytes(draw: st.DrawFn, kind: str) -> bytes:
    data = bytearray(draw(st.sampled_from(seed_files(kind))))
    for _ in range(draw(st.integers(1, 4))):
        limit = HEADER_BYTES if draw(st.booleans()) else len(data)
        position = draw(st.integers(0, max(0, min(limit, len(data)) - 1)))
        action = draw(st.sampled_from(("flip", "overwrite", "insert", "delete", "truncate", "duplicate")))
        if action == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[position:position + len(chunk)] = chunk
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif action == "delete":
            del data[position:position + draw(st.integers(1, 256))]
        elif action == "truncate":
            del data[position:]
        else:  # a repeated block: lengths and offsets that point at the wrong place
            end = min(len(data), position + draw(st.integers(1, 512)))
            data[end:end] = data[position:end]
        if not data:
            break
    return bytes(data)


class FileTooSlow(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt a hang (in Python code) after `seconds` with FileTooSlow; the fuzz test runs in the main thread."""
    def interrupt(signum, frame):
        raise FileTooSlow(f"loading took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def either_works_or_unreadable(action: Callable[[], object]) -> None:
    try:
        action()
    except UnreadableFileError as error:
        assert error.reason, "UnreadableFileError without a reason"


def check_loader_contract(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        path = Path(folder) / f"mutated{suffix}"
        path.write_bytes(data)
        with time_limit(PER_FILE_SECONDS):
            study: Study = load_study(path)
            slices = [slice_ for series in study.series for slice_ in series.slices]
            assert slices or study.skipped, "file neither loaded nor reported as skipped"
            for skipped in study.skipped:
                assert isinstance(skipped.reason, str) and skipped.reason.strip(), "skipped without a reason"
            for slice_ in slices:
                either_works_or_unreadable(slice_.tags)
                either_works_or_unreadable(lambda: check_display(slice_))


def check_display(slice_) -> None:
    image = slice_.display()
    assert image.dtype == np.uint8 and image.shape == tuple(slice_.shape)


FUZZ_SETTINGS = settings(max_examples=EXAMPLES_PER_FORMAT, derandomize=FUZZ_SEED == 0, database=None, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("kind, suffix", [("dicom", ".dcm"), ("jpeg", ".jpg"), ("png", ".png")])
def test_mutated_files_are_loaded_or_skipped_with_a_reason(kind: str, suffix: str):
    @FUZZ_SETTINGS
    @seed(FUZZ_SEED)
    @given(mutated_bytes(kind))
    def fuzz(data: bytes) -> None:
        check_loader_contract(data, suffix)

    fuzz()


@pytest.mark.parametrize("kind, suffix", [("dicom", ".dcm"), ("jpeg", ".jpg"), ("png", ".png")])
def test_seed_files_load_cleanly(kind: str, suffix: str):
    """The unmutated seeds must load without skips, so the fuzz cases start from files the loader accepts."""
    for data in seed_files(kind):
        with tempfile.TemporaryDirectory(prefix="seed-") as folder:
            path = Path(folder) / f"seed{suffix}"
            path.write_bytes(data)
            study = load_study(path)
            assert not study.skipped, study.skipped
            assert all(series.slices[0].display().dtype == np.uint8 for series in study.series)


@cache
def rle_seed() -> tuple[bytes, bytes]:
    """A single-frame RLE MR file and its one encoded frame, for laying out fragments."""
    with tempfile.TemporaryDirectory(prefix="fuzz-seeds-") as folder:
        (path,) = write_mr_series(Path(folder), n_slices=1, rows=32, cols=32, transfer_syntax=RLELossless)
        data = path.read_bytes()
    (frame,) = generate_frames(pydicom.dcmread(io.BytesIO(data)).PixelData, number_of_frames=1)
    return data, frame


def encapsulated(fragments: list[bytes], offsets: int) -> bytes:
    """Encapsulated pixel data (PS3.5 A.4): a Basic Offset Table of `offsets` entries, then one item per fragment."""
    items = [struct.pack(f"<{offsets}L", *range(offsets)), *fragments]
    return b"".join(b"\xfe\xff\x00\xe0" + struct.pack("<L", len(item)) + item for item in items)


@FUZZ_SETTINGS
@seed(FUZZ_SEED)
@given(layout=st.lists(st.sampled_from(("frame", "head", "tail", "empty")), max_size=6),
       claimed=st.one_of(st.integers(-3, 10), st.integers(11, 10**7)), offsets=st.integers(0, 8))
def test_a_compressed_file_never_lists_more_frames_than_it_has_fragments(layout, claimed, offsets):
    """A 300 kB RLE file claiming 300,000 frames took 50 s and 628 MB to open. Whatever the header claims, a file
    lists at most one frame per non-empty fragment (PS3.5 A.4), or none, and loads within the time limit."""
    data, frame = rle_seed()
    pieces = {"frame": frame, "head": frame[:40], "tail": frame[40:], "empty": b""}
    dataset = pydicom.dcmread(io.BytesIO(data))
    dataset.PixelData = encapsulated([pieces[name] for name in layout], offsets)
    dataset.NumberOfFrames = claimed
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        path = Path(folder) / "frames.dcm"
        dataset.save_as(path)
        with time_limit(PER_FILE_SECONDS):
            study = load_study(path)
    slices = [slice_ for series in study.series for slice_ in series.slices]
    assert len(slices) <= sum(1 for name in layout if name != "empty")
    assert bool(slices) != bool(study.skipped) and all(skipped.reason for skipped in study.skipped)
