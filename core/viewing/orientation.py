"""Orientation markers: which patient direction each edge of a displayed slice faces (the R/L/A/P/S/I letters PACS
viewers draw at the middle of each image edge).

ImageOrientationPatient (PS3.3 C.7.6.2.1.1) gives two unit vectors in the patient's LPS frame: x towards the
patient's Left, y towards Posterior, z towards Superior (head). The first triplet is the direction of the first row
(going right along a row, columns increasing), the second that of the first column (going down, rows increasing). So
the image's right edge faces the row direction, its bottom edge the column direction, and the left and top edges the
opposite ones. Each slice carries its own value (`core.io.load.Slice.orientation`, read when the study is opened).
Pictures (JPEG, PNG), and slices whose value is missing or damaged, get no markers: a guessed letter would be worse
than none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The letter for the positive and the negative direction of each LPS axis (PS3.3 C.7.6.2.1.1).
AXIS_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))
#: An edge more than 30° away from its nearest patient axis gets a second letter for the next nearest axis, e.g.
#: "LP" for an edge rotated 45° between Left and Posterior. 30° is the same rule that names a plane "oblique" in
#: `core.io.dicom.geometry.orientation_label`, so single letters and a non-oblique plane name go together.
OBLIQUE_COSINE = math.cos(math.radians(30))
#: Row and column directions must be (nearly) perpendicular, as PS3.3 C.7.6.2.1.1 requires: beyond this cosine (about
#: 84° apart) the value is damaged and names no edge.
MAX_COSINE_BETWEEN_AXES = 0.1


@dataclass(frozen=True)
class EdgeLabels:
    """The patient directions the four edges of a displayed slice face, e.g. axial: left "R", right "L", top "A",
    bottom "P"."""

    left: str
    right: str
    top: str
    bottom: str


def direction_letters(vector: Sequence[float] | np.ndarray) -> str:
    """The letters of the patient direction a vector points to: the dominant LPS axis, followed by the second one
    when the vector is oblique (see OBLIQUE_COSINE). Empty for a zero or non-finite vector."""
    components = np.asarray(vector, dtype=float)
    length = float(np.linalg.norm(components))
    if components.shape != (3,) or not math.isfinite(length) or length == 0.0:
        return ""
    unit = components / length
    axes = np.argsort(-np.abs(unit), kind="stable")
    count = 1 if abs(unit[axes[0]]) >= OBLIQUE_COSINE else 2
    return "".join(AXIS_LETTERS[axis][0 if unit[axis] > 0 else 1] for axis in axes[:count])


def edge_labels(orientation: Sequence[float] | None) -> EdgeLabels | None:
    """The edge letters for an ImageOrientationPatient value (six direction cosines); None when it is missing or
    degenerate, so that nothing is drawn rather than a wrong letter."""
    if orientation is None or len(orientation) != 6:
        return None
    row, column = np.asarray(orientation[:3], dtype=float), np.asarray(orientation[3:], dtype=float)
    lengths = float(np.linalg.norm(row)) * float(np.linalg.norm(column))
    if not math.isfinite(lengths) or lengths == 0.0 or abs(float(row @ column)) / lengths > MAX_COSINE_BETWEEN_AXES:
        return None  # rows and columns (near) parallel: no plane, no directions to name
    labels = EdgeLabels(left=direction_letters(-row), right=direction_letters(row),
                        top=direction_letters(-column), bottom=direction_letters(column))
    return labels if all((labels.left, labels.right, labels.top, labels.bottom)) else None
