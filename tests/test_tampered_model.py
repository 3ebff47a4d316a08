"""A tampered or incomplete model folder: the CLI names the problem on stderr and exits with status 3."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from core.cli import EXIT_FAILED, main
from core.paths import sample_study_dir

pytest_plugins = ["tests.model_fixtures"]


def append_a_byte(path: Path) -> None:
    with path.open("ab") as stream:
        stream.write(b"\0")


@pytest.mark.parametrize("damage, expected", [
    (lambda folder: append_a_byte(folder / "weights.npz"), "does not match the manifest"),
    (lambda folder: (folder / "weights.npz").unlink(), "weights file is missing"),
    (lambda folder: append_a_byte(folder / "ood.npz"), "does not match the manifest"),
    (lambda folder: (folder / "manifest.json").write_text("{not json", encoding="utf-8"), "manifest is unreadable"),
])
def test_cli_refuses_a_damaged_model_with_a_clear_error(tiny_model_dir: Path, tmp_path: Path, capsys,
                                                       damage: Callable[[Path], object], expected: str):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    damage(model_dir)
    status = main(["classify", str(sample_study_dir()), "--model-dir", str(model_dir)])
    error_text = capsys.readouterr().err
    assert status == EXIT_FAILED
    assert expected in error_text and "Traceback" not in error_text
