"""Reading one DICOM file's header (PS3.10) into the `FrameHeader`s of its frames; `read_file` is the entry point.

Headers are read with `defer_size`, so pixel data (and any other large value) is skipped on disk rather than read:
that keeps opening a 300-slice series cheap while still telling us where the pixel data starts and how long it is,
which is how truncated files are caught before anyone tries to display them (`core.io.dicom.pixels`).

Every header field anything needs later is read here, once: the series' descriptive fields (patient, study and
series; the patient ones are PHI), the frame's geometry (`core.io.dicom.geometry`), its VOI windows (PS3.3 C.11.2)
and, for a multi-frame object, one `FrameHeader` per frame (enhanced objects: PS3.3 C.7.6.16). A DICOMDIR yields
the files it references instead (`core.io.dicom.dicomdir`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, MediaStorageDirectoryStorage

from core.errors import NoPixelDataError, UnreadableFileError
from core.io.dicom.dicomdir import dicomdir_references
from core.io.dicom.elements import floats, frame_group, number_value, text_value
from core.io.dicom.geometry import normal_position, orientation_label, plane_value
from core.io.dicom.pixels import (
    PIXEL_TAGS,
    DicomPixelSource,
    check_frame_count,
    check_pixel_length,
    transfer_syntax_override,
)
from core.io.dicom.text import format_date, format_person_name, format_time, person_name_spellings
from core.io.types import SeriesInfo, check_image_size
from core.io.windowing import FULL_RANGE_8BIT, Window, voi_function
from core.logging_setup import register_phi

#: Values larger than this stay on disk when reading headers (pixel data, big private blobs).
_DEFER_BYTES = 1024


@dataclass
class FrameHeader:
    """Everything known about one frame before decoding it."""

    path: Path
    frame: int | None
    rows: int
    cols: int
    #: Series metadata as this file states it, read per file so that a damaged element costs only that field.
    info: SeriesInfo
    windows: list[Window]
    source: DicomPixelSource
    inverted: bool
    orientation: tuple[float, ...] | None
    position: tuple[float, ...] | None
    instance_number: int | None
    #: Where the frame lies and along which patient axis (`geometry.normal_position`); names the slice.
    normal_position: tuple[float, int | None] | None = None
    #: Keywords of the geometry values the file states but that could not be used (see `geometry.plane_value`).
    damaged_geometry: tuple[str, ...] = ()
    #: SOP Instance UID (PS3.3 C.12.1), "" when absent: with `frame`, names the image, so copies can be told apart.
    sop_instance_uid: str = ""

    @property
    def geometry_problem(self) -> str:
        """What the viewer says about damaged geometry ("" when none is), e.g. "Geometry unknown (PixelSpacing
        unreadable)"."""
        return f"Geometry unknown ({' and '.join(self.damaged_geometry)} unreadable)" if self.damaged_geometry else ""


@dataclass
class DicomFile:
    """What one file contributes: frames, or (for a DICOMDIR) the files it references."""

    frames: list[FrameHeader] = field(default_factory=list)
    referenced_files: list[Path] = field(default_factory=list)


def read_file(path: Path) -> DicomFile:
    """Headers of every frame in a DICOM file; raises `UnreadableFileError` / `NoPixelDataError` with a reason."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about every oddity; real problems become skip reasons
        return _read_file(path)


def _read_file(path: Path) -> DicomFile:
    dataset = _read_dataset(path)
    if _sop_class(dataset) == MediaStorageDirectoryStorage:
        return DicomFile(referenced_files=dicomdir_references(path, dataset))
    if not any(tag in dataset for tag in PIXEL_TAGS):
        raise NoPixelDataError(path, _no_pixels_reason(dataset))
    try:
        return DicomFile(frames=_frame_headers(path, dataset))
    except (AttributeError, KeyError, TypeError, ValueError, IndexError, NotImplementedError) as error:
        # NotImplementedError: pydicom's answer to an unknown VR in an element the image itself needs
        raise UnreadableFileError(path, f"the DICOM header is invalid ({error})") from error


def _read_dataset(path: Path) -> Dataset:
    """Read a header; files without the "DICM" preamble are accepted only if they look like image/SOP objects."""
    try:
        return pydicom.dcmread(path, defer_size=_DEFER_BYTES)
    except InvalidDicomError:
        pass  # no preamble: might still be a bare dataset
    except Exception as error:  # damaged headers raise anything from EOFError to struct.error
        raise UnreadableFileError(path, f"the DICOM header is damaged ({error})") from error
    try:
        dataset: Dataset = pydicom.dcmread(path, defer_size=_DEFER_BYTES, force=True)
    except Exception:  # arbitrary bytes parsed as DICOM fail in arbitrary ways; reported below
        dataset = Dataset()
    if "SOPClassUID" in dataset or any(tag in dataset for tag in PIXEL_TAGS):
        return dataset
    raise UnreadableFileError(path, "not a DICOM file or a supported picture (JPEG, PNG, BMP, TIFF)")


def is_dicom_file(path: Path) -> bool:
    """Whether the file has the DICOM Part 10 preamble + "DICM" prefix (PS3.10 §7.1)."""
    with path.open("rb") as stream:
        return stream.read(132)[128:] == b"DICM"


def _sop_class(dataset: Dataset) -> UID | None:
    """SOP Class UID from the dataset, else from the file meta (DICOMDIRs carry it only there)."""
    meta_uid = dataset.file_meta.get("MediaStorageSOPClassUID") if dataset.file_meta else None
    uid = dataset.get("SOPClassUID") or meta_uid
    return UID(str(uid)) if uid else None


def _no_pixels_reason(dataset: Dataset) -> str:
    sop_class = _sop_class(dataset)
    name = (sop_class.name or str(sop_class)) if sop_class else ""
    if not name:
        return "no image (the DICOM object has no pixel data)"
    if "Image" in name:
        # an image object without pixels is usually a file cut short inside its (compressed) pixel data
        return f"no image (it is a {name} object, but without pixel data; the file may be incomplete)"
    return f"no image (it is a {name})"


def _frame_headers(path: Path, dataset: Dataset) -> list[FrameHeader]:
    for keyword in ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation"):
        if keyword not in dataset:
            raise UnreadableFileError(path, f"the image header is incomplete (no {keyword})")
    pixel_element = next(dataset.get_item(t, keep_deferred=True) for t in PIXEL_TAGS if t in dataset)
    rows, cols = int(dataset.Rows), int(dataset.Columns)
    check_image_size(path, rows, cols)
    transfer_syntax = transfer_syntax_override(path, dataset, pixel_element)
    frame_count = int(dataset.get("NumberOfFrames") or 1)
    stat = path.stat()
    # every frame needs at least one byte: a damaged count must not make us list millions of frames
    if not 1 <= frame_count <= stat.st_size:
        raise UnreadableFileError(path, f"the header claims {frame_count} frames, which the file cannot hold")
    check_pixel_length(path, dataset, pixel_element, frame_count)
    check_frame_count(path, pixel_element, frame_count)
    file_key = (str(path), stat.st_mtime_ns, stat.st_size)
    frames = [None] if frame_count == 1 else list(range(frame_count))
    info = _file_info(dataset)
    return [_frame_header(path, dataset, frame, file_key, transfer_syntax, info) for frame in frames]


def _frame_header(path: Path, dataset: Dataset, frame: int | None, file_key: tuple,
                  transfer_syntax: UID | None, file_info: SeriesInfo) -> FrameHeader:
    damaged: list[str] = []
    orientation = plane_value(dataset, frame, "PlaneOrientationSequence", "ImageOrientationPatient", 6, damaged)
    position = plane_value(dataset, frame, "PlanePositionSequence", "ImagePositionPatient", 3, damaged)
    spacing = plane_value(dataset, frame, "PixelMeasuresSequence", "PixelSpacing", 2, damaged, positive=True)
    voi = frame_group(dataset, frame, "FrameVOILUTSequence")
    modality = frame_group(dataset, frame, "PixelValueTransformationSequence")
    photometric = str(dataset.PhotometricInterpretation).strip()
    source = DicomPixelSource(path, frame, (*file_key, frame), dataset, modality, voi, transfer_syntax)
    return FrameHeader(
        path=path,
        frame=frame,
        rows=int(dataset.Rows),
        cols=int(dataset.Columns),
        info=_frame_info(dataset, frame, orientation, spacing, file_info),
        windows=_windows(voi) or _default_windows(dataset, photometric),
        source=source,
        inverted=photometric == "MONOCHROME1",
        orientation=orientation,
        position=position,
        instance_number=int(dataset.InstanceNumber) if dataset.get("InstanceNumber") not in (None, "") else None,
        normal_position=normal_position(dataset, orientation, position),
        damaged_geometry=tuple(damaged),
        sop_instance_uid=text_value(dataset, "SOPInstanceUID").strip(),
    )


def _windows(dataset: Dataset) -> list[Window]:
    """All WindowCenter/WindowWidth pairs (PS3.3 C.11.2), with their explanations as names and the VOI LUT Function
    that applies to all of them (C.11.2.1.3); pairs whose width that function does not allow are left out."""
    centers, widths = floats(dataset.get("WindowCenter")), floats(dataset.get("WindowWidth"))
    names = dataset.get("WindowCenterWidthExplanation") or []
    names = [names] if isinstance(names, str) else list(names)
    function = voi_function(text_value(dataset, "VOILUTFunction"))
    windows = [Window(center, width, str(names[i]) if i < len(names) else "", function)
               for i, (center, width) in enumerate(zip(centers or [], widths or []))]
    return [window for window in windows if window.has_valid_width]


def _default_windows(dataset: Dataset, photometric: str) -> list[Window]:
    """8-bit colour pictures (screenshots, secondary captures) show at full range; monochrome gets the automatic
    window at display time (none listed here)."""
    is_colour = photometric.startswith(("RGB", "YBR", "PALETTE"))
    return [FULL_RANGE_8BIT] if is_colour and int(dataset.BitsAllocated) == 8 else []


def _patient_name(value: object) -> str:
    """Patient's Name as shown (`format_person_name`). Every spelling of it is registered with the log's PHI guard
    first: the component groups not shown (ideographic, phonetic; PS3.5 6.2.1.2) name the patient as surely, and
    the study's registration (`core.logging_setup.register_study_phi`) knows only the name shown."""
    register_phi(person_name_spellings(value))
    return format_person_name(value)


def _file_info(dataset: Dataset) -> SeriesInfo:
    """The descriptive fields one file gives for its series (the frame-dependent ones come from `_frame_info`)."""
    return SeriesInfo(
        patient_name=text_value(dataset, "PatientName", _patient_name),
        patient_id=text_value(dataset, "PatientID"),
        patient_birth_date=text_value(dataset, "PatientBirthDate", format_date),
        patient_sex=text_value(dataset, "PatientSex"),
        study_date=text_value(dataset, "StudyDate", format_date),
        study_time=text_value(dataset, "StudyTime", format_time),
        accession_number=text_value(dataset, "AccessionNumber").strip(),
        study_description=text_value(dataset, "StudyDescription"),
        series_description=text_value(dataset, "SeriesDescription"),
        modality=text_value(dataset, "Modality"),
        manufacturer=text_value(dataset, "Manufacturer"),
        study_instance_uid=text_value(dataset, "StudyInstanceUID"),
        series_instance_uid=text_value(dataset, "SeriesInstanceUID"),
        series_number=text_value(dataset, "SeriesNumber"),
        contrast_agent_recorded=bool(text_value(dataset, "ContrastBolusAgent").strip()),
        repetition_time=number_value(dataset, "RepetitionTime"),
        echo_time=number_value(dataset, "EchoTime"),
        inversion_time=number_value(dataset, "InversionTime"),
    )


def _frame_info(dataset: Dataset, frame: int | None, orientation: tuple[float, ...] | None,
                spacing: tuple[float, ...] | None, file_info: SeriesInfo) -> SeriesInfo:
    """`file_info` completed with this frame's plane and pixel measures (per-frame in enhanced objects)."""
    thickness = _measure(dataset, frame, "SliceThickness")
    return replace(
        file_info,
        orientation=orientation_label(orientation),
        pixel_spacing=(spacing[0], spacing[1]) if spacing else None,
        slice_thickness=thickness[0] if thickness else None,
    )


def _measure(dataset: Dataset, frame: int | None, keyword: str) -> list[float] | None:
    """A PixelMeasuresSequence value (PS3.3 C.7.6.16.2.1; the dataset itself for classic objects) as floats;
    None when absent or unreadable, for the reason given in `core.io.dicom.elements`."""
    try:
        return floats(frame_group(dataset, frame, "PixelMeasuresSequence").get(keyword))
    except Exception:  # see `elements`: a damaged measure empties that field only
        return None
