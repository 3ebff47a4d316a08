"""The desktop starts with a missing or tampered model, says why, and keeps analysis disabled."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.gui.conftest import LOAD_TIMEOUT_MS, open_and_wait

pytest_plugins = ["tests.model_fixtures"]


def test_missing_model_disables_analysis_from_the_start(qtbot, make_window, tmp_path: Path, sample_copy: Path):
    window = make_window(tmp_path / "no-model")
    assert "Analysis unavailable" in window.results_panel.state.text()
    open_and_wait(qtbot, window, sample_copy)
    qtbot.waitUntil(lambda: bool(window.analysis_set()), timeout=LOAD_TIMEOUT_MS)
    assert not window.analyse_action.isEnabled()
    assert "manifest is missing" in window.results_panel.state.text()


def test_tampered_weights_are_refused_at_first_analysis_and_analysis_stays_disabled(
        qtbot, make_window, tiny_model_dir: Path, tmp_path: Path, sample_copy: Path):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    with (model_dir / "weights.npz").open("r+b") as weights:  # same size, one byte changed: only sha256 notices
        weights.seek(1000)
        byte = weights.read(1)
        weights.seek(1000)
        weights.write(bytes([byte[0] ^ 0xFF]))
    window = make_window(model_dir)
    open_and_wait(qtbot, window, sample_copy)
    qtbot.waitUntil(window.analyse_action.isEnabled, timeout=LOAD_TIMEOUT_MS)  # the manifest itself is fine
    window.analyse_action.trigger()
    qtbot.waitUntil(lambda: "does not match the manifest" in window.results_panel.state.text(),
                    timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.analyse_action.isEnabled() and window.isVisible(), timeout=LOAD_TIMEOUT_MS)
    assert window.classifier.is_loaded is False
