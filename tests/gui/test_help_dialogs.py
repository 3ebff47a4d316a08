"""Help → Keyboard shortcuts lists every shortcut the window defines (generated, so it cannot drift); Help → About
names the application, its libraries and the installed model without importing TensorFlow."""

from __future__ import annotations

import sys
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest

import core
from core.model.classifier import MANIFEST_NAME, ModelManifest
from core.model.labels import CLASSES, DISPLAY_NAMES
from desktop.dialogs.help_dialogs import (
    COMMANDS_SECTION,
    MOUSE_SECTION,
    VIEWER_KEYS_SECTION,
    AboutDialog,
    ShortcutsDialog,
    about_rows,
)

WEIGHTS_SHA = "0123456789abcdef" * 4


def write_manifest(folder: Path) -> None:
    folder.mkdir(parents=True)
    ModelManifest(name="about-test-net", version="3.2.1", classes=list(CLASSES), display_names=list(DISPLAY_NAMES),
                  input_size=224, preprocessing_id="prep", gradcam_layer="layer", temperature=1.0,
                  weights_file="weights.npz", weights_sha256=WEIGHTS_SHA, training_data_sha256="", created="test",
                  ood_file="ood.npz", ood_sha256="f" * 64).write(folder / MANIFEST_NAME)


def open_dialog_of_type(qtbot, window, kind: type):
    qtbot.waitUntil(lambda: any(dialog.isVisible() for dialog in window.findChildren(kind)))
    return next(dialog for dialog in window.findChildren(kind) if dialog.isVisible())


def test_f1_lists_every_shortcut_of_the_window(qtbot, make_window) -> None:
    window = make_window()
    window.activateWindow()  # shortcuts reach the active window only
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(window, Qt.Key.Key_F1)
    dialog = open_dialog_of_type(qtbot, window, ShortcutsDialog)
    rows = dialog.rows()

    assert rows[0] == (COMMANDS_SECTION, "")
    for keys, what in [("Ctrl+O", "Open file"), ("Ctrl+Shift+O", "Open folder"), ("Ctrl+R", "Analyse"),
                       ("Ctrl+Shift+R", "Analyse all slices"), ("Esc", "Cancel"),
                       ("I", "Include this slice (on/off)"), ("H", "Show overlay (on/off)"),
                       ("T", "Corner text (on/off)"), ("R", "Reset view"), ("W", "W/L drag (on/off)"),
                       ("M", "Measure distance (on/off)"), ("P", "Cine (on/off)"),
                       ("Ctrl++, +, =", "Zoom in"), ("F1", "Keyboard shortcuts")]:
        assert (keys, what) in rows
    every_action = [action for action in window.findChildren(QAction) if action.shortcuts()]
    assert len(every_action) >= 15  # Quit has no standard shortcut on every platform
    for action in every_action:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        assert keys in {keys for keys, _ in rows}, action.text()
    assert (VIEWER_KEYS_SECTION, "") in rows and ("Up", "Previous slice") in rows and ("End", "Last slice") in rows
    assert (MOUSE_SECTION, "") in rows and ("Ctrl+Wheel", "Zoom about the cursor") in rows


def test_a_new_shortcut_appears_without_editing_the_dialog(qtbot, make_window) -> None:
    window = make_window()
    action = QAction("Compare with prior", window)
    action.setShortcut(QKeySequence("Ctrl+Shift+F12"))
    window.addAction(action)
    assert ("Ctrl+Shift+F12", "Compare with prior") in ShortcutsDialog(window).rows()


def test_about_names_versions_and_the_installed_model_without_tensorflow(qtbot, make_window, tmp_path: Path,
                                                                        monkeypatch) -> None:
    write_manifest(tmp_path / "model")
    window = make_window(tmp_path / "model")
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # any import of TensorFlow would now fail
    window.about_action.trigger()
    dialog = open_dialog_of_type(qtbot, window, AboutDialog)
    assert dialog.values == {
        "Application version": core.__version__,
        "Python": sys.version.split()[0],
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "Model": "about-test-net 3.2.1",
        "Weights sha256": "0123456789ab…",
    }
    assert dialog.windowTitle() == "About BrainMRI Assist"
    assert window.about_action in window.menuBar().actions()[-1].menu().actions()  # in the Help menu


def test_about_explains_a_missing_model(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window(tmp_path / "no-model")
    dialog = AboutDialog("BrainMRI Assist", lambda: window.classifier.manifest, window)
    assert dialog.values["Application version"] == core.__version__
    assert dialog.values["Model"].startswith("not available (the model manifest is missing")
    assert "Weights sha256" not in dialog.values


def test_about_explains_an_unreadable_manifest() -> None:
    def unreadable() -> ModelManifest:
        raise PermissionError(13, "Permission denied")

    assert dict(about_rows(unreadable))["Model"] == "not available (Permission denied)"
