"""core.model.remote: the model in a helper process gives the in-process answers, reports model problems with
their file and reason, survives the helper dying, and keeps TensorFlow out of the calling process."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.errors import ClassifierProcessError, ModelIntegrityError, ModelMissingError, UnreadableFileError
from core.model.classifier import Classifier
from core.model.remote import ClassifierProcess
from tests.conftest import REPO_ROOT
from tests.synthetic_slices import head_like_slice

pytest_plugins = ["tests.model_fixtures"]


@pytest.fixture
def remote(tiny_model_dir: Path) -> Iterator[ClassifierProcess]:
    classifier = ClassifierProcess(tiny_model_dir)
    yield classifier
    classifier.close()


def images() -> list[np.ndarray]:
    return [head_like_slice(seed=seed) for seed in range(3)]


def test_answers_equal_the_in_process_classifier(remote: ClassifierProcess, tiny_classifier: Classifier) -> None:
    assert not remote.is_loaded and remote.pid is None  # nothing starts before it is needed
    assert remote.manifest == tiny_classifier.manifest  # read here, without the helper

    remote_predictions = remote.predict(images())
    local_predictions = tiny_classifier.predict(images())

    assert remote.is_loaded and remote.pid not in (None, os.getpid())
    assert len(remote_predictions) == 3
    for remote_prediction, local_prediction in zip(remote_predictions, local_predictions):
        np.testing.assert_allclose(remote_prediction.probabilities, local_prediction.probabilities, atol=1e-6)
        np.testing.assert_allclose(remote_prediction.cams, local_prediction.cams, atol=1e-5)
        assert remote_prediction.label == local_prediction.label
        assert remote_prediction.ood_reason == local_prediction.ood_reason


def test_close_ends_the_helper_and_a_later_call_starts_a_new_one(remote: ClassifierProcess) -> None:
    remote.load()
    first_pid = remote.pid
    remote.close()
    assert remote.pid is None and not remote.is_loaded
    with pytest.raises(ProcessLookupError):
        os.kill(first_pid, 0)  # really gone (joined, so not even a zombie)
    remote.close()  # closing twice is harmless

    assert len(remote.predict(images()[:1])) == 1
    assert remote.pid not in (None, first_pid)


def test_a_helper_that_dies_is_reported_then_restarted(remote: ClassifierProcess) -> None:
    remote.load()
    os.kill(remote.pid, signal.SIGKILL)  # as if the system ran out of memory mid-analysis

    with pytest.raises(ClassifierProcessError, match="analysis process stopped unexpectedly") as raised:
        remote.predict(images()[:1])
    assert raised.value.path == remote.model_dir
    assert remote.pid is None and not remote.is_loaded

    assert remote.predict(images()[:1])[0].probabilities.shape == (4,)


def test_close_does_not_wait_for_a_load_in_progress(remote: ClassifierProcess) -> None:
    """Quitting while the model loads (seconds) ends the helper at once; the loading call learns why."""
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            remote.load()
            outcome.append(None)
        except BaseException as error:  # handed to the test thread
            outcome.append(error)

    loader = threading.Thread(target=load)
    loader.start()
    deadline = time.monotonic() + 60
    while remote.pid is None and time.monotonic() < deadline:  # the child has started and is importing TensorFlow
        time.sleep(0.01)
    helper_pid = remote.pid
    remote.close()
    loader.join(60)

    assert not loader.is_alive()
    assert isinstance(outcome[0], ClassifierProcessError), outcome
    assert "closed before it answered" in outcome[0].reason
    assert not remote.is_loaded and remote.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(helper_pid, 0)


def test_missing_model_files_are_reported_with_their_path(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "weights.npz").unlink()
    remote = ClassifierProcess(folder)
    try:
        with pytest.raises(ModelMissingError) as raised:
            remote.load()
        assert raised.value.path == folder / "weights.npz" and "missing" in raised.value.reason
        assert not remote.is_loaded
    finally:
        remote.close()


def test_tampered_weights_are_refused_by_the_helper(tampered_model_dir: Path) -> None:
    remote = ClassifierProcess(tampered_model_dir)
    try:
        with pytest.raises(ModelIntegrityError, match="does not match the manifest"):
            remote.predict(images()[:1])
    finally:
        remote.close()


def test_errors_keep_their_type_file_and_reason_across_processes(tmp_path: Path) -> None:
    error = UnreadableFileError(tmp_path / "slice.dcm", "truncated pixel data")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is UnreadableFileError
    assert (copy.path, copy.reason, str(copy)) == (error.path, error.reason, str(error))


def test_the_calling_process_never_imports_tensorflow(tiny_model_dir: Path) -> None:
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from core.model.remote import ClassifierProcess\n"
            "from tests.synthetic_slices import head_like_slice\n"
            f"remote = ClassifierProcess(Path({str(tiny_model_dir)!r}))\n"
            "prediction = remote.predict([head_like_slice(seed=1)])[0]\n"
            "remote.close()\n"
            "assert prediction.probabilities.shape == (4,) and prediction.cams.shape[0] == 4\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=300)
