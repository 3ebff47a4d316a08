"""The Image Plane module (PS3.3 C.7.6.2): ImageOrientationPatient, ImagePositionPatient and PixelSpacing, read so
that a damaged value costs only what it gives; the slice normal, a slice's position along it, and the plane's name.

In enhanced objects the same values come from the frame's Plane Orientation, Plane Position and Pixel Measures
functional groups (PS3.3 C.7.6.16.2.1-3).
"""

from __future__ import annotations

import math

import numpy as np
from pydicom.dataset import Dataset

from core.io.dicom.elements import floats, frame_group, number_value

#: A normal within 30° of a patient axis names the plane; anything further is "oblique".
_PLANE_COSINE = math.cos(math.radians(30))
_PLANES = ("sagittal", "coronal", "axial")  # normals along patient x (R→L), y (A→P), z (F→H); PS3.3 C.7.6.2.1.1


def plane_value(dataset: Dataset, frame: int | None, sequence: str, keyword: str, count: int,
                damaged: list[str], positive: bool = False) -> tuple[float, ...] | None:
    """A geometry value of `count` numbers (PS3.3 C.7.6.2.1.1; in enhanced objects from the frame's functional
    group, C.7.6.16.2), None when absent. A value the file states but that cannot be used (an unknown VR, text that
    is no number, the wrong count, NaN or infinity, and with `positive` a number ≤ 0, as a pixel spacing must not
    be) is None too and its keyword is added to `damaged`: the slice still opens, without what that value gives
    (geometric order, scale bar, measurement in mm, orientation letters)."""
    try:
        values = floats(frame_group(dataset, frame, sequence).get(keyword))
    except Exception:  # pydicom raises NotImplementedError, ValueError, ... on a damaged element (see `elements`)
        damaged.append(keyword)
        return None
    if values is None:
        return None
    if len(values) != count or not all(math.isfinite(value) and (value > 0 or not positive) for value in values):
        damaged.append(keyword)
        return None
    return tuple(values)


def normal_position(dataset: Dataset, orientation: tuple[float, ...] | None,
                    position: tuple[float, ...] | None) -> tuple[float, int | None] | None:
    """Where the slice lies, for its name, and along which patient axis (0, 1, 2: x, y, z of LPS). With
    ImagePositionPatient and a non-degenerate orientation: the plane's distance from the origin along its normal,
    signed along the patient axis nearest the normal (on an axial slice, its z: + superior), with that axis; else
    Slice Location (0020,1041; PS3.3 C.7.6.2.1.2), whose axis is not stated (None); None when neither is known or
    readable."""
    normal = slice_normal(orientation) if orientation else None
    if position is not None and normal is not None and np.any(normal):
        axis = int(np.argmax(np.abs(normal)))
        return float(np.dot(position, normal)) * (1.0 if normal[axis] > 0 else -1.0), axis
    location = number_value(dataset, "SliceLocation")
    return (location, None) if location is not None and math.isfinite(location) else None


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
