"""Every sentence a user reads about a result, in one place: the results panel, the three-panel view, the PDF report,
the JSON notes, the CLI and the case listing all take their words from here, so a slice's outcome or a study's notes
read the same everywhere.

This module states the shape of the results it words as protocols (`WordedSlice`, `WordedStudy`, as
`core.analysis.results` has them) rather than importing the analysis, which asks it for the study notes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

import numpy as np

from core.analysis.outcome import SliceOutcome, outcome_of
from core.io.sequence import SequenceHint
from core.model.labels import NOTUMOR
from core.output.anonymise import AnalysedSlice, slice_error, slice_name

UNREADABLE = SliceOutcome.UNREADABLE.value  # "could not be read"
OUT_OF_DISTRIBUTION = SliceOutcome.OUT_OF_DISTRIBUTION.value  # "out of distribution"
NO_PREDICTION = "no prediction"
NO_REASON = "no reason given"
NO_VALUE = "—"
NO_SLICE_PASSED = "no slice passed the out-of-distribution check"


class _Prediction(Protocol):
    @property
    def probabilities(self) -> np.ndarray: ...
    @property
    def label(self) -> str | None: ...
    @property
    def ood_reason(self) -> str: ...
    @property
    def predicted_index(self) -> int: ...


class WordedSlice(AnalysedSlice, Protocol):
    """What wording a slice's result needs (`core.analysis.results.SliceResult`)."""

    @property
    def prediction(self) -> _Prediction | None: ...


class WordedStudy(Protocol):
    """What wording a study's result needs (`core.analysis.results.StudyResult`)."""

    @property
    def verdict_label(self) -> str | None: ...
    @property
    def verdict_probability(self) -> float | None: ...
    @property
    def slice_results(self) -> Sequence[WordedSlice]: ...
    @property
    def counted_results(self) -> Sequence[WordedSlice]: ...
    @property
    def out_of_distribution_results(self) -> Sequence[WordedSlice]: ...
    @property
    def failed_results(self) -> Sequence[WordedSlice]: ...
    @property
    def disagreeing_results(self) -> Sequence[WordedSlice]: ...
    @property
    def probabilities(self) -> np.ndarray | None: ...
    @property
    def classes(self) -> tuple[str, ...]: ...
    @property
    def sequence_hint(self) -> SequenceHint: ...
    def display_name(self, label: str) -> str: ...


def format_percent(probability: float, decimals: int = 0) -> str:
    """A model probability as a percentage, never "0%" or "100%": the ends read "<1%" and ">99%" (with decimals
    "<0.1%", ">99.9%"), because a model is never certain and a rounded "100%" next to a verdict reads as if it were
    (a float32 softmax even reaches exactly 1.0 for a large logit gap)."""
    step = 10.0 ** -(decimals + 2)
    if probability < step:
        return f"<{step * 100:g}%"
    if probability > 1.0 - step:
        return f">{100 - step * 100:.{decimals}f}%"
    return f"{probability * 100:.{decimals}f}%"


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- one slice ---------------------------------------------------------------------------------------------------


def slice_probability(result: WordedSlice, decimals: int = 0) -> str:
    """The calibrated probability of the slice's own most probable class, or "—" when it has no class."""
    prediction = result.prediction
    if prediction is None or prediction.label is None:
        return NO_VALUE
    return format_percent(float(prediction.probabilities[prediction.predicted_index]), decimals)


def slice_outcome_words(result: WordedSlice, class_name: Callable[[str], str]) -> str:
    """The slice's class (named by `class_name`), else "out of distribution" or "could not be read"."""
    prediction = result.prediction
    if prediction is None or prediction.label is None:
        return outcome_of(prediction).value
    return class_name(prediction.label)


def slice_reason(result: WordedSlice, anonymise: bool = False) -> str:
    """Why the slice has no class: the decoding error (path-free when anonymising) or the OOD gate's reason; ""
    for a counted slice."""
    prediction = result.prediction
    if prediction is None:
        return slice_error(result, anonymise) or NO_REASON
    return "" if prediction.label is not None else prediction.ood_reason or NO_REASON


def slice_outcome(result: WordedSlice, class_name: Callable[[str], str], anonymise: bool = False,
                  decimals: int = 0) -> str:
    """"Glioma (70%)", "out of distribution (<reason>)" or "could not be read (<reason>)"."""
    detail = slice_reason(result, anonymise) or slice_probability(result, decimals)
    return f"{slice_outcome_words(result, class_name)} ({detail})"


def slice_heading(result: WordedSlice, class_name: Callable[[str], str], anonymise: bool = False) -> str:
    """A slice's panel title in the report: "<slice>: Glioma 70.0%", "<slice>: no prediction (out of distribution,
    not counted)" or "<slice>: could not be read"."""
    name, prediction = slice_name(result, anonymise), result.prediction
    if prediction is None:
        return f"{name}: {UNREADABLE}"
    if prediction.label is None:
        return f"{name}: {NO_PREDICTION} ({OUT_OF_DISTRIBUTION}, not counted)"
    return f"{name}: {class_name(prediction.label)} {slice_probability(result, 1)}"


def slice_problem(result: WordedSlice) -> tuple[str, str] | None:
    """For a slice without a class, the results panel's title and the reason; None for a counted slice."""
    prediction = result.prediction
    if prediction is None:
        return capitalised(UNREADABLE), result.error
    if prediction.label is None:
        return f"{capitalised(OUT_OF_DISTRIBUTION)} — {NO_PREDICTION}", prediction.ood_reason
    return None


class _Explanation(Protocol):
    """What a drawn Grad-CAM explains, as `core.analysis.overlay.Explanation` has it."""

    @property
    def probability(self) -> float: ...
    @property
    def weak(self) -> bool: ...


def explained_class_words(class_name: str, explanation: _Explanation, decimals: int = 0) -> str:
    """Which class a drawn Grad-CAM explains and how probable the model found it on that slice, e.g. "Meningioma
    (probability 1%, weak evidence)": Grad-CAM draws a map for any class, so the reader must see which class and how
    likely, wherever a map is shown (the overlay panel, the report's panels)."""
    weak = ", weak evidence" if explanation.weak else ""
    return f"{class_name} (probability {format_percent(explanation.probability, decimals)}{weak})"


def threshold_words(threshold: float) -> str:
    """The Grad-CAM threshold as every reader says it, e.g. "attention below 20% hidden" (a share of the map's
    peak)."""
    return f"attention below {threshold:.0%} hidden"


def overlay_look_words(opacity: float, threshold: float) -> str:
    """How an overlay is drawn, e.g. "opacity 45%, attention below 20% hidden": the viewer, the three-panel view,
    the report and the case listing say it alike."""
    return f"opacity {opacity:.0%}, {threshold_words(threshold)}"


def no_heatmap_reason(prediction: _Prediction | None) -> str:
    """Why no Grad-CAM can be shown for a slice ("" when one can)."""
    if prediction is None:
        return "Not analysed yet — no heatmap"
    if prediction.label is None:
        return f"No heatmap: the slice was not classified ({prediction.ood_reason})"
    return ""


# --- a study -----------------------------------------------------------------------------------------------------


def verdict_text(study: WordedStudy, class_name: Callable[[str], str] | None = None, separator: str = " ",
                 decimals: int = 0) -> str:
    """The study-level class and its mean probability ("Glioma 70%"); "" when there is no study-level result."""
    label, probability = study.verdict_label, study.verdict_probability
    if label is None or probability is None:
        return ""
    return f"{(class_name or study.display_name)(label)}{separator}{format_percent(probability, decimals)}"


_SEX_WORDS = {"M": "male", "F": "female", "O": "other"}  # Patient's Sex (0010,0040), PS3.3 C.7.1.1


def sex_words(code: str) -> str:
    """Patient's Sex in words, as the window and the report show it ("male", "female", "other"); any other value
    as the file gives it."""
    return _SEX_WORDS.get(code.strip().upper(), code)


def counted_words(study: WordedStudy) -> str:
    """How many of the analysed slices the study result rests on, e.g. "5/9 slices counted": beside the verdict in
    the CLI's summary line and the results panel, so a verdict from few slices never reads like one from all."""
    return f"{len(study.counted_results)}/{len(study.slice_results)} slices counted"


def no_verdict_reason(study: WordedStudy) -> str:
    """Why the study has no study-level result ("" when it has one), e.g. for the CLI's summary line."""
    if study.verdict_label is not None:
        return ""
    analysed = len(study.slice_results)
    if len(study.failed_results) == analysed:
        return f"{analysed} slice(s) could not be decoded"
    return NO_SLICE_PASSED


def disagreement(study: WordedStudy, anonymise: bool = False, decimals: int = 0) -> str:
    """The sentence naming each counted slice whose own most probable class is not the verdict, with that class
    and its probability ("" when they all agree); the results panel, the JSON notes, the PDF findings and the
    CLI all say it in these words."""
    favoured = "; ".join(
        f"{slice_name(result, anonymise)} favours {study.display_name(result.prediction.label)} "
        f"({slice_probability(result, decimals)})"
        for result in study.disagreeing_results
        if result.prediction is not None and result.prediction.label is not None)  # always so when they disagree
    return f"The slices disagree: {favoured}." if favoured else ""


#: A runner-up class this close (in probability) to the study result makes the result a close call.
CLOSE_CALL_MARGIN = 0.10


def verdict_cautions(study: WordedStudy, decimals: int = 0) -> list[str]:
    """What must stand beside the verdict, not only in the findings: a runner-up class close behind it
    (`CLOSE_CALL_MARGIN`), slices that favour another class (`disagreement_headline`), and a sequence the model is
    not validated on or that is not known (`SequenceHint.caution`). None without a verdict: no answer to weigh."""
    if study.verdict_label is None:
        return []
    negative = study.verdict_label == NOTUMOR
    cautions = [close_call(study, decimals), disagreement_headline(study, decimals),
                study.sequence_hint.caution(negative)]
    return [caution for caution in cautions if caution]


def close_call(study: WordedStudy, decimals: int = 0) -> str:
    """E.g. "Close call: Glioma (47%) is less than 10 points behind the result."; "" when the result stands
    clear."""
    probabilities, verdict = study.probabilities, study.verdict_probability
    if probabilities is None or verdict is None or len(probabilities) < 2:
        return ""
    runner_up = int(np.argsort(probabilities)[-2])
    if verdict - float(probabilities[runner_up]) >= CLOSE_CALL_MARGIN:
        return ""
    name = study.display_name(study.classes[runner_up])
    return (f"Close call: {name} ({format_percent(float(probabilities[runner_up]), decimals)}) is less than "
            f"{round(CLOSE_CALL_MARGIN * 100)} points behind the result.")


_Slice = TypeVar("_Slice", bound=WordedSlice)


def by_favoured_class(results: Iterable[_Slice]) -> dict[str, list[_Slice]]:
    """Slices with a prediction grouped by the class each favours, in the order met (for the slices that disagree
    with the verdict: the headline beside it, and where the report says their own maps peak)."""
    groups: dict[str, list[_Slice]] = {}
    for result in results:
        if result.prediction is not None and result.prediction.label is not None:
            groups.setdefault(result.prediction.label, []).append(result)
    return groups


def disagreement_headline(study: WordedStudy, decimals: int = 0) -> str:
    """Beside the verdict, when counted slices favour another class: which, on how many slices, and how strongly,
    e.g. "Not all slices agree: of 9 counted slices, 2 favour Glioma (up to 97%)." A lesion is often on a few slices
    only, and the mean over many healthy-looking ones can outvote it; the verdict alone must not hide that."""
    by_class = {label: [_favoured_probability(result) for result in results]
                for label, results in by_favoured_class(study.disagreeing_results).items()}
    if not by_class:
        return ""
    ranked = sorted(by_class.items(), key=lambda item: (-len(item[1]), -max(item[1])))
    parts = [f"{len(values)} favour{'s' if len(values) == 1 else ''} {study.display_name(label)} (up to "
             f"{format_percent(max(values), decimals)})" for label, values in ranked]
    return f"Not all slices agree: of {len(study.counted_results)} counted slices, {', '.join(parts)}."


def _favoured_probability(result: WordedSlice) -> float:
    prediction = result.prediction
    assert prediction is not None  # grouped by `by_favoured_class`, which keeps predicted slices only
    return float(prediction.probabilities[prediction.predicted_index])


def study_notes(study: WordedStudy, anonymise: bool = False) -> list[str]:
    """Plain sentences on what was counted and whether the slices agree, for the results panel and exports."""
    counted, analysed = len(study.counted_results), len(study.slice_results)
    notes = [f"{counted} of {analysed} analysed slices passed the out-of-distribution check and were counted."]
    if study.out_of_distribution_results:
        notes.append(f"{len(study.out_of_distribution_results)} slice(s) were {OUT_OF_DISTRIBUTION}: {NO_PREDICTION}.")
    if study.failed_results:
        notes.append(f"{len(study.failed_results)} slice(s) {UNREADABLE}.")
    if study.verdict_label is None:
        notes.append(f"No study-level prediction: {no_verdict_reason(study)}.")
    elif study.disagreeing_results:
        notes.append(disagreement(study, anonymise))
    return notes
