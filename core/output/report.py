"""The PDF report: options and the words it contains.

The wording (patient block, findings template, disclaimer, file name) lives here; the page layout and the atomic
write (`core.output.pdf.write_pdf`) live in `core.output.pdf`, which imports reportlab, so callers import that module
only when they write a report and importing this one costs the desktop nothing at start-up.

The findings text only restates what the model computed (classes, calibrated probabilities, which slices, where
the Grad-CAM maps peak) and what could not be analysed; it never adds anatomy or a diagnosis. With `anonymise` the
report leaves out what `core.output.anonymise` says an anonymised export leaves out.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.analysis.overlay import Explanation, OverlaySettings, attention_summary, has_patient_sides
from core.analysis.profile import consecutive_runs
from core.model.labels import NOTUMOR
from core.output.anonymise import removed_by_profile, shown_value, skipped_files, slice_name
from core.output.wording import (
    by_favoured_class,
    disagreement,
    explained_class_words,
    format_percent,
    no_verdict_reason,
    sex_words,
    slice_outcome_words,
    slice_reason,
)

if TYPE_CHECKING:
    import numpy as np

    from core.analysis.results import SliceResult, StudyResult
    from core.io.load import SeriesInfo, SkippedFile

PAGE_SIZE_NAMES = ("A4", "Letter")
REPORT_TITLE = "Brain MRI classification: decision-support report"
NOT_AVAILABLE = "not available"
ANONYMISED = "removed (anonymised)"
DISCLAIMER = (
    "Decision support, not a diagnosis. This report was produced by software that classifies single MRI slices "
    "into four classes (glioma, meningioma, no tumour, pituitary tumour). It does not detect other conditions, "
    "it can be wrong, and its probabilities are estimates from a model trained on public data. The result must be "
    "interpreted by a qualified radiologist together with the complete study and the clinical information. "
    "Grad-CAM maps show the image regions that most influenced the model; they are not lesion outlines."
)
SKIPPED_HEADING = "Files that could not be opened"
# Pictures (JPEG, PNG) make a "series" of the files of a folder: the report must not suggest neighbouring slices.
PICTURES_ORDER = ("Picture files record no slice position: they are taken in file-name order and need not be "
                  "neighbouring slices of one series.")
EXCLUDED_NAMED_AT_MOST = 3  # slices not counted for one reason that the findings name one by one
# A slice the out-of-distribution check rejected: its softmax is an answer to a question the model was not trained
# for, so, as in the window, no probabilities or map are printed beside it.
OUT_OF_DISTRIBUTION_PANEL = ("No class probabilities or Grad-CAM are shown for this slice: the model's output on an "
                             "image unlike its training images is not meaningful, and the slice is not counted in "
                             "the study result.")
# The report prints every probability with one decimal, so a heading and the findings under it never differ in
# rounding ("98.8%" above, "99%" below); the screen shows whole percent.
REPORT_DECIMALS = 1
PROFILE_X_LABEL = "Slice (position in the series)"
PROFILE_Y_LABEL = "Probability (%)"
PROFILE_NO_PREDICTION = "no prediction"
PROFILE_CAPTION = (
    "Probability profile: each class's calibrated probability on each analysed slice along the series (lines join "
    "neighbouring slices only). Shaded: analysed; ×: no prediction, not counted; blank: not analysed."
)
#: The most characters of one free-text field the report prints (a header value, a slice's name, the institution).
#: Conformant values are far shorter (LO 64 characters, PN 64 per component group, PS3.5 6.2), but a damaged or
#: hostile file can hold thousands, and a field printed whole could then not fit on a page at all.
REPORT_FIELD_MAX_CHARS = 200
#: The notes beside a patient-block value with characters the report cannot show (`core.output.pdf`), by row label.
_UNSHOWN_SUBJECTS = {"Patient name": "name", "Patient ID": "ID", "Study": "description", "Series": "description"}


@dataclass
class ReportOptions:
    """User choices for a report. `generated_at` None means the time of writing."""

    page_size: str = "A4"
    anonymise: bool = False
    institution: str = ""
    overlay: OverlaySettings = field(default_factory=OverlaySettings)
    generated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.page_size not in PAGE_SIZE_NAMES:
            raise ValueError(f"page size must be one of {', '.join(PAGE_SIZE_NAMES)}, not {self.page_size!r}")

    def timestamp(self) -> datetime:
        return self.generated_at or datetime.now().astimezone()


def patient_rows(info: SeriesInfo | None, anonymise: bool) -> list[tuple[str, str]]:
    """(label, value) pairs of the patient/study block; unknown values read "not available", never a guess, and
    values an anonymised report leaves out read "removed (anonymised)".

    `SeriesInfo` values arrive display-formatted from the loader ("Doe, John", "2024-01-31")."""
    if info is None:
        return [(label, NOT_AVAILABLE) for label in
                ("Patient name", "Patient ID", "Birth date", "Sex", "Study date", "Accession no.", "Study", "Series")]

    def shown(field_name: str) -> str:
        return shown_value(info, field_name, anonymise)

    def value(field_name: str, text: str) -> str:
        if text:
            return text
        return ANONYMISED if anonymise and removed_by_profile(field_name) else NOT_AVAILABLE

    sex = shown("patient_sex")
    when = " ".join(part for part in (shown("study_date"), shown("study_time")) if part)
    series = " ".join(part for part in (info.series_number and f"#{info.series_number}", shown("series_description"),
                                        info.modality and f"({info.modality})") if part)
    return [
        ("Patient name", value("patient_name", shown("patient_name"))),
        ("Patient ID", value("patient_id", shown("patient_id"))),
        ("Birth date", value("patient_birth_date", shown("patient_birth_date"))),
        ("Sex", value("patient_sex", sex_words(sex))),
        ("Study date", value("study_date", when)),
        ("Accession no.", value("accession_number", shown("accession_number"))),
        ("Study", value("study_description", shown("study_description"))),
        ("Series", value("series_description", series)),  # with its modality: the block keeps to four rows
    ]


def shortened(text: str, limit: int = REPORT_FIELD_MAX_CHARS) -> str:
    """`text`, or its first `limit` characters and "…" when it is longer, so the cut is plain to see."""
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def printed_inputs(study: StudyResult, options: ReportOptions) -> tuple[StudyResult, ReportOptions]:
    """The study and options as the report prints them, with every free-text field `shortened`: the header's text
    fields, the slices' names and the institution. This is the one place that bounds them, so that no field can
    outgrow the page (a table row, the patient line atop each page); the study itself is left as it is."""
    slices = [dataclasses.replace(result, slice_label=shortened(result.slice_label))
              for result in study.slice_results]
    printed = dataclasses.replace(study, series_info=_shortened_info(study.series_info), slice_results=slices)
    return printed, dataclasses.replace(options, institution=shortened(options.institution))


def _shortened_info(info: SeriesInfo | None) -> SeriesInfo | None:
    """`info` with each of its text fields `shortened`."""
    if info is None:
        return None
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(info):
        value = getattr(info, item.name)
        if isinstance(value, str):
            changes[item.name] = shortened(value)
    return dataclasses.replace(info, **changes)


def unshown_characters_note(label: str) -> str:
    """The note beside a patient-block value (row `label`) that holds characters the report cannot show, e.g. a
    name in Japanese or Arabic, which the DICOM header holds as written."""
    subject = _UNSHOWN_SUBJECTS.get(label, "value")
    return f"({subject} contains characters this report cannot show; see the DICOM header)"


def explanation_caption(study: StudyResult, explanation: Explanation) -> str:
    """What a Grad-CAM panel shows, e.g. "Grad-CAM for Meningioma (probability 1.0%, weak evidence)": Grad-CAM
    draws a map for any class, so the reader must see which class and how probable the model found it."""
    return "Grad-CAM for " + explained_class_words(study.display_name(study.classes[explanation.class_index]),
                                                   explanation, decimals=REPORT_DECIMALS)


def _names(results: list[SliceResult], anonymise: bool) -> str:
    # semicolons: a slice's DICOM name holds a comma ("Se 6 Im 26, S 12.5 mm")
    return "; ".join(slice_name(result, anonymise) for result in results)


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _slices(count: int) -> str:
    return _count(count, "slice")


def _number_ranges(numbers: Sequence[int]) -> str:
    """Sorted distinct numbers as runs, e.g. [3, 4, 5, 9] → "3–5, 9"."""
    return ", ".join(str(run.start) if len(run) == 1 else f"{run.start}–{run[-1]}"
                     for run in consecutive_runs(list(numbers)))


def coverage_sentence(study: StudyResult) -> str:
    """How much of the series was analysed, e.g. "Coverage: 9 of 55 slices in the series analysed (series positions
    24–32)." Positions count from 1 in series order, as the viewer's slider and anonymised names ("image k")
    do; they are not instance numbers ("Im" in DICOM slice names), hence not called slice numbers."""
    numbers = sorted({result.slice_index + 1 for result in study.slice_results})
    which = f"series position{'' if len(numbers) == 1 else 's'} {_number_ranges(numbers)}"
    analysed = len(study.slice_results)
    if study.series_length is None:
        coverage = (f"Coverage: {_slices(analysed)} analysed ({which}); the number of slices in the series was not "
                    "recorded.")
    else:
        coverage = f"Coverage: {analysed} of {_slices(study.series_length)} in the series analysed ({which})."
    pictures = study.series_info is None or study.series_info.from_pictures
    return f"{coverage} {PICTURES_ORDER}" if pictures else coverage


def skipped_lines(skipped: Sequence[SkippedFile], anonymise: bool) -> list[str]:
    """One line per file of the study that could not be opened: its name (core.output.anonymise) and why."""
    return [f"{name}: {reason}" for name, reason in skipped_files(skipped, anonymise)]


def _skipped_sentence(skipped: Sequence[SkippedFile]) -> str:
    if not skipped:
        return ""
    return (f"Not opened: {_count(len(skipped), 'file')} of the study could not be opened and "
            f"{'was' if len(skipped) == 1 else 'were'} not analysed (listed under \"{SKIPPED_HEADING}\" at the end "
            "of this report).")


def _places(results: Sequence[SliceResult], class_index: int) -> str:
    """Where a class's Grad-CAM peaks on `results`, grouped, most frequent place first: "in the upper left part of
    the image (patient's right side) on 2 of 3 slices; in ..."."""
    places = Counter(
        attention_summary(result.prediction.cam_for(class_index), result.orientation, result.display).describe()
        for result in results if result.prediction is not None
    )
    total = len(results)
    return "; ".join(f"in {place} on {count} of {total} slices" if total > 1 else f"in {place}"
                     for place, count in places.most_common())


def _attention_sentence(study: StudyResult) -> str:
    """Where the verdict class's Grad-CAM peaks, grouped over the counted slices, most frequent place first, and
    where the patient sides come from (`core.analysis.overlay`: the slices' recorded orientation, else none)."""
    verdict_index, verdict_label = study.verdict_index, study.verdict_label
    assert verdict_index is not None and verdict_label is not None  # only said of a study with a verdict
    counted = study.counted_results
    sentence = (f"The Grad-CAM attention for {study.display_name(verdict_label)} is greatest "
                f"{_places(counted, verdict_index)}.")
    if verdict_label == NOTUMOR:  # a place named beside "No tumour" must not read as a lesion's
        sentence += " This map shows where the model found evidence of a normal appearance, not a lesion."
    if all(result.orientation is None for result in counted):
        return sentence + (" The image orientation is not known for these slices, so no patient side is named: left "
                           "and right are the image's as displayed.")
    if not any(has_patient_sides(result.orientation) for result in counted):
        return sentence  # sagittal: no side to name, nothing to explain
    return sentence + " Patient sides are taken from each slice's recorded orientation, as its edge letters show."


def _disagreeing_attention_sentence(study: StudyResult) -> str:
    """Where the evidence lies on the counted slices that favour another class than the verdict, in that class's own
    map: when "No tumour" outvotes two glioma slices, the reader needs to know where on them the model saw one
    ("" when all slices agree)."""
    return " ".join(f"On the {'slice' if len(results) == 1 else _count(len(results), 'slice')} favouring "
                    f"{study.display_name(label)}, its attention is greatest "
                    f"{_places(results, study.classes.index(label))}."
                    for label, results in by_favoured_class(study.disagreeing_results).items())


def _excluded_sentence(study: StudyResult, anonymise: bool) -> str:
    """The slices not counted, grouped by reason, so a reason many slices share is said once; a group of more than
    `EXCLUDED_NAMED_AT_MOST` slices is given by count and series positions, so that a long list does not push the
    disclaimer and sign-off off page 1 (each slice's panel still names it)."""
    groups: dict[str, list[SliceResult]] = {}
    for result in study.out_of_distribution_results + study.failed_results:
        # "out of distribution — <reason>": the reasons hold parentheses of their own
        outcome = f"{slice_outcome_words(result, study.display_name)} — {slice_reason(result, anonymise)}"
        groups.setdefault(outcome, []).append(result)

    def which(results: list[SliceResult]) -> str:
        if len(results) <= EXCLUDED_NAMED_AT_MOST:
            return _names(results, anonymise)
        positions = sorted(result.slice_index + 1 for result in results)
        return f"{len(results)} slices (series positions {_number_ranges(positions)})"

    return " ".join(f"Not counted, {reason}: {which(results)}." for reason, results in groups.items())


def _runner_up_sentence(study: StudyResult, probabilities: np.ndarray) -> str:
    """The next most probable class; classes that print the same probability are named together rather than one
    picked at random ("Meningioma and Pituitary tumour (0.5% each)")."""
    ranked = sorted(range(len(study.classes)), key=lambda k: probabilities[k], reverse=True)[1:]
    shown = format_percent(probabilities[ranked[0]], REPORT_DECIMALS)
    tied = [k for k in ranked if format_percent(probabilities[k], REPORT_DECIMALS) == shown]
    names = [study.display_name(study.classes[k]) for k in tied]
    if len(names) == 1:
        return f"Next most probable class: {names[0]} ({shown})."
    return f"Next most probable classes: {', '.join(names[:-1])} and {names[-1]} ({shown} each)."


def findings_paragraphs(study: StudyResult, anonymise: bool, skipped: Sequence[SkippedFile] = ()) -> list[str]:
    """The findings text, filled in from the template with the model's numbers only (plain text, no markup);
    `skipped` are the study's files that could not be opened."""
    analysed = len(study.slice_results)
    paragraphs = [coverage_sentence(study)]
    if study.verdict_label is None:  # the sequence sentence weighs an answer: without one it would only confuse
        paragraphs += [f"No study-level result ({no_verdict_reason(study)}), so the model gives no class for this "
                       f"study ({_slices(analysed)} analysed)."]
    else:
        probabilities, verdict_probability = study.probabilities, study.verdict_probability
        assert probabilities is not None and verdict_probability is not None  # set with the verdict
        counted = study.counted_results
        paragraphs += [
            study.sequence_hint.sentence(anonymise),
            f"Model result: {study.display_name(study.verdict_label)}, mean calibrated probability "
            f"{format_percent(verdict_probability, REPORT_DECIMALS)} over {len(counted)} of {analysed} analysed "
            f"slices ({_names(counted, anonymise)}). {_runner_up_sentence(study, probabilities)}",
            _attention_sentence(study),
            f"{disagreement(study, anonymise, REPORT_DECIMALS)} {_disagreeing_attention_sentence(study)}".strip(),
        ]
    paragraphs += [_excluded_sentence(study, anonymise), _skipped_sentence(skipped)]
    return [paragraph for paragraph in paragraphs if paragraph]


def _file_name_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def suggested_file_name(study: StudyResult, options: ReportOptions) -> str:
    """e.g. "brain-mri-report_12345_2024-01-31_se4_20250101-0930.pdf" (the series number, so that the reports of a
    study's series differ by more than the minute); anonymised, only the series number and the report's own time."""
    info = study.series_info
    parts = ["brain-mri-report"]
    if info is not None:
        patient = shown_value(info, "patient_id", options.anonymise) or shown_value(info, "patient_name",
                                                                                     options.anonymise)
        parts += [_file_name_part(patient), _file_name_part(shown_value(info, "study_date", options.anonymise)),
                  _file_name_part(info.series_number and f"se{info.series_number}")]
    parts.append(options.timestamp().strftime("%Y%m%d-%H%M"))
    return "_".join(part for part in parts if part) + ".pdf"
