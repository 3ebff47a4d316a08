"""Realistic synthetic MR DICOM for tests (and benchmarks): classic single-frame series and enhanced multi-frame.

Main entry points:

- `write_mr_series(folder, n_slices=40, rows=128, cols=128, shuffle=True, seed=0, **overrides) -> list[Path]`
  One MR series, one file per slice, returned in *geometric* order (index k = k-th slice along the normal), while
  the file names are a random permutation when `shuffle` (so name order says nothing). Slice k shows an
  elliptical "head" whose brightness is `BRAIN_BASE + BRAIN_STEP * k` in stored values and whose size follows a sine
  over the stack, so the first and last ~10 % of slices are nearly empty (`central_slices` must skip them).
  Keyword options (all optional):
    tilt_degrees: rotate the slice plane about the patient x axis (0 = pure axial; 20 = typical AC-PC tilt).
    slice_spacing (mm, default 1.5), pixel_spacing ((row, col) mm, default (0.9, 0.9)), origin ((x, y, z) mm).
    transfer_syntax: a pydicom UID; compressed syntaxes are encoded with pydicom's installed encoders.
    per_slice: callable(k, dataset) run on each slice before writing, for per-file edits (drop a tag, ...).
    Any other keyword is a DICOM keyword set on every slice, e.g. PhotometricInterpretation="MONOCHROME1",
    RescaleSlope=2.0, RescaleIntercept=-100.0, WindowCenter=[300, 600], WindowWidth=[600, 1200],
    PatientName="Doe^John", SeriesInstanceUID="1.2.3". Keywords set to None are deleted.
- `write_enhanced_mr(path, n_frames=12, rows=64, cols=64, seed=0) -> Path`
  One Enhanced MR Image Storage file whose frames are stored in shuffled spatial order, with per-frame
  PlanePositionSequence and PixelValueTransformationSequence and shared orientation, measures and VOI window
  (PS3.3 C.7.6.16). `enhanced_frame_order(path)` returns the stored-frame index of each geometric position.
- `phantom(rows, cols, k, n_slices)`: the stored-value image of slice k.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    EnhancedMRImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

BRAIN_BASE = 400
BRAIN_STEP = 10
BACKGROUND = 0
STUDY_DATE = "20240131"


def phantom(rows: int, cols: int, k: int, n_slices: int) -> np.ndarray:
    """uint16 stored values: an ellipse (the head) growing then shrinking along the stack, on a black surround."""
    extent = math.sin(math.pi * (k + 0.5) / n_slices)  # 0 at the ends of the stack, 1 in the middle
    radius_rows, radius_cols = 0.42 * rows * extent, 0.36 * cols * extent
    y, x = np.ogrid[:rows, :cols]
    inside = ((y - rows / 2) / max(radius_rows, 1e-6)) ** 2 + ((x - cols / 2) / max(radius_cols, 1e-6)) ** 2 <= 1
    image = np.full((rows, cols), BACKGROUND, np.uint16)
    image[inside] = BRAIN_BASE + BRAIN_STEP * k
    return image


def orientation_for_tilt(tilt_degrees: float) -> list[float]:
    """ImageOrientationPatient of an axial plane rotated about the patient x axis."""
    angle = math.radians(tilt_degrees)
    return [1.0, 0.0, 0.0, 0.0, math.cos(angle), math.sin(angle)]


def write_mr_series(
    folder: Path,
    n_slices: int = 40,
    rows: int = 128,
    cols: int = 128,
    shuffle: bool = True,
    seed: int = 0,
    *,
    tilt_degrees: float = 0.0,
    slice_spacing: float = 1.5,
    pixel_spacing: tuple[float, float] = (0.9, 0.9),
    origin: tuple[float, float, float] = (-57.6, -57.6, -30.0),
    transfer_syntax: UID = ExplicitVRLittleEndian,
    per_slice: Callable[[int, Dataset], None] | None = None,
    **overrides: object,
) -> list[Path]:
    """Write one MR series; see the module docstring. Returns the paths in geometric (slice-normal) order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = rng.permutation(n_slices) if shuffle else np.arange(n_slices)
    orientation = orientation_for_tilt(tilt_degrees)
    normal = np.cross(orientation[:3], orientation[3:])
    study_uid, series_uid = generate_uid(), generate_uid()
    paths = []
    for k in range(n_slices):
        dataset = _mr_dataset(MRImageStorage, study_uid, series_uid, rows, cols)
        dataset.InstanceNumber = k + 1
        dataset.ImageOrientationPatient = orientation
        dataset.ImagePositionPatient = [round(float(v), 4) for v in np.asarray(origin) + k * slice_spacing * normal]
        dataset.SliceLocation = round(k * slice_spacing, 4)
        dataset.SliceThickness = slice_spacing
        dataset.SpacingBetweenSlices = slice_spacing
        dataset.PixelSpacing = list(pixel_spacing)
        dataset.PixelData = phantom(rows, cols, k, n_slices).tobytes()
        _apply_overrides(dataset, overrides)
        if per_slice is not None:
            per_slice(k, dataset)
        path = folder / f"IM{int(names[k]):04d}.dcm"
        _save(dataset, path, transfer_syntax)
        paths.append(path)
    return paths


def write_enhanced_mr(path: Path, n_frames: int = 12, rows: int = 64, cols: int = 64, seed: int = 0,
                      slice_spacing: float = 2.0) -> Path:
    """Write an Enhanced MR file with frames in shuffled spatial order; see the module docstring."""
    order = np.random.default_rng(seed).permutation(n_frames)  # order[i] = geometric position of stored frame i
    dataset = _mr_dataset(EnhancedMRImageStorage, generate_uid(), generate_uid(), rows, cols)
    dataset.NumberOfFrames = n_frames
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([_item(ImageOrientationPatient=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0])])
    shared.PixelMeasuresSequence = Sequence([_item(PixelSpacing=[1.0, 1.0], SliceThickness=slice_spacing,
                                                   SpacingBetweenSlices=slice_spacing)])
    shared.FrameVOILUTSequence = Sequence([_item(WindowCenter=300.0, WindowWidth=800.0)])
    dataset.SharedFunctionalGroupsSequence = Sequence([shared])
    dataset.PerFrameFunctionalGroupsSequence = Sequence([
        _per_frame_groups(int(position), slice_spacing) for position in order
    ])
    dataset.PixelData = b"".join(phantom(rows, cols, int(position), n_frames).tobytes() for position in order)
    _save(dataset, Path(path), ExplicitVRLittleEndian)
    return Path(path)


def enhanced_frame_order(n_frames: int = 12, seed: int = 0) -> list[int]:
    """For `write_enhanced_mr(..., n_frames, seed)`: stored-frame index at each geometric position."""
    order = np.random.default_rng(seed).permutation(n_frames)
    return [int(np.where(order == position)[0][0]) for position in range(n_frames)]


def _per_frame_groups(position: int, slice_spacing: float) -> Dataset:
    groups = Dataset()
    groups.PlanePositionSequence = Sequence([_item(ImagePositionPatient=[-32.0, -32.0, position * slice_spacing])])
    groups.PixelValueTransformationSequence = Sequence([
        _item(RescaleSlope=1.0, RescaleIntercept=0.0, RescaleType="US")
    ])
    return groups


def _item(**attributes: object) -> Dataset:
    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def _mr_dataset(sop_class: UID, study_uid: str, series_uid: str, rows: int, cols: int) -> Dataset:
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = sop_class
    dataset.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    dataset.SOPClassUID = sop_class
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, series_uid
    dataset.Modality = "MR"
    dataset.PatientName = "Test^Phantom"
    dataset.PatientID = "PHANTOM-001"
    dataset.PatientBirthDate = "19700101"
    dataset.PatientSex = "O"
    dataset.StudyDate = STUDY_DATE
    dataset.StudyDescription = "BRAIN"
    dataset.SeriesDescription = "T1 AX"
    dataset.SeriesNumber = 3
    dataset.Manufacturer = "Synthetic"
    dataset.Rows, dataset.Columns = rows, cols
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
    dataset.PixelRepresentation = 0
    return dataset


def _apply_overrides(dataset: Dataset, overrides: dict[str, object]) -> None:
    for keyword, value in overrides.items():
        if value is None:
            if keyword in dataset:
                delattr(dataset, keyword)
        else:
            setattr(dataset, keyword, value)


def _save(dataset: Dataset, path: Path, transfer_syntax: UID) -> None:
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if UID(transfer_syntax).is_compressed:
        dataset.compress(transfer_syntax)  # pydicom's installed encoders (RLE, JPEG 2000 via pylibjpeg)
    else:
        dataset.file_meta.TransferSyntaxUID = transfer_syntax
    dataset.save_as(path, enforce_file_format=True)
