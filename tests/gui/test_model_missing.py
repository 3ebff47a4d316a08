"""The desktop starts with a missing or tampered model, says why, and keeps analysis disabled."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

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
        qtbot, make_window, tampered_model_dir: Path, sample_copy: Path):
    window = make_window(tampered_model_dir)
    open_and_wait(qtbot, window, sample_copy)
    qtbot.waitUntil(window.analyse_action.isEnabled, timeout=LOAD_TIMEOUT_MS)  # the manifest itself is fine
    window.analyse_action.trigger()
    qtbot.waitUntil(lambda: "does not match the manifest" in window.results_panel.state.text(),
                    timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.analyse_action.isEnabled() and window.isVisible(), timeout=LOAD_TIMEOUT_MS)
    assert window.classifier.is_loaded is False
    window.viewer.setFocus()
    QTest.keyClick(window.viewer, Qt.Key.Key_Down)  # still browsable
    assert window.viewer.current_index == 4
