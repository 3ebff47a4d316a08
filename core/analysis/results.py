"""Run the classifier over chosen slices and combine the per-slice results into one study-level result.

The combination rule is deliberately simple so that it can be stated in one sentence to the radiologist (see
`AGGREGATION_RULE`): the calibrated probabilities of the slices that passed the out-of-distribution gate are
averaged, and the class with the highest average is the study-level result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.analysis.outcome import SliceOutcome, outcome_of
from core.errors import BrainMriError
from core.io.sequence import SequenceHint, sequence_hint
from core.model.labels import display_name

if TYPE_CHECKING:
    from core.io.load import SeriesInfo, Slice
    from core.model.classifier import ModelManifest, SlicePrediction

AGGREGATION_RULE = (
    "The study-level result is the class with the highest mean calibrated probability over the analysed slices "
    "that passed the out-of-distribution check; the others are not counted, and if none passed there is no "
    "study-level prediction."
)

#: Slices sent to the model per request, one pass through the network (at most
#: `core.model.classifier.PREDICT_BATCH`). Measured on the 2-core machine (`benchmarks/bench_all_slices.py --batches
#: 2,4`, 55 slices of 256², interleaved runs): with the 256² model batches of 4 take 12-15 % less time than batches
#: of 2 (the network's own pass: ~66 against ~79 ms/slice), with the same answers (largest probability difference
#: ~1e-8); with the earlier 128² model 2 or 3 were best. Cancel still stops within one batch (~0.3 s), and a burst of
#: 4 results stays within the UI's stall goal.
ANALYSIS_BATCH = 4

# The model was trained on MR slices only. Pictures (JPEG/PNG) carry no modality and are accepted; DICOM of any other
# modality (CT, NM, US, OT, ...) gets no class at all, before the model runs (DICOM PS3.3 C.7.3.1, Modality).
ACCEPTED_MODALITIES = ("", "MR")


def not_analysable_reason(info: SeriesInfo | None) -> str:
    """Why the model must not classify this series ("" when it may): today, a DICOM modality other than MR."""
    modality = (info.modality if info is not None else "").strip().upper()
    if modality in ACCEPTED_MODALITIES:
        return ""
    return f"modality {modality} is not MR (the model was trained on brain MRI only)"


# What a slice's pixels can fail with: the loader's own errors, and the OSError/ValueError that Pillow, pydicom and
# numpy raise on truncated or inconsistent data.
_DECODE_ERRORS = (BrainMriError, OSError, ValueError)


class SliceClassifier(Protocol):
    """The part of `core.model.classifier.Classifier` that analysis needs."""

    def predict(self, images: Sequence[np.ndarray]) -> list[SlicePrediction]: ...


@dataclass
class SliceResult:
    """One analysed slice: its display image and prediction, or `error` when its pixels could not be decoded.
    `slice_label` and `named_by_file` are the slice's `label` and `named_by_file` (`core.io.load.Slice`)."""

    slice_label: str
    slice_index: int
    display: np.ndarray | None
    prediction: SlicePrediction | None
    source_path: Path | None = None
    error: str = ""
    named_by_file: bool = True
    #: The slice's ImageOrientationPatient (PS3.3 C.7.6.2.1.1), so a report can letter the edges of its image as
    #: the viewer does (`core.viewing.orientation`); None for pictures and where unknown.
    orientation: tuple[float, ...] | None = None

    @property
    def outcome(self) -> SliceOutcome:
        """Counted, out of distribution, or unreadable (`core.analysis.outcome`)."""
        return outcome_of(self.prediction)

    @property
    def counted(self) -> bool:
        """Whether this slice contributes to the study-level result (it has an in-distribution prediction)."""
        return self.outcome is SliceOutcome.COUNTED


@dataclass
class StudyResult:
    """The study-level verdict over a set of analysed slices; `probabilities` is None when no slice was counted.

    `series_length` is the number of slices in the analysed series, so a report can say how much of it was analysed;
    None when the caller did not give it."""

    series_info: SeriesInfo | None
    slice_results: list[SliceResult]
    verdict_label: str | None
    probabilities: np.ndarray | None
    rule: str
    model_version: str
    weights_sha256: str
    model_name: str = ""
    classes: tuple[str, ...] = field(default_factory=tuple)
    display_names: tuple[str, ...] = field(default_factory=tuple)
    series_length: int | None = None

    def display_name(self, label: str) -> str:
        """What the user reads for a class id ("notumor" → "No tumour"): the manifest's names, else those of
        `core.model.labels` (which a manifest must equal; a result reopened from a case carries none)."""
        if not self.display_names:
            return display_name(label)
        return self.display_names[self.classes.index(label)] if label in self.classes else label

    @cached_property
    def sequence_hint(self) -> SequenceHint:
        """The likely MR sequence relative to the training data (`core.io.sequence`), from the series' header fields."""
        return sequence_hint(self.series_info)

    @property
    def counted_results(self) -> list[SliceResult]:
        return [result for result in self.slice_results if result.counted]

    @property
    def out_of_distribution_results(self) -> list[SliceResult]:
        return [result for result in self.slice_results if result.outcome is SliceOutcome.OUT_OF_DISTRIBUTION]

    @property
    def failed_results(self) -> list[SliceResult]:
        return [result for result in self.slice_results if result.outcome is SliceOutcome.UNREADABLE]

    @property
    def disagreeing_results(self) -> list[SliceResult]:
        """Counted slices whose own most probable class is not the study-level verdict."""
        return [result for result in self.counted_results
                if result.prediction is not None and result.prediction.label != self.verdict_label]

    @property
    def verdict_index(self) -> int | None:
        return None if self.verdict_label is None else self.classes.index(self.verdict_label)

    @property
    def verdict_probability(self) -> float | None:
        """The verdict's mean calibrated probability."""
        index, probabilities = self.verdict_index, self.probabilities
        return None if index is None or probabilities is None else float(probabilities[index])


def slice_result(slice_: Slice, display: np.ndarray | None, prediction: SlicePrediction | None,
                 error: str = "") -> SliceResult:
    """The result for `slice_`, named as the slice is; `error` says why its pixels could not be decoded."""
    return SliceResult(slice_.label, slice_.index, display, prediction, source_path=slice_.path, error=error,
                       named_by_file=slice_.named_by_file, orientation=slice_.orientation)


def analyse_slice(slice_: Slice, classifier: SliceClassifier) -> SliceResult:
    """Decode and classify one slice; a decoding failure becomes an error result, model failures propagate."""
    return analyse_slices([slice_], classifier)[0]


def analyse_slices(slices: Sequence[Slice], classifier: SliceClassifier) -> list[SliceResult]:
    """Decode the slices and classify the readable ones in one model call; one result per slice, in order."""
    results: list[SliceResult] = []
    readable: list[tuple[int, np.ndarray]] = []  # (position in `results`, display image)
    for slice_ in slices:
        try:
            display = slice_.display()
        except _DECODE_ERRORS as error:
            reason = error.reason if isinstance(error, BrainMriError) else str(error) or type(error).__name__
            results.append(slice_result(slice_, None, None, error=reason))
            continue
        readable.append((len(results), display))
        results.append(slice_result(slice_, display, None))
    predictions = classifier.predict([display for _, display in readable]) if readable else []
    for (position, _), prediction in zip(readable, predictions, strict=True):
        results[position].prediction = prediction
    return results


def iter_analysis(
    slices: Iterable[Slice],
    classifier: SliceClassifier,
    should_cancel: Callable[[], bool] | None = None,
    batch_size: int = ANALYSIS_BATCH,
) -> Iterator[SliceResult]:
    """Yield one `SliceResult` per slice, in order. Slices go to the model `batch_size` at a time (faster than one
    by one; `benchmarks/bench_all_slices.py`) and each batch's results are yielded one by one as soon as it returns;
    `should_cancel` is checked before each batch, so a cancel stops within one batch."""
    pending = list(slices)
    for start in range(0, len(pending), batch_size):
        if should_cancel is not None and should_cancel():
            return
        yield from analyse_slices(pending[start:start + batch_size], classifier)


def aggregate(
    slice_results: Sequence[SliceResult],
    manifest: ModelManifest,
    series_info: SeriesInfo | None = None,
    series_length: int | None = None,
) -> StudyResult:
    """Combine per-slice results by `AGGREGATION_RULE`; `series_length` is the number of slices in the series."""
    counted = [result for result in slice_results if result.counted]
    if counted:
        probabilities = np.mean([result.prediction.probabilities for result in counted if result.prediction], axis=0)
        verdict_label = manifest.classes[int(np.argmax(probabilities))]
    else:
        probabilities, verdict_label = None, None
    return StudyResult(
        series_info=series_info,
        slice_results=list(slice_results),
        verdict_label=verdict_label,
        probabilities=probabilities,
        rule=AGGREGATION_RULE,
        model_version=manifest.version,
        weights_sha256=manifest.weights_sha256,
        model_name=manifest.name,
        classes=tuple(manifest.classes),
        display_names=tuple(manifest.display_names),
        series_length=series_length,
    )
