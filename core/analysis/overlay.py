"""Grad-CAM overlay rendering and a plain-words description of where the attention lies.

Rendering is pure numpy/OpenCV so the desktop can re-render on the UI thread while the user drags a slider; the
colormap lookup tables come from matplotlib, imported lazily on first use so that application start-up never pays
for it.

Sides: a patient side is named only from the slice's own ImageOrientationPatient (PS3.3 C.7.6.2.1.1), which says
which patient direction each image edge faces (`core.viewing.orientation`, the letters the viewer and the report
draw): a series stored with its rows reversed gets the sides its letters show, not the radiological convention's.
Planes whose rows do not run left-right (sagittal) have no side; a slice without a recorded orientation (pictures)
is described in image terms only, since a guessed side in a signed report is worse than none.

Side rule: a side is named only where the map's mass supports it, never from the peak alone (the model's maps are
coarse, 8×8 cells at 256×256 input, and a peak cell can touch the midline). The *hot mass* is the sum of the map's
values that reach half its maximum. The midline is the middle of the head's extent across the image (the
preprocessing's head mask), not of the image, so a head off the image centre is not given a side it does not have.
A side is named when at least 80% of the hot mass lies on one side of the midline; otherwise "midline" when at
least half of it lies in the central band, a quarter of the image wide (two cells of an 8×8 map); otherwise no side
(attention on both sides: unclear). The image-terms region ("upper left") uses the same midline and the same rule,
so the two words never contradict each other, and attention on both sides is described as such, not by the side
its peak happens to be on (a bare "right" next to an axial slice reads as the patient's right).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import cv2
import numpy as np

from core.model.preprocess import head_mask, to_gray_u8
from core.viewing.orientation import EdgeLabels, edge_labels

if TYPE_CHECKING:
    from core.model.classifier import SlicePrediction

COLORMAPS = ("jet", "inferno", "viridis", "turbo", "magma")

# Half-width of the band around the image's middle row whose peak is called "middle" (up-down, in image terms).
_CENTRE_BAND = 0.05
# The side rule (module docstring): hot level, share naming a side, midline band half-width, share naming midline.
_HOT_LEVEL = 0.5
_SIDE_SHARE = 0.8
_MIDLINE_HALF_WIDTH = 0.125
_MIDLINE_SHARE = 0.5
# CAMs smaller than this are upsampled before locating the peak, so the peak is not quantised to a coarse grid cell.
_PEAK_GRID = 128
# Values within this fraction of the maximum count as the peak's plateau.
_PEAK_PLATEAU = 0.95
# A plateau covering more than this fraction of the image has no location worth naming.
_DIFFUSE_AREA = 0.5
#: Below this calibrated probability, the map of the class being explained is flagged as weak evidence: Grad-CAM
#: draws a map for any class, and a bright map of a class the model all but rules out must not read as a finding.
WEAK_EVIDENCE_PROBABILITY = 0.10


@dataclass
class OverlaySettings:
    """How the user wants the overlay drawn; `class_index` None means the predicted class."""

    visible: bool = True
    opacity: float = 0.45
    threshold: float = 0.2
    colormap: str = "jet"
    class_index: int | None = None

    def explain(self, prediction: SlicePrediction) -> Explanation:
        """The class whose Grad-CAM is drawn — the user's choice, else the slice's predicted class — with the
        probability the model gave it there. The one home of that rule: the viewer, the three-panel view, the report
        and the DICOM export all ask here."""
        class_index = prediction.predicted_index if self.class_index is None else self.class_index
        return Explanation(class_index, float(prediction.probabilities[class_index]))


@dataclass(frozen=True)
class Explanation:
    """What a drawn Grad-CAM explains: the class and the calibrated probability the model gave it on that slice."""

    class_index: int
    probability: float

    @property
    def weak(self) -> bool:
        """Whether the map explains a class the model found unlikely (see WEAK_EVIDENCE_PROBABILITY)."""
        return self.probability < WEAK_EVIDENCE_PROBABILITY


@lru_cache(maxsize=len(COLORMAPS))
def colormap_lut(name: str) -> np.ndarray:
    """A read-only (256, 3) uint8 RGB lookup table for one of `COLORMAPS`, built once per name."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    import matplotlib  # lazy: matplotlib costs a few hundred ms to import and is not needed at start-up

    rgba = matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))
    lut = np.round(rgba[:, :3] * 255.0).astype(np.uint8)
    lut.flags.writeable = False
    return lut


def upsample_cam(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The CAM resized to `shape` (rows, cols) as float32 in [0, 1].

    Predictions carry their CAMs already placed on the whole slice (`core.model.preprocess.to_image_space` undoes the
    head
    crop), so a plain resize is exact. Cubic interpolation when enlarging (smooth, may overshoot, hence the clip),
    linear when shrinking.
    """
    cam = np.asarray(cam, dtype=np.float32)
    rows, cols = int(shape[0]), int(shape[1])
    if cam.shape != (rows, cols):
        enlarging = rows * cols >= cam.shape[0] * cam.shape[1]
        interpolation = cv2.INTER_CUBIC if enlarging else cv2.INTER_LINEAR
        cam = cv2.resize(cam, (cols, rows), interpolation=interpolation)
    return np.clip(cam, 0.0, 1.0)


def _as_rgb(display_u8: np.ndarray) -> np.ndarray:
    if display_u8.dtype != np.uint8:
        raise ValueError(f"expected a uint8 display image, got {display_u8.dtype}")
    if display_u8.ndim == 2:
        return cv2.cvtColor(display_u8, cv2.COLOR_GRAY2RGB)
    if display_u8.ndim == 3 and display_u8.shape[2] >= 3:
        return np.array(display_u8[:, :, :3])
    raise ValueError(f"unsupported display image shape {display_u8.shape}")


def render_overlay(display_u8: np.ndarray, cam: np.ndarray | None, settings: OverlaySettings) -> np.ndarray:
    """The slice with the CAM alpha-blended on top, as an RGB uint8 (H, W, 3) image.

    Pixels whose CAM value is below `settings.threshold` keep the original grey value exactly; the others are blended
    with constant `settings.opacity` so the slider means the same thing everywhere on the image.
    """
    base = _as_rgb(display_u8)
    opacity = float(np.clip(settings.opacity, 0.0, 1.0))
    if not settings.visible or cam is None or opacity == 0.0:
        return base
    cam_full = upsample_cam(cam, base.shape[:2])
    # OpenCV's uint8 kernels keep this at a few ms for 512² (numpy float blending took ~30 ms on the target machine).
    cam_u8 = cv2.convertScaleAbs(cam_full, alpha=255.0)
    lut = colormap_lut(settings.colormap).reshape(256, 1, 3)
    colours = cv2.LUT(cv2.merge([cam_u8, cam_u8, cam_u8]), lut)
    blended = cv2.addWeighted(base, 1.0 - opacity, colours, opacity, 0.0)
    shown = (cam_full >= settings.threshold).view(np.uint8)
    return cv2.copyTo(blended, shown, base)


@dataclass(frozen=True)
class AttentionLocation:
    """Where a CAM peaks, in image terms and (when the orientation allows) in patient terms.

    `peak_row`/`peak_col` locate the centre of the hottest area as fractions of the image height/width (0 = top/left
    edge, 1 = bottom/right edge). `image_region` is e.g. "upper left", "lower middle", "centre", "upper" alone when
    the attention lies on both sides, or "" for an empty or evenly spread CAM. `patient_side` is "right", "left",
    "midline" (by the side rule of the module docstring), or "" when the orientation is unknown or has no left/right
    (sagittal), there is no region, or the map does not show a side. `patient_direction` is the patient direction the
    region's upper or lower part faces ("anterior" on an axial slice's upper part, "superior" on a coronal one's), ""
    when the orientation is unknown or the region is in the middle row.
    """

    peak_row: float
    peak_col: float
    peak_value: float
    image_region: str
    patient_side: str
    patient_direction: str = ""

    def describe(self) -> str:
        """A clinical-English phrase, e.g. "the upper left part of the image (patient's right side)"."""
        if not self.image_region:
            spread = "the attention map is empty" if self.peak_value == 0.0 else "the attention is spread evenly"
            return f"no particular part of the image ({spread})"
        centre = self.image_region == "centre"
        where = "the centre of the image" if centre else f"the {self.image_region} part of the image"
        if self.image_region in _VERTICAL_WORDS:
            side = "on both sides"
        elif self.patient_side == "midline":
            side = "near the midline"
        else:
            side = f"patient's {self.patient_side} side" if self.patient_side else ""
        patient_terms = ", ".join(term for term in (self.patient_direction, side) if term)
        return f"{where} ({patient_terms})" if patient_terms else where


_VERTICAL_WORDS = ("upper", "middle", "lower")


def _vertical_word(peak_row: float) -> str:
    if peak_row < 0.5 - _CENTRE_BAND:
        return "upper"
    if peak_row > 0.5 + _CENTRE_BAND:
        return "lower"
    return "middle"


def _hottest_area(cam: np.ndarray) -> tuple[float, float, float]:
    """Centre (row, col fractions) and area fraction of the connected area around the maximum within
    `_PEAK_PLATEAU` of it.

    A bare argmax is unstable on the flat tops that interpolated CAMs have; the centre of the plateau is not.
    """
    peak_r, peak_c = np.unravel_index(int(np.argmax(cam)), cam.shape)
    plateau = (cam >= cam[peak_r, peak_c] * _PEAK_PLATEAU).astype(np.uint8)
    _, labels = cv2.connectedComponents(plateau)
    rows, cols = np.nonzero(labels == labels[peak_r, peak_c])
    return (rows.mean() + 0.5) / cam.shape[0], (cols.mean() + 0.5) / cam.shape[1], rows.size / cam.size


def _lateral_word(cam: np.ndarray, midline: float) -> str:
    """The image side holding the map's hot mass, "left" or "right" of `midline` (a fraction of the width);
    "middle" when it is central; "" when unclear (the side rule of the module docstring)."""
    hot = np.where(cam >= cam.max() * _HOT_LEVEL, cam, 0.0)
    column_mass = hot.sum(axis=0, dtype=np.float64)
    centres = (np.arange(cam.shape[1]) + 0.5) / cam.shape[1]
    left_share = column_mass[centres < midline].sum() / column_mass.sum()
    if left_share >= _SIDE_SHARE:
        return "left"
    if left_share <= 1.0 - _SIDE_SHARE:
        return "right"
    central_share = column_mass[np.abs(centres - midline) <= _MIDLINE_HALF_WIDTH].sum() / column_mass.sum()
    return "middle" if central_share >= _MIDLINE_SHARE else ""


def head_midline(display: np.ndarray) -> float:
    """The head's midline as a fraction of the image width: the middle of the head's extent from left to right
    (`core.model.preprocess.head_mask`); the image's middle when no head is found."""
    columns = np.flatnonzero(head_mask(to_gray_u8(display)).any(axis=0))
    return 0.5 if columns.size == 0 else float(columns[0] + columns[-1] + 1) / 2 / display.shape[1]


def _left_right_labels(orientation: Sequence[float] | None) -> EdgeLabels | None:
    """The edge letters of a slice whose rows run mainly left-right (axial, coronal; not sagittal), else None."""
    labels = edge_labels(orientation)
    return labels if labels is not None and labels.right[0] in "LR" else None  # the rows' dominant direction


def has_patient_sides(orientation: Sequence[float] | None) -> bool:
    """Whether a slice of this ImageOrientationPatient has patient sides: it is known and its rows run mainly
    left-right (axial, coronal; not sagittal)."""
    return _left_right_labels(orientation) is not None


def patient_side(image_side: str, orientation: Sequence[float] | None) -> str:
    """The patient's side ("right", "left", "midline") that an image side ("left", "right", "middle") faces on a slice
    of this ImageOrientationPatient; "" when it has no patient sides (`has_patient_sides`)."""
    labels = _left_right_labels(orientation)
    if labels is None or not image_side:
        return ""
    if image_side == "middle":
        return "midline"
    letter = (labels.left if image_side == "left" else labels.right)[0]
    return "right" if letter == "R" else "left"


def attention_summary(cam: np.ndarray, orientation: Sequence[float] | None = None,
                      display: np.ndarray | None = None) -> AttentionLocation:
    """Locate the CAM's peak and name it. `orientation` is the slice's ImageOrientationPatient
    (`core.analysis.results.SliceResult.orientation`), without which no patient side is named; `display`, the slice
    as displayed, places the midline at the middle of the head (else of the image). The region's left/right/middle
    word and the side both follow the side rule from that midline; where it finds no side, the region has no
    left/right word.
    """
    cam = np.asarray(cam, dtype=np.float32)
    if cam.shape[0] < _PEAK_GRID or cam.shape[1] < _PEAK_GRID:
        cam = upsample_cam(cam, (_PEAK_GRID, _PEAK_GRID))
    peak_value = float(cam.max())
    peak_row, peak_col, area = _hottest_area(cam) if peak_value > 0.0 else (0.5, 0.5, 1.0)
    if area > _DIFFUSE_AREA:
        return AttentionLocation(peak_row, peak_col, peak_value, image_region="", patient_side="")
    vertical = _vertical_word(peak_row)
    horizontal = _lateral_word(cam, head_midline(display) if display is not None else 0.5)
    region = "centre" if vertical == horizontal == "middle" else f"{vertical} {horizontal}".strip()
    return AttentionLocation(
        peak_row=float(peak_row),
        peak_col=float(peak_col),
        peak_value=peak_value,
        image_region=region,
        patient_side=patient_side(horizontal, orientation),
        patient_direction=_patient_direction(vertical, orientation),
    )


#: The patient directions an image's top or bottom edge can face, in words (left/right are the side rule's).
_DIRECTION_WORDS = {"A": "anterior", "P": "posterior", "S": "superior", "I": "inferior"}


def _patient_direction(vertical: str, orientation: Sequence[float] | None) -> str:
    """The patient direction the "upper" or "lower" part of a slice faces, by its edge letters (the viewer's); ""
    for the middle row or an unknown orientation."""
    labels = edge_labels(orientation)
    if labels is None or vertical not in ("upper", "lower"):
        return ""
    return _DIRECTION_WORDS.get((labels.top if vertical == "upper" else labels.bottom)[0], "")
