"""The installation self-test: passes end to end with a valid model, fails with a clear reason otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.selftest import run_self_test

pytest_plugins = ["tests.model_fixtures"]

STEPS = ["model", "sample study", "slice selection", "analysis", "overlay", "PDF report"]


def test_self_test_passes_and_writes_a_pdf(tiny_model_dir: Path, tmp_path: Path):
    report = run_self_test(tmp_path, model_dir=tiny_model_dir)
    assert report.passed, report.summary()
    assert [step.name for step in report.steps] == STEPS
    assert report.exit_code == 0
    assert report.pdf_path == tmp_path / "self-test-report.pdf" and report.pdf_path.read_bytes().startswith(b"%PDF-")
    assert "Self-test PASSED: 6 of 6 steps passed." in report.summary()


@pytest.mark.parametrize("damage, expected", [
    (lambda folder: (folder / "weights.npz").open("ab").write(b"\0"), "does not match the manifest"),
    (lambda folder: (folder / "weights.npz").unlink(), "missing"),
])
def test_damaged_model_fails_the_model_step_and_skips_analysis(tiny_model_dir: Path, tmp_path: Path, damage, expected):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    damage(model_dir)
    report = run_self_test(tmp_path / "out", model_dir=model_dir)
    assert report.exit_code == 1 and not report.passed
    by_name = {step.name: step for step in report.steps}
    assert not by_name["model"].passed and expected in by_name["model"].detail
    assert by_name["sample study"].passed  # independent steps still run and report
    assert by_name["analysis"].detail == "not run: an earlier step failed"
    assert "[FAIL] model" in report.summary() and "Self-test FAILED" in report.summary()
