"""DICOM specifics (pydicom): header reading, grouping into series, geometric ordering, and the pixel pipeline.

Headers are read with `defer_size`, so pixel data (and any other large value) is skipped on disk rather than read:
that keeps opening a 300-slice series cheap while still telling us where the pixel data starts and how long it is,
which is how truncated files are caught before anyone tries to display them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi, get_decoder, pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
)

from core.errors import NoPixelDataError, UnreadableFileError
from core.io.colour import luma
from core.io.pictures import natural_key
from core.io.types import Series, SeriesInfo, Slice, check_image_size
from core.io.windowing import FULL_RANGE_8BIT, Window, voi_function

#: Values larger than this stay on disk when reading headers (pixel data, big private blobs).
_DEFER_BYTES = 1024
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float Pixel Data, Double Float Pixel Data
_UNDEFINED_LENGTH = 0xFFFFFFFF
_NATIVE_SYNTAXES = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
#: A normal within 30° of a patient axis names the plane; anything further is "oblique".
_PLANE_COSINE = math.cos(math.radians(30))
_PLANES = ("sagittal", "coronal", "axial")  # normals along patient x (R→L), y (A→P), z (F→H); PS3.3 C.7.6.2.1.1
#: Tag-table values longer than this are cut, so a long private string cannot swamp the table.
TAG_VALUE_MAX_CHARS = 160
_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}


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
    #: The frame's position along its own slice normal, else its Slice Location (mm); names the slice.
    normal_position: float | None = None
    #: Keywords of the geometry values the file states but that could not be used (see `_geometry`).
    damaged_geometry: tuple[str, ...] = ()

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


@dataclass(frozen=True, eq=False)
class DicomPixelSource:
    """Decodes one frame on demand and applies the modality LUT (PS3.3 C.11.1) or converts colour to gray."""

    path: Path
    frame: int | None
    cache_key: tuple
    header: Dataset = field(repr=False)
    #: Dataset holding this frame's RescaleSlope/Intercept or Modality LUT (a functional-group item when enhanced).
    modality: Dataset = field(repr=False)
    #: Dataset holding this frame's VOI LUT Sequence, if any.
    voi: Dataset = field(repr=False)
    #: Set when the file has no transfer syntax but its encoding was recognised while reading (native pixels only).
    transfer_syntax: UID | None = None

    def decode(self) -> np.ndarray:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # padding / VR oddities pydicom copes with; real failures raise
                pixels = self._decode_stored_values()
        except (KeyboardInterrupt, SystemExit):
            raise
        # pydicom and its decoder plugins raise many unrelated types; the Rust decoders (pylibjpeg-rle) report
        # damaged data by panicking, which pyo3 raises as PanicException, a BaseException (found by fuzzing).
        except BaseException as error:
            detail = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
            raise UnreadableFileError(self.path, f"the pixel data could not be decoded ({detail})") from error
        if pixels.ndim == 3:
            return luma(pixels)
        return apply_modality_lut(pixels, self.modality).astype(np.float32)

    def _decode_stored_values(self) -> np.ndarray:
        dataset = pydicom.dcmread(self.path, force=True)
        if self.transfer_syntax is not None:
            dataset.file_meta.TransferSyntaxUID = self.transfer_syntax
        # index= decodes only the requested frame; colour data comes back as RGB (YBR converted by pydicom).
        pixels = pixel_array(dataset, index=self.frame)
        if dataset.get("PhotometricInterpretation") == "PALETTE COLOR":
            pixels = apply_color_lut(pixels, dataset)
        return pixels

    def voi_lut(self, pixels: np.ndarray) -> np.ndarray | None:
        """The file's VOI LUT (PS3.3 C.11.2.1.1) scaled to [0, 1]."""
        sequence = self.voi.get("VOILUTSequence")
        if not sequence:
            return None
        bits = int(sequence[0].LUTDescriptor[2])
        indices = np.rint(pixels).astype(np.int64)  # LUT entries are addressed by integer modality values
        return (apply_voi(indices, self.voi).astype(np.float32) / float(2**bits - 1)).clip(0.0, 1.0)

    def tags(self) -> list[tuple[str, str, str]]:
        try:
            return tag_rows(self.header)
        except Exception as error:  # deferred values are read from disk now; the file may have changed or be bad
            raise UnreadableFileError(self.path, f"the DICOM tags could not be read ({error})") from error


def read_file(path: Path) -> DicomFile:
    """Headers of every frame in a DICOM file; raises `UnreadableFileError` / `NoPixelDataError` with a reason."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about every oddity; real problems become skip reasons
        return _read_file(path)


def _read_file(path: Path) -> DicomFile:
    dataset = _read_dataset(path)
    if _sop_class(dataset) == MediaStorageDirectoryStorage:
        return DicomFile(referenced_files=dicomdir_references(path, dataset))
    if not any(tag in dataset for tag in _PIXEL_TAGS):
        raise NoPixelDataError(path, _no_pixels_reason(dataset))
    try:
        return DicomFile(frames=_frame_headers(path, dataset))
    except (AttributeError, KeyError, TypeError, ValueError, IndexError, NotImplementedError) as error:
        # NotImplementedError: pydicom's answer to an unknown VR in an element the image itself needs
        raise UnreadableFileError(path, f"the DICOM header is invalid ({error})") from error


def dicomdir_references(path: Path, dicomdir: Dataset) -> list[Path]:
    """Files referenced by a DICOMDIR's directory records (PS3.10 §8, PS3.3 F.3), relative to its folder."""
    referenced = []
    for record in dicomdir.get("DirectoryRecordSequence", []):
        file_id = record.get("ReferencedFileID")
        if file_id:
            parts = list(file_id) if isinstance(file_id, MultiValue) else [file_id]
            referenced.append(path.parent.joinpath(*parts))
    if not referenced:
        raise UnreadableFileError(path, "the DICOMDIR lists no files")
    return referenced


def build_series(frames: list[FrameHeader]) -> list[Series]:
    """Group frames by study, series, image size and plane; order each group (see `order_frames`). A frame whose
    orientation is damaged joins the largest group of its series rather than making a series of its own."""
    groups: dict[tuple, list[FrameHeader]] = {}
    damaged_orientation = []
    for header in frames:
        if "ImageOrientationPatient" in header.damaged_geometry:
            damaged_orientation.append(header)
            continue
        plane = tuple(round(v, 2) for v in header.orientation) if header.orientation else ()
        groups.setdefault((*_series_key(header), plane), []).append(header)
    for header in damaged_orientation:
        same_series = [group for key, group in groups.items() if key[:-1] == _series_key(header)]
        if same_series:
            max(same_series, key=len).append(header)
        else:
            groups.setdefault((*_series_key(header), ()), []).append(header)
    series = [_series(group) for group in groups.values()]
    series.sort(key=lambda s: (s.info.study_instance_uid, natural_key(s.info.series_number), s.info.series_description))
    return series


def _series_key(header: FrameHeader) -> tuple:
    """Which series a frame belongs to, before its plane is considered: study, series (else folder), image size."""
    info = header.info
    return info.study_instance_uid, info.series_instance_uid or str(header.path.parent), header.rows, header.cols


def order_frames(frames: list[FrameHeader]) -> tuple[list[FrameHeader], list[float] | None]:
    """Order frames along the slice normal (ImagePositionPatient · (row × column direction)); without complete,
    distinct positions and orientations fall back to InstanceNumber, then natural filename and frame number.
    Returns the ordered frames and their positions in mm (None when not ordered geometrically)."""
    by_name = sorted(frames, key=lambda f: (natural_key(str(f.path)), f.frame or 0))
    placed = [(f.position, f) for f in by_name if f.orientation is not None and f.position is not None]
    orientation = frames[0].orientation
    if orientation is not None and len(placed) == len(frames):
        normal = slice_normal(orientation)
        positions = [float(np.dot(position, normal)) for position, _ in placed]
        if len({round(p, 3) for p in positions}) == len(positions):
            ordered = sorted(zip(positions, by_name), key=lambda pair: pair[0])
            return [f for _, f in ordered], [p for p, _ in ordered]
    numbered = [(f.instance_number, f) for f in by_name if f.instance_number is not None]
    if len(numbered) == len(frames):
        return [f for _, f in sorted(numbered, key=lambda pair: pair[0])], None
    return by_name, None


def slice_normal(orientation: tuple[float, ...]) -> np.ndarray:
    """Unit normal of the image plane: row direction × column direction (PS3.3 C.7.6.2.1.1)."""
    normal = np.cross(np.asarray(orientation[:3], float), np.asarray(orientation[3:6], float))
    length = np.linalg.norm(normal)
    return normal / length if length > 0 else normal


def orientation_label(orientation: tuple[float, ...] | None) -> str:
    """"axial" / "coronal" / "sagittal" when the normal is within 30° of a patient axis, else "oblique"."""
    if not orientation:
        return ""
    normal = np.abs(slice_normal(orientation))
    axis = int(np.argmax(normal))
    return _PLANES[axis] if normal[axis] >= _PLANE_COSINE else "oblique"


def format_person_name(value: object) -> str:
    """PN "Doe^John^M" → "Doe, John M" (PS3.5 6.2.1: family^given^middle^prefix^suffix)."""
    text = str(value or "").split("=")[0]  # alphabetic representation only
    family, _, rest = text.partition("^")
    given = " ".join(part for part in rest.split("^")[:2] if part)
    return f"{family}, {given}" if family and given else family or given


def format_date(value: object) -> str:
    """DA "20240131" → "2024-01-31"; anything else is returned as written, never guessed."""
    text = str(value or "").strip()
    return f"{text[:4]}-{text[4:6]}-{text[6:]}" if len(text) == 8 and text.isdigit() else text


def tag_rows(dataset: Dataset) -> list[tuple[str, str, str]]:
    """(tag, name, value) rows for the tag table: file meta then dataset, pixel data left out, values shortened."""
    elements = list(dataset.file_meta) if dataset.file_meta else []
    elements += [e for e in dataset if e.tag.group != 0x7FE0]
    return [(f"({e.tag.group:04X},{e.tag.element:04X})", e.keyword or e.name, _value_text(e)) for e in elements]


def _value_text(element: DataElement) -> str:
    if element.VR == "SQ":
        count = len(element.value)
        return f"sequence of {count} item{'s' if count != 1 else ''}"
    if element.VR in _BINARY_VRS:
        return f"<{len(element.value or b'')} bytes>"
    value = element.value
    text = "\\".join(str(v) for v in value) if isinstance(value, MultiValue) else "" if value is None else str(value)
    return text if len(text) <= TAG_VALUE_MAX_CHARS else text[: TAG_VALUE_MAX_CHARS - 1] + "…"


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
    if "SOPClassUID" in dataset or any(tag in dataset for tag in _PIXEL_TAGS):
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


def _transfer_syntax(path: Path, dataset: Dataset, pixel_element: DataElement | RawDataElement) -> UID | None:
    """The file's transfer syntax, or the one recognised while parsing when the file meta lacks it; checks that a
    decoder is installed for compressed syntaxes. Returns the UID to impose at decode time (None = file's own)."""
    declared = dataset.file_meta.get("TransferSyntaxUID") if dataset.file_meta else None
    if declared is None:
        if _undefined_length(pixel_element):
            raise UnreadableFileError(path, "the file does not say how its compressed pixels are encoded "
                                            "(no Transfer Syntax UID)")
        implicit, little = dataset.original_encoding
        return ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    syntax = UID(str(declared))
    if syntax.is_compressed and not decoder_available(syntax):
        raise UnreadableFileError(path, f"the pixels are compressed as {syntax.name or syntax}, and no decoder for "
                                        "it is installed")
    return None


def _undefined_length(element: DataElement | RawDataElement) -> bool:
    """Whether the element is encoded with undefined length, as encapsulated (compressed) pixel data is (PS3.5 A.4)."""
    if isinstance(element, RawDataElement):
        return element.length == _UNDEFINED_LENGTH
    return element.is_undefined_length


def decoder_available(syntax: UID) -> bool:
    """Whether an installed pydicom plugin (pylibjpeg, openjpeg, libjpeg, rle, pillow) decodes this syntax."""
    try:
        return get_decoder(syntax).is_available
    except NotImplementedError:  # syntaxes pydicom has no decoder interface for (video, JPIP, ...)
        return False


def _check_pixel_length(path: Path, dataset: Dataset, element: DataElement | RawDataElement, frames: int) -> None:
    """Native pixel data must hold rows × cols × frames × samples × bits bytes and end inside the file."""
    syntax = dataset.file_meta.get("TransferSyntaxUID") if dataset.file_meta else None
    if syntax not in (None, *_NATIVE_SYNTAXES) or not isinstance(element, RawDataElement):
        return  # compressed or deflated: file offsets say nothing about the image size; the decoder checks
    # YBR_FULL_422 stores two values per pixel, not three (PS3.3 C.7.6.3.1.2).
    samples = 2 if dataset.PhotometricInterpretation == "YBR_FULL_422" else int(dataset.get("SamplesPerPixel", 1))
    bits = int(dataset.BitsAllocated) * int(dataset.Rows) * int(dataset.Columns) * frames * samples
    expected = math.ceil(bits / 8)
    available = min(element.length, path.stat().st_size - element.value_tell)
    if available < expected:
        raise UnreadableFileError(path, f"the pixel data is incomplete ({max(available, 0)} of {expected} bytes); "
                                        "the file is probably truncated")


def _frame_headers(path: Path, dataset: Dataset) -> list[FrameHeader]:
    for keyword in ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation"):
        if keyword not in dataset:
            raise UnreadableFileError(path, f"the image header is incomplete (no {keyword})")
    pixel_element = next(dataset.get_item(t, keep_deferred=True) for t in _PIXEL_TAGS if t in dataset)
    rows, cols = int(dataset.Rows), int(dataset.Columns)
    check_image_size(path, rows, cols)
    transfer_syntax = _transfer_syntax(path, dataset, pixel_element)
    frame_count = int(dataset.get("NumberOfFrames") or 1)
    stat = path.stat()
    # every frame needs at least one byte: a damaged count must not make us list millions of frames
    if not 1 <= frame_count <= stat.st_size:
        raise UnreadableFileError(path, f"the header claims {frame_count} frames, which the file cannot hold")
    _check_pixel_length(path, dataset, pixel_element, frame_count)
    file_key = (str(path), stat.st_mtime_ns, stat.st_size)
    frames = [None] if frame_count == 1 else list(range(frame_count))
    info = _file_info(dataset)
    return [_frame_header(path, dataset, frame, file_key, transfer_syntax, info) for frame in frames]


def _frame_header(path: Path, dataset: Dataset, frame: int | None, file_key: tuple,
                  transfer_syntax: UID | None, file_info: SeriesInfo) -> FrameHeader:
    damaged: list[str] = []
    orientation = _geometry(dataset, frame, "PlaneOrientationSequence", "ImageOrientationPatient", 6, damaged)
    position = _geometry(dataset, frame, "PlanePositionSequence", "ImagePositionPatient", 3, damaged)
    spacing = _geometry(dataset, frame, "PixelMeasuresSequence", "PixelSpacing", 2, damaged)
    voi = _group(dataset, frame, "FrameVOILUTSequence")
    modality = _group(dataset, frame, "PixelValueTransformationSequence")
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
        normal_position=_normal_position(dataset, orientation, position),
        damaged_geometry=tuple(damaged),
    )


def _geometry(dataset: Dataset, frame: int | None, sequence: str, keyword: str, count: int,
              damaged: list[str]) -> tuple[float, ...] | None:
    """A geometry value of `count` numbers (PS3.3 C.7.6.2.1.1; in enhanced objects from the frame's functional
    group, C.7.6.16.2), None when absent. A value the file states but that cannot be used (an unknown VR, text that
    is no number, the wrong count, NaN or infinity) is None too and its keyword is added to `damaged`: the slice
    still opens, without what that value gives (geometric order, scale bar, measurement in mm, orientation letters)."""
    try:
        values = _floats(_group(dataset, frame, sequence).get(keyword))
    except Exception:  # pydicom raises NotImplementedError, ValueError, ... on a damaged element (see `_text`)
        damaged.append(keyword)
        return None
    if values is None:
        return None
    if len(values) != count or not all(math.isfinite(value) for value in values):
        damaged.append(keyword)
        return None
    return tuple(values)


def _normal_position(dataset: Dataset, orientation: tuple[float, ...] | None,
                     position: tuple[float, ...] | None) -> float | None:
    """Where the slice lies along its normal in mm, for its name: ImagePositionPatient · normal when both are known
    (and the orientation is not degenerate), else Slice Location (0020,1041; PS3.3 C.7.6.2.1.2); None when neither
    is known or readable."""
    normal = slice_normal(orientation) if orientation else None
    if position is not None and normal is not None and np.any(normal):
        return float(np.dot(position, normal))
    location = _number(dataset, "SliceLocation")
    return location if location is not None and math.isfinite(location) else None


def _group(dataset: Dataset, frame: int | None, sequence: str) -> Dataset:
    """Where a frame's attribute lives in an enhanced multi-frame object (PS3.3 C.7.6.16): the per-frame functional
    group item, else the shared one; for classic objects the dataset itself."""
    candidates = []
    if frame is not None and dataset.get("PerFrameFunctionalGroupsSequence"):
        candidates.append(dataset.PerFrameFunctionalGroupsSequence[frame])
    if dataset.get("SharedFunctionalGroupsSequence"):
        candidates.append(dataset.SharedFunctionalGroupsSequence[0])
    for groups in candidates:
        if groups.get(sequence):
            return groups[sequence][0]
    return dataset


def _windows(dataset: Dataset) -> list[Window]:
    """All WindowCenter/WindowWidth pairs (PS3.3 C.11.2), with their explanations as names and the VOI LUT Function
    that applies to all of them (C.11.2.1.3); pairs whose width that function does not allow are left out."""
    centers, widths = _floats(dataset.get("WindowCenter")), _floats(dataset.get("WindowWidth"))
    names = dataset.get("WindowCenterWidthExplanation") or []
    names = [names] if isinstance(names, str) else list(names)
    function = voi_function(_text(dataset, "VOILUTFunction"))
    windows = [Window(center, width, str(names[i]) if i < len(names) else "", function)
               for i, (center, width) in enumerate(zip(centers or [], widths or []))]
    return [window for window in windows if window.has_valid_width]


def _default_windows(dataset: Dataset, photometric: str) -> list[Window]:
    """8-bit colour pictures (screenshots, secondary captures) show at full range; monochrome gets the automatic
    window at display time (none listed here)."""
    is_colour = photometric.startswith(("RGB", "YBR", "PALETTE"))
    return [FULL_RANGE_8BIT] if is_colour and int(dataset.BitsAllocated) == 8 else []


def _file_info(dataset: Dataset) -> SeriesInfo:
    """The descriptive fields one file gives for its series (the frame-dependent ones come from `_frame_info`)."""
    return SeriesInfo(
        patient_name=_text(dataset, "PatientName", format_person_name),
        patient_id=_text(dataset, "PatientID"),
        patient_birth_date=_text(dataset, "PatientBirthDate", format_date),
        patient_sex=_text(dataset, "PatientSex"),
        study_date=_text(dataset, "StudyDate", format_date),
        study_description=_text(dataset, "StudyDescription"),
        series_description=_text(dataset, "SeriesDescription"),
        modality=_text(dataset, "Modality"),
        manufacturer=_text(dataset, "Manufacturer"),
        study_instance_uid=_text(dataset, "StudyInstanceUID"),
        series_instance_uid=_text(dataset, "SeriesInstanceUID"),
        series_number=_text(dataset, "SeriesNumber"),
        contrast_agent_recorded=bool(_text(dataset, "ContrastBolusAgent").strip()),
        repetition_time=_number(dataset, "RepetitionTime"),
        echo_time=_number(dataset, "EchoTime"),
        inversion_time=_number(dataset, "InversionTime"),
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


def _text(dataset: Dataset, keyword: str, convert: Callable[[object], str] = str) -> str:
    """One descriptive element as text; "" when absent, empty or unreadable.

    Descriptive metadata must never cost a slice whose pixels are fine: pydicom converts values lazily and raises
    on a damaged element (NotImplementedError for an unknown VR such as "MO" on Manufacturer or "EA" on
    PatientBirthDate, found by fuzzing; ValueError / UnicodeDecodeError for undecodable values), so each field is
    read on its own and a failure empties only that field.
    """
    try:
        value = dataset.get(keyword)
        return "" if value is None else convert(value)
    except Exception:  # see the docstring: any failure to read one element empties that field only
        return ""


def _number(dataset: Dataset, keyword: str) -> float | None:
    """One single-valued numeric element (DS, IS, FD, ...) as a float; None when absent, empty, multi-valued or
    unreadable, for the reason given in `_text`."""
    try:
        value = dataset.get(keyword)
        return float(value) if value not in (None, "") else None
    except Exception:  # see `_text`: a damaged number empties that field only
        return None


def _measure(dataset: Dataset, frame: int | None, keyword: str) -> list[float] | None:
    """A PixelMeasuresSequence value (PS3.3 C.7.6.16.2.1; the dataset itself for classic objects) as floats;
    None when absent or unreadable, for the reason given in `_text`."""
    try:
        return _floats(_group(dataset, frame, "PixelMeasuresSequence").get(keyword))
    except Exception:  # see `_text`: a damaged measure empties that field only
        return None


def _series(frames: list[FrameHeader]) -> Series:
    ordered, positions = order_frames(frames)
    # The series' fields come from its first frame whose geometry is intact, so one damaged file does not cost the
    # whole series its plane and pixel spacing. A copy: slice_spacing belongs to the series, not to that frame.
    info = replace(next((f for f in ordered if not f.damaged_geometry), ordered[0]).info)
    if positions is not None and len(positions) > 1:
        info.slice_spacing = round(float(np.median(np.diff(positions))), 4)
    slices = [
        Slice(f.path, f.frame, index, (f.rows, f.cols), f.windows, f.source, f.inverted, position=f.normal_position,
              series_number=f.info.series_number, instance_number=f.instance_number, orientation=f.orientation,
              pixel_spacing=f.info.pixel_spacing, geometry_problem=f.geometry_problem)
        for index, f in enumerate(ordered)
    ]
    return Series(uid=info.series_instance_uid, info=info, slices=slices)


def _floats(value: Any) -> list[float] | None:
    """DS/FD values (single or multi-valued, as pydicom gives them) as floats; None when absent or empty."""
    if value is None or value == "":
        return None
    values = list(value) if isinstance(value, (MultiValue, list, tuple)) else [value]
    return [float(v) for v in values]

