"""The model release is one validated unit: an edited manifest is refused (CLI exit 3), and the shipped folder's
manifest must be byte-for-byte the released one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import core.model.classifier
from core.cli import EXIT_FAILED, main
from core.errors import ModelIntegrityError
from core.model.classifier import MANIFEST_NAME, RELEASED_MANIFEST_SHA256, Classifier, file_sha256
from core.paths import models_dir, sample_study_dir

pytest_plugins = ["tests.model_fixtures"]


def edit_manifest(folder: Path, change: Callable[[dict], object]) -> None:
    path = folder / MANIFEST_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def swap(data: dict, key: str) -> None:
    data[key][0], data[key][2] = data[key][2], data[key][0]


EDITS = {
    "negative temperature": (lambda d: d.update(temperature=-0.61), "temperature"),
    "zero temperature": (lambda d: d.update(temperature=0), "temperature"),
    "temperature as text": (lambda d: d.update(temperature="1"), "temperature"),
    "swapped display names": (lambda d: swap(d, "display_names"), "display names"),
    "swapped classes": (lambda d: swap(d, "classes"), "classes"),
    "an unknown class": (lambda d: d["classes"].__setitem__(3, "lymphoma"), "classes"),
    "OOD gate switched off": (lambda d: d.update(ood_file=""), "ood_file"),
    "no OOD checksum": (lambda d: d.update(ood_sha256=""), "ood_sha256"),
    "input size as text": (lambda d: d.update(input_size="256"), "input size"),
    "tiny input size": (lambda d: d.update(input_size=8), "input size"),
}


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    return folder


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_an_edited_manifest_is_refused_with_the_reason(model_copy: Path, edit: str) -> None:
    change, named = EDITS[edit]
    edit_manifest(model_copy, change)
    with pytest.raises(ModelIntegrityError, match="not valid") as raised:
        Classifier(model_copy).manifest
    assert named in str(raised.value)


def test_the_cli_exits_3_on_an_edited_manifest(model_copy: Path, capsys) -> None:
    edit_manifest(model_copy, lambda d: d.update(temperature=-0.61))
    status = main(["classify", str(sample_study_dir()), "--model-dir", str(model_copy)])
    error_text = capsys.readouterr().err
    assert status == EXIT_FAILED and "temperature" in error_text and "Traceback" not in error_text


def test_the_shipped_manifest_is_the_released_one() -> None:
    assert file_sha256(models_dir() / MANIFEST_NAME) == RELEASED_MANIFEST_SHA256, (
        "models/manifest.json changed: a new model release must update core.model.classifier.RELEASED_MANIFEST_SHA256")


def test_the_shipped_folder_refuses_any_other_valid_manifest(model_copy: Path, monkeypatch) -> None:
    """Even a change that passes validation (here only the creation date) is refused for the shipped folder."""
    edit_manifest(model_copy, lambda d: d.update(created="yesterday"))
    Classifier(model_copy).manifest  # valid, and not the shipped folder: accepted
    monkeypatch.setattr(core.model.classifier, "models_dir", lambda: model_copy)
    with pytest.raises(ModelIntegrityError, match="not the one released"):
        Classifier(model_copy).manifest
