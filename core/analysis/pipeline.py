"""The one path from files to a study-level result, shared by the CLI, the self-test and the desktop's worker.

    open_study(paths) ──► Study            (load_study + PHI registration, in one place)
    select_slices(series, SlicePolicy…) ──► SliceSelection        (core.analysis.selection)
    analyse_series(series, classifier, slices) ──► yields SliceResult … returns StudyResult

`analyse_series` is a generator: it yields each slice's result as its batch comes back from the model (the window
and the CLI's progress bar stream them) and *returns* the aggregated `StudyResult` (the generator's return value:
`StopIteration.value`, which superqt's `thread_worker` emits as `returned`; `collect` runs one to the end). Cancelling
(`should_cancel`) is checked before each batch and before each result is yielded; a cancelled run returns None.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from core.analysis.results import (
    SliceClassifier,
    SliceResult,
    StudyResult,
    aggregate,
    iter_analysis,
    not_analysable_reason,
    slice_result,
)
from core.analysis.selection import SliceSelection
from core.errors import NotAnalysableError
from core.io.sequence import sequence_hint

if TYPE_CHECKING:
    from core.io.load import Series, Slice, Study
    from core.model.classifier import ModelManifest

_Yielded = TypeVar("_Yielded")
_Returned = TypeVar("_Returned")


class AnalysisModel(SliceClassifier, Protocol):
    """What the pipeline needs of a model: `predict` (`core.model.classifier.Classifier`, or the desktop's
    `core.model.remote.ClassifierProcess`) and the manifest that names the classes of the result."""

    @property
    def manifest(self) -> ModelManifest: ...


def open_study(paths: Path | Sequence[Path], progress: Callable[[int, int], None] | None = None,
               should_cancel: Callable[[], bool] | None = None) -> Study:
    """`core.io.load.load_study`, then the study's patient names and IDs registered with the log's PHI guard
    (`core.logging_setup.register_study_phi`), so no later log record names the patient. Never raises for bad files."""
    from core.io.load import load_study
    from core.logging_setup import register_study_phi

    study = load_study(paths, progress=progress, should_cancel=should_cancel)
    register_study_phi(study)
    return study


def series_to_open(series: Sequence[Series]) -> int:
    """Which of a study's series the window opens on (and Analyse first applies to): the first that looks like
    contrast-enhanced T1, the sequence the model was validated on (`core.io.sequence`), else the first the model may
    classify, else the first; -1 when there is none. Series are listed by number, so a FLAIR often comes first."""
    for acceptable in (lambda s: sequence_hint(s.info).validated, lambda s: not not_analysable_reason(s.info)):
        for index, candidate in enumerate(series):
            if acceptable(candidate):
                return index
    return 0 if series else -1


def default_analysis_set(series: Series, count: int) -> list[int]:
    """The slice indices Analyse starts from: the `count` central slices (`core.analysis.selection`, which decodes
    them), and none of a series the model must not classify (`not_analysable_reason`), which is not decoded."""
    from core.analysis.selection import central_slices

    if not_analysable_reason(series.info):
        return []
    return [slice_.index for slice_ in central_slices(series, count)]


def refuse_unanalysable(series: Series) -> None:
    """Raise `NotAnalysableError` when the model must not classify `series` (`not_analysable_reason`); a caller that
    would otherwise decode slices to choose them (`select_slices`) asks first."""
    refusal = not_analysable_reason(series.info)
    if refusal:
        raise NotAnalysableError(None, refusal)


def analyse_series(
    series: Series,
    classifier: AnalysisModel,
    slices: SliceSelection | Sequence[Slice],
    should_cancel: Callable[[], bool] | None = None,
) -> Generator[SliceResult, None, StudyResult | None]:
    """Analyse `slices` of `series`: yields one `SliceResult` per slice and returns the aggregated `StudyResult`
    (`core.analysis.results.aggregate`, slices in stack order, `series_length` the series' length), or None when
    `should_cancel` stopped it.

    `slices` is a `SliceSelection` (`core.analysis.selection.select_slices`), whose slices that could not be decoded
    while choosing are yielded first as unreadable results, or the slices themselves (e.g. the user's analysis set).
    The others go to the model `ANALYSIS_BATCH` at a time (`iter_analysis`); a slice that cannot be decoded becomes an
    unreadable result and the analysis goes on. A series the model must not classify (`not_analysable_reason`: DICOM
    of another modality than MR) raises `NotAnalysableError` at the first `next()`, before the model runs."""
    refuse_unanalysable(series)
    selection = slices if isinstance(slices, SliceSelection) else SliceSelection(list(slices), [])

    def cancelled() -> bool:
        return should_cancel is not None and should_cancel()

    results: list[SliceResult] = []
    for slice_, reason in selection.unreadable:
        results.append(slice_result(slice_, None, None, error=reason))
        yield results[-1]
    for result in iter_analysis(selection.chosen, classifier, should_cancel=should_cancel):
        if cancelled():
            return None  # the rest of a batch in flight when the cancel came is not reported
        results.append(result)
        yield result
    if cancelled():
        return None
    results.sort(key=lambda result: result.slice_index)
    return aggregate(results, classifier.manifest, series_info=series.info, series_length=len(series))


def collect(generator: Generator[_Yielded, None, _Returned],
            each: Callable[[_Yielded], object] | None = None) -> tuple[list[_Yielded], _Returned]:
    """Run a generator to its end: what it yielded, in order (each passed to `each` as it comes), and what it
    returned."""
    yielded: list[_Yielded] = []
    while True:
        try:
            item = next(generator)
        except StopIteration as stop:
            return yielded, stop.value
        yielded.append(item)
        if each is not None:
            each(item)
