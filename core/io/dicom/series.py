"""Grouping frames into series and ordering each series along its slice normal.

Frames group by study, series (else folder), image size and image plane (PS3.3 C.7.6.2): one Series Instance UID
may hold several stacks, e.g. a three-plane localiser. Within a group, frames are ordered by
ImagePositionPatient · slice normal (PS3.3 C.7.6.2.1.1), else by InstanceNumber (C.7.6.1), else by file name.
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
