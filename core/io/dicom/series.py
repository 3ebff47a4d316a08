"""Grouping frames into series and ordering each series along its slice normal; recognising copies of an image.

Frames group by patient, study, series (else folder), image size and image plane (PS3.3 C.7.6.2): one Series
Instance UID may hold several stacks, e.g. a three-plane localiser. The patient is part of the key because one
series must never mix patients, whatever its UID says: files of two patients that share a Series Instance UID (a
badly anonymised or merged export) become one series per patient, so that each gets its own verdict. Within a
group, frames are ordered by ImagePositionPatient · slice normal (PS3.3 C.7.6.2.1.1), else by InstanceNumber
(C.7.6.1), else by file name.

A file that repeats images already in the study (the same SOP Instance UID, PS3.3 C.12.1.1.1, e.g. a series and
its copy in a "backup" folder) is left out by the loader (`CopyFinder`): counted twice, its slices would halve the
slice spacing and fill the central slices with the same images.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.io.dicom.geometry import slice_normal
from core.io.dicom.header import FrameHeader
from core.io.pictures import natural_key
from core.io.types import Series, Slice


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
    """Which series a frame belongs to, before its plane is considered: patient, study, series (else folder), image
    size."""
    info = header.info
    series = info.series_instance_uid or str(header.path.parent)
    return _patient_key(header), info.study_instance_uid, series, header.rows, header.cols


def _patient_key(header: FrameHeader) -> tuple[str, str]:
    """The patient a frame names: Patient ID and Patient's Name (PS3.3 C.7.1.1), compared without case or spacing.

    Both, not the ID alone: within one series every file names the patient in the same words, so a difference in
    either means files of two patients (an ID reused by two sites, a half-anonymised copy). Telling them apart wrongly
    costs a split series; merging them would give two patients one verdict.
    """
    info = header.info
    return " ".join(info.patient_id.split()).casefold(), " ".join(info.patient_name.split()).casefold()


class CopyFinder:
    """Recognises a DICOM file whose images are already in the study, so the loader can leave it out.

    An image is named by its SOP Instance UID and frame number (PS3.3 C.12.1.1.1, C.7.6.6). The same UID with another
    patient, position or instance number is not taken for a copy: some exporters give every file of a series one
    UID, and leaving those files out would lose images that exist nowhere else.
    """

    def __init__(self) -> None:
        self._seen: set[tuple] = set()

    def is_copy(self, frames: list[FrameHeader]) -> bool:
        """Whether every one of `frames`' images is already in the study; frames that are not copies are
        remembered, so the first file met keeps the images and later copies are left out."""
        keys = [_image_key(frame) for frame in frames]
        if keys and all(key is not None and key in self._seen for key in keys):
            return True
        self._seen.update(key for key in keys if key is not None)
        return False


def _image_key(frame: FrameHeader) -> tuple | None:
    """What a copy of this frame repeats: its SOP Instance UID and frame, and the patient, position and instance
    number it states; None without a SOP Instance UID (nothing then tells a copy from another image)."""
    if not frame.sop_instance_uid:
        return None
    info = frame.info  # two series given one reused SOP UID by an exporter are not copies of each other
    return (frame.sop_instance_uid, frame.frame, _patient_key(frame), info.study_instance_uid,
            info.series_instance_uid, frame.position, frame.instance_number, frame.rows, frame.cols)


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


def _series(frames: list[FrameHeader]) -> Series:
    ordered, positions = order_frames(frames)
    # The series' fields come from its first frame whose geometry is intact, so one damaged file does not cost the
    # whole series its plane and pixel spacing. A copy: slice_spacing belongs to the series, not to that frame.
    info = replace(next((f for f in ordered if not f.damaged_geometry), ordered[0]).info)
    if positions is not None and len(positions) > 1:
        info.slice_spacing = round(float(np.median(np.diff(positions))), 4)
    slices = [
        Slice(f.path, f.frame, index, (f.rows, f.cols), f.windows, f.source, f.inverted,
              position=f.normal_position[0] if f.normal_position else None,
              position_axis=f.normal_position[1] if f.normal_position else None, series_number=f.info.series_number,
              instance_number=f.instance_number, orientation=f.orientation, pixel_spacing=f.info.pixel_spacing,
              geometry_problem=f.geometry_problem)
        for index, f in enumerate(ordered)
    ]
    return Series(uid=info.series_instance_uid, info=info, slices=slices)
