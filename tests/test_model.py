"""core.model.classifier: manifest and integrity checks, lazy TensorFlow import, Grad-CAM, temperature, shipped
accuracy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import ModelIntegrityError, ModelMissingError
from core.model.classifier import MANIFEST_NAME, Classifier, ModelManifest, softmax_with_temperature
from core.model.preprocess import HeadBox, head_box, head_mask, to_image_space
from tests.conftest import REPO_ROOT
from tests.synthetic_slices import head_like_slice

pytest_plugins = ["tests.model_fixtures"]


def test_importing_core_model_does_not_import_tensorflow(tiny_model_dir: Path) -> None:
    code = ("import sys, core, core.model.classifier, core.model.ood, core.model.preprocess, core.paths, core.errors\n"
            "from pathlib import Path\n"
            f"manifest = core.model.classifier.Classifier(Path({str(tiny_model_dir)!r})).manifest\n"
            "assert manifest.classes == ['glioma', 'meningioma', 'notumor', 'pituitary']\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=120)


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_tampered_weights_are_refused(tampered_model_dir: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="does not match the manifest"):
        Classifier(tampered_model_dir).load()


def test_tampered_ood_statistics_are_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = copy_model(tiny_model_dir, tmp_path / "model")
    with open(folder / "ood.npz", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ModelIntegrityError, match="out-of-distribution"):
        Classifier(folder).load()


def test_missing_files_raise_model_missing(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = copy_model(tiny_model_dir, tmp_path / "model")
    (folder / "weights.npz").unlink()
    with pytest.raises(ModelMissingError, match="weights"):
        Classifier(folder).load()
    with pytest.raises(ModelMissingError, match="manifest"):
        _ = Classifier(tmp_path / "nowhere").manifest


def test_other_preprocessing_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = copy_model(tiny_model_dir, tmp_path / "model")
    manifest = ModelManifest.read(folder / MANIFEST_NAME)
    replace(manifest, preprocessing_id="something-else").write(folder / MANIFEST_NAME)
    with pytest.raises(ModelIntegrityError, match="preprocessing"):
        Classifier(folder).load()


def test_predictions_have_calibrated_probabilities_and_cams(tiny_classifier: Classifier) -> None:
    images = [head_like_slice(seed) for seed in range(3)] + [np.dstack([head_like_slice(9)] * 3)]
    predictions = tiny_classifier.predict(images)
    assert len(predictions) == 4
    for prediction in predictions:
        assert prediction.probabilities.shape == (4,)
        assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        assert prediction.label == tiny_classifier.manifest.classes[prediction.predicted_index]
        assert prediction.ood_reason == ""
        assert prediction.cams.shape == (4, 64, 64) and prediction.cams.dtype == np.float32
        assert prediction.cams.min() >= 0.0 and prediction.cams.max() <= 1.0
        peaks = prediction.cams.max(axis=(1, 2))
        assert np.all(np.isclose(peaks, 1.0) | (peaks == 0.0))  # normalised, or all-zero stays zero
    maps = predictions[0].cams
    assert any(not np.allclose(maps[a], maps[b]) for a in range(4) for b in range(a + 1, 4)), "CAMs ignore the class"
    assert np.array_equal(predictions[0].cam_for(2), maps[2])


def test_cams_come_without_changing_probabilities(tiny_classifier: Classifier) -> None:
    images = [head_like_slice(seed) for seed in range(2)]
    with_cams = tiny_classifier.predict(images)
    without = tiny_classifier.predict(images, with_cams=False)
    for a, b in zip(with_cams, without):
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
        assert b.cams.shape == (4, 0, 0)


def test_batches_give_the_same_answer_as_single_images(tiny_classifier: Classifier) -> None:
    images = [head_like_slice(seed) for seed in range(20)]  # spans two internal batches
    batched = tiny_classifier.predict(images)
    single = tiny_classifier.predict(images[17:18])[0]
    np.testing.assert_allclose(batched[17].probabilities, single.probabilities, atol=1e-5)
    np.testing.assert_allclose(batched[17].cams, single.cams, atol=1e-4)


def test_temperature_is_applied(tiny_model_dir: Path, tiny_classifier: Classifier, tmp_path: Path) -> None:
    folder = copy_model(tiny_model_dir, tmp_path / "model")
    manifest = ModelManifest.read(folder / MANIFEST_NAME)
    replace(manifest, temperature=3.0).write(folder / MANIFEST_NAME)
    images = [head_like_slice(seed) for seed in range(2)]
    reference = tiny_classifier.predict(images)
    hotter = Classifier(folder).predict(images)
    for cold, hot in zip(reference, hotter):
        # softmax(z / 3) == softmax(log(softmax(z)) / 3): recover it from the T=1 probabilities.
        expected = softmax_with_temperature(np.log(cold.probabilities.astype(np.float64)), 3.0)
        np.testing.assert_allclose(hot.probabilities, expected, atol=1e-5)
        assert hot.probabilities.max() <= cold.probabilities.max() + 1e-7
        assert hot.predicted_index == cold.predicted_index


def test_out_of_distribution_inputs_get_no_label(tiny_classifier: Classifier) -> None:
    rng = np.random.default_rng(0)
    blank = np.full((300, 300), 128, np.uint8)
    noise = rng.integers(0, 256, (256, 256), dtype=np.uint8)
    photo = np.dstack([np.full((200, 200), 200, np.uint8), rng.integers(0, 120, (200, 200), dtype=np.uint8),
                       np.full((200, 200), 30, np.uint8)])
    for prediction in tiny_classifier.predict([blank, noise, photo]):
        assert prediction.label is None
        assert prediction.ood_reason.startswith("input does not look like a brain MRI slice")  # said once, there
        assert prediction.probabilities.shape == (4,)


def read_sample(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@pytest.mark.needs_shared
def test_shipped_model_on_original_sample_jpegs(shipped_classifier: Classifier, samples_original: Path) -> None:
    paths = sorted(samples_original.glob("*/*.jpg"))
    assert len(paths) == 24
    predictions = shipped_classifier.predict([read_sample(path) for path in paths])
    assert all(p.label is not None for p in predictions), [p.ood_reason for p in predictions if p.label is None]
    correct = sum(p.label == path.parent.name for p, path in zip(predictions, paths))
    # The floor is the count core.training.evaluate measured and wrote into the manifest and model card (24 is the
    # goal for the GPU model; an interim model may miss some): a drop means loading or preprocessing changed.
    recorded = shipped_classifier.manifest.metrics["samples_original"]["correct"]
    assert correct >= recorded, f"{correct}/24 correct, the model card says {recorded}/24"


def test_shipped_model_refuses_a_photograph(shipped_classifier: Classifier) -> None:
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        photo = cv2.cvtColor(cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR),
                             cv2.COLOR_BGR2RGB)
    prediction = shipped_classifier.predict([photo])[0]
    assert prediction.label is None


def test_the_cam_lands_on_the_head_it_explains_not_on_the_whole_picture(tiny_classifier: Classifier) -> None:
    """The model sees a crop around the head; its map must come back to that place on the displayed image."""
    head = head_like_slice(3)
    wide = np.zeros((256, 640), np.uint8)
    wide[:, 40:296] = head  # the head on the left, black on the right
    cams = tiny_classifier.predict([wide])[0].cams
    assert cams.shape == (4, 26, 64)  # the picture's aspect ratio, 64 cells on its long side
    box = head_box(head_mask(wide))  # the square the model's input was cropped from
    right_of_box = int(np.ceil((box.left + box.side) / 640 * 64))
    assert np.all(cams[:, :, right_of_box:] == 0.0)  # nothing over the empty right part
    assert cams[:, :, :right_of_box].max() > 0.5


def test_maps_are_placed_back_where_the_crop_came_from() -> None:
    maps = np.zeros((1, 4, 4), np.float32)
    maps[0, 0, 0] = 1.0  # the crop's top-left cell
    placed = to_image_space(maps, (200, 400), HeadBox(top=50, left=200, side=100), grid=40)
    assert placed.shape == (1, 20, 40)
    row, col = np.unravel_index(np.argmax(placed[0]), placed[0].shape)
    assert (row, col) == (5, 20)  # image pixel (55, 205): the crop's top-left corner
    assert placed[0, :5].max() == 0.0 and placed[0, :, :20].max() == 0.0  # above and left of the crop: nothing
