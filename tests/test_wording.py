"""core.output.wording: one set of words for a slice's outcome and a study's notes, whoever shows them."""

from __future__ import annotations

from core.analysis.outcome import SliceOutcome
from core.analysis.overlay import OverlaySettings
from core.analysis.results import aggregate
from core.io.load import SeriesInfo
from core.output.wording import (
    close_call,
    disagreement,
    disagreement_headline,
    format_percent,
    no_heatmap_reason,
    no_verdict_reason,
    overlay_look_words,
    sex_words,
    slice_heading,
    slice_outcome,
    slice_outcome_words,
    slice_probability,
    slice_problem,
    study_notes,
    verdict_cautions,
    verdict_text,
)
from tests.analysis_doubles import ManifestDouble, prediction, slice_result, study_result

COUNTED = slice_result(0, prediction([0.1, 0.7, 0.1, 0.1]))
OUT = slice_result(1, prediction([0.25] * 4, ood_reason="blank image"))
UNREADABLE = slice_result(2, None, error="pixel data is truncated")


def test_each_slice_has_one_outcome() -> None:
    assert [r.outcome for r in (COUNTED, OUT, UNREADABLE)] == list(SliceOutcome)


def test_a_slice_outcome_is_worded_the_same_for_every_reader() -> None:
    def name(label: str) -> str:
        return label.capitalize()

    assert [slice_outcome(r, name) for r in (COUNTED, OUT, UNREADABLE)] == [
        "Meningioma (70%)", "out of distribution (blank image)", "could not be read (pixel data is truncated)"]
    assert [slice_outcome_words(r, name) for r in (COUNTED, OUT, UNREADABLE)] == [
        "Meningioma", "out of distribution", "could not be read"]
    assert [slice_probability(r) for r in (COUNTED, OUT, UNREADABLE)] == ["70%", "—", "—"]
    assert slice_heading(COUNTED, name) == "slice_000.dcm: Meningioma 70.0%"
    assert slice_heading(OUT, name, anonymise=True) == "image 2: no prediction (out of distribution, not counted)"
    assert slice_heading(UNREADABLE, name) == "slice_002.dcm: could not be read"
    assert slice_problem(COUNTED) is None
    assert slice_problem(OUT) == ("Out of distribution — no prediction", "blank image")
    assert slice_problem(UNREADABLE) == ("Could not be read", "pixel data is truncated")
    assert no_heatmap_reason(COUNTED.prediction) == ""
    assert no_heatmap_reason(OUT.prediction) == "No heatmap: the slice was not classified (blank image)"


def test_a_probability_never_reads_as_certain_or_impossible() -> None:
    assert [format_percent(p) for p in (0.0, 0.004, 0.01, 0.5, 0.99, 0.996, 1.0)] == [
        "<1%", "<1%", "1%", "50%", "99%", ">99%", ">99%"]
    assert [format_percent(p, 1) for p in (0.0, 0.004, 0.9986, 0.9996, 1.0)] == [
        "<0.1%", "0.4%", "99.9%", ">99.9%", ">99.9%"]


def test_the_overlay_look_is_said_in_percent_of_the_peak() -> None:
    assert overlay_look_words(0.45, 0.2) == "opacity 45%, attention below 20% hidden"


def test_study_sentences() -> None:
    study = study_result([[0.8, 0.1, 0.05, 0.05], [0.2, 0.1, 0.1, 0.6]])
    assert verdict_text(study) == "Glioma 50%" and no_verdict_reason(study) == ""
    assert disagreement(study) == "The slices disagree: slice_001.dcm favours Pituitary tumour (60%)."
    assert study_notes(study)[-1] == disagreement(study)


def test_the_explained_class_is_the_users_choice_else_the_predicted_one() -> None:
    assert OverlaySettings().explain(COUNTED.prediction).class_index == 1
    chosen = OverlaySettings(class_index=3).explain(COUNTED.prediction)
    assert chosen.class_index == 3 and chosen.probability == 0.1 and chosen.weak is False


def test_patient_sex_is_given_in_words() -> None:
    assert [sex_words(code) for code in ("M", "F", "O", "o ", "", "X")] == ["male", "female", "other", "other", "", "X"]


def test_the_headline_beside_the_verdict_says_which_slices_favour_another_class() -> None:
    focal = study_result([[0.97, 0.01, 0.01, 0.01]] * 2 + [[0.02, 0.02, 0.94, 0.02]] * 7 + [[0.1, 0.6, 0.2, 0.1]])
    assert focal.verdict_label == "notumor"  # the mean over many healthy-looking slices outvotes the lesion
    assert disagreement_headline(focal) == ("Not all slices agree: of 10 counted slices, 2 favour Glioma (up to "
                                            "97%), 1 favours Meningioma (up to 60%).")
    assert disagreement_headline(study_result([[0.7, 0.1, 0.1, 0.1]] * 3)) == ""


def test_a_runner_up_close_behind_the_result_is_a_close_call() -> None:
    close = study_result([[0.49, 0.47, 0.02, 0.02]])
    assert close_call(close, 1) == "Close call: Meningioma (47.0%) is less than 10 points behind the result."
    assert verdict_cautions(close, 1)[0] == close_call(close, 1)
    assert close_call(study_result([[0.6, 0.3, 0.05, 0.05]])) == ""


def test_an_unvalidated_sequence_stands_beside_a_verdict_and_not_beside_none() -> None:
    flair = SeriesInfo(modality="MR", series_description="AX T2 FLAIR")
    assert verdict_cautions(study_result([[0.1, 0.1, 0.7, 0.1]], series_info=flair)) == [
        "Not validated on FLAIR: a tumour may be missed."]
    rejected = aggregate([slice_result(0, prediction([0.25] * 4, ood_reason="blank image"))], ManifestDouble(),
                         series_info=flair)
    assert verdict_cautions(rejected) == []  # no answer to weigh
    t1c = SeriesInfo(modality="MR", series_description="AX T1 +C")
    assert verdict_cautions(study_result([[0.7, 0.1, 0.1, 0.1]], series_info=t1c)) == []
    assert verdict_cautions(study_result([[0.7, 0.1, 0.1, 0.1]])) == [  # pictures: the sequence is not known
        "Sequence unknown: validated on contrast-enhanced T1 only; the tumour type and probability are uncertain."]
