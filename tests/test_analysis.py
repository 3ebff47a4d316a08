"""Slice-by-slice analysis and the study-level aggregation rule."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.results import AGGREGATION_RULE, ANALYSIS_BATCH, aggregate, iter_analysis
from core.output.wording import study_notes
from tests.analysis_doubles import (
    CLASSES,
    ClassifierDouble,
    ManifestDouble,
    SliceDouble,
    head_phantom,
    prediction,
    slice_result,
)

pytest_plugins = ["tests.model_fixtures"]


def test_iter_analysis_yields_one_result_per_slice_in_order() -> None:
    images = [head_phantom(64), head_phantom(64) // 2]
    classifier = ClassifierDouble([prediction([0.7, 0.1, 0.1, 0.1]), prediction([0.1, 0.7, 0.1, 0.1])])
    results = list(iter_analysis([SliceDouble(3, images[0]), SliceDouble(4, images[1])], classifier))
    assert [r.slice_index for r in results] == [3, 4]
    assert [r.prediction.label for r in results] == ["glioma", "meningioma"]
    assert all(seen is image for seen, image in zip(classifier.seen, images))
    assert results[0].display is images[0]


def test_undecodable_slice_becomes_an_error_result_and_analysis_goes_on() -> None:
    classifier = ClassifierDouble([prediction([0.7, 0.1, 0.1, 0.1])])
    results = list(iter_analysis([SliceDouble(0, None), SliceDouble(1, head_phantom(64))], classifier))
    assert results[0].prediction is None and results[0].display is None
    assert results[0].error == "pixel data is truncated"
    assert results[1].prediction.label == "glioma"


def test_cancel_stops_before_the_next_batch() -> None:
    classifier = ClassifierDouble([prediction([0.7, 0.1, 0.1, 0.1])] * 6)
    calls = iter(range(100))
    slices = [SliceDouble(i, head_phantom(32)) for i in range(6)]
    results = list(iter_analysis(slices, classifier, should_cancel=lambda: next(calls) >= 1, batch_size=2))
    assert [r.slice_index for r in results] == [0, 1]
    assert classifier.batch_sizes == [2]


def test_slices_reach_the_model_in_batches_and_results_come_one_per_slice_in_order() -> None:
    rows = [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.1, 0.7]] * 2
    classifier = ClassifierDouble([prediction(row) for row in rows])
    slices = [SliceDouble(i, head_phantom(32)) for i in range(9)]
    slices[5] = SliceDouble(5, None)  # unreadable: reported in its place, never sent to the model
    results = iter_analysis(slices, classifier, batch_size=4)
    first = next(results)
    assert first.slice_index == 0 and classifier.batch_sizes == [4]  # the first batch streams before the next runs
    results = [first, *results]
    assert classifier.batch_sizes == [4, 3, 1]
    assert [r.slice_index for r in results] == list(range(9))
    assert results[5].prediction is None and results[5].error == "pixel data is truncated"
    counted = [r for r in results if r.prediction is not None]
    assert [r.prediction.label for r in counted] == [CLASSES[i % 4] for i in range(8)]


def test_each_default_batch_is_one_pass_of_the_classifier() -> None:
    from core.model.classifier import PREDICT_BATCH

    classifier = ClassifierDouble([prediction([0.7, 0.1, 0.1, 0.1])] * 5)
    list(iter_analysis([SliceDouble(i, head_phantom(32)) for i in range(5)], classifier))
    remainder = [5 % ANALYSIS_BATCH] if 5 % ANALYSIS_BATCH else []
    assert classifier.batch_sizes == [ANALYSIS_BATCH] * (5 // ANALYSIS_BATCH) + remainder
    assert 1 < ANALYSIS_BATCH <= PREDICT_BATCH  # batched, and never split again inside the classifier


@pytest.mark.parametrize("model", ["tiny_classifier", "shipped_classifier"])
def test_batched_predictions_equal_single_ones(model: str, request: pytest.FixtureRequest) -> None:
    """The same slices, one request each or in one batch: the same probabilities, OOD scores and Grad-CAM maps."""
    from core.io.load import load_study
    from core.paths import sample_study_dir

    classifier = request.getfixturevalue(model)
    images = [s.display() for s in load_study(sample_study_dir()).series[0].slices] + [head_phantom(96)]
    single = [classifier.predict([image])[0] for image in images]
    batched = classifier.predict(images)
    for one, many in zip(single, batched, strict=True):
        np.testing.assert_allclose(many.probabilities, one.probabilities, atol=1e-5)
        np.testing.assert_allclose(many.cams, one.cams, atol=1e-5)
        assert many.ood_score == pytest.approx(one.ood_score, rel=1e-5) and many.label == one.label


def test_verdict_is_the_class_with_the_highest_mean_probability() -> None:
    # Two slices favour meningioma weakly, one favours glioma strongly: the mean decides, not a vote.
    rows = [[0.90, 0.05, 0.03, 0.02], [0.30, 0.40, 0.20, 0.10], [0.30, 0.40, 0.20, 0.10]]
    result = aggregate([slice_result(i, prediction(row)) for i, row in enumerate(rows)], ManifestDouble())
    np.testing.assert_allclose(result.probabilities, np.mean(rows, axis=0))
    assert result.verdict_label == "glioma"
    assert result.verdict_probability == pytest.approx(0.5)
    assert result.rule == AGGREGATION_RULE
    assert result.model_version == "1.2.0" and result.weights_sha256 == ManifestDouble().weights_sha256


def test_out_of_distribution_and_unreadable_slices_are_not_counted() -> None:
    results = [
        slice_result(0, prediction([0.1, 0.8, 0.05, 0.05])),
        slice_result(1, prediction([0.97, 0.01, 0.01, 0.01], ood_reason="not a brain MRI")),
        slice_result(2, None, error="pixel data is truncated"),
    ]
    study = aggregate(results, ManifestDouble())
    assert study.verdict_label == "meningioma"
    np.testing.assert_allclose(study.probabilities, [0.1, 0.8, 0.05, 0.05])
    assert [r.slice_index for r in study.counted_results] == [0]
    assert [r.slice_index for r in study.out_of_distribution_results] == [1]
    assert [r.slice_index for r in study.failed_results] == [2]
    notes = " ".join(study_notes(study))
    assert "1 of 3 analysed slices" in notes and "out of distribution" in notes and "could not be read" in notes


def test_no_prediction_when_every_slice_is_out_of_distribution() -> None:
    results = [slice_result(i, prediction([0.25] * 4, ood_reason="blank image")) for i in range(2)]
    study = aggregate(results, ManifestDouble())
    assert study.verdict_label is None and study.probabilities is None
    assert study.verdict_probability is None and study.disagreeing_results == []
    assert any("No study-level prediction" in note for note in study_notes(study))


def test_disagreeing_slices_are_flagged() -> None:
    rows = [[0.8, 0.1, 0.05, 0.05], [0.7, 0.2, 0.05, 0.05], [0.2, 0.1, 0.1, 0.6]]
    study = aggregate([slice_result(i, prediction(row)) for i, row in enumerate(rows)], ManifestDouble())
    assert study.verdict_label == "glioma"
    assert [r.slice_index for r in study.disagreeing_results] == [2]
    assert any("disagree" in note and "slice_002.dcm" in note for note in study_notes(study))


def test_agreeing_slices_are_not_flagged() -> None:
    rows = [[0.8, 0.1, 0.05, 0.05], [0.6, 0.2, 0.1, 0.1]]
    study = aggregate([slice_result(i, prediction(row)) for i, row in enumerate(rows)], ManifestDouble())
    assert study.disagreeing_results == []
    assert not any("disagree" in note for note in study_notes(study))


def test_display_names_come_from_the_manifest() -> None:
    study = aggregate([slice_result(0, prediction([0.1, 0.1, 0.7, 0.1]))], ManifestDouble())
    assert study.verdict_label == "notumor"
    assert study.display_name(study.verdict_label) == "No tumour"


def test_real_loader_and_shipped_classifier_end_to_end(shipped_classifier) -> None:
    from core.analysis.selection import central_slices
    from core.io.load import load_study
    from core.paths import sample_study_dir

    series = load_study(sample_study_dir()).series[0]
    results = list(iter_analysis(central_slices(series, 3), shipped_classifier))
    study = aggregate(results, shipped_classifier.manifest, series_info=series.info)
    assert len(results) == 3 and all(r.display is not None and r.prediction is not None for r in results)
    assert all(r.prediction.cams.shape[0] == 4 for r in results)
    assert study.model_version == shipped_classifier.manifest.version
    assert study.verdict_label == "glioma"  # the bundled samples are glioma test images
