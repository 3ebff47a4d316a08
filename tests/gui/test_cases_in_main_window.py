"""Issue 7 features wired into the real MainWindow: save a case, reopen it exactly as saved (study, results, overlay
settings), the three-panel dock follows the viewer, and the model information dialog opens. No TensorFlow: the case
holds analysis doubles for the bundled sample study."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.analysis.overlay import OverlaySettings
from core.analysis.results import SliceResult, aggregate
from core.cases.store import DATA_DIR_ENV, CaseStore
from core.io.load import load_study
from desktop.dialogs.model_info_dialog import ModelInfoDialog
from desktop.panels import cases_panel
from desktop.panels.cases_panel import CaseDetails
from tests.analysis_doubles import ManifestDouble, prediction
from tests.gui.conftest import wait_shown

SAVED_OVERLAY = OverlaySettings(visible=True, opacity=0.7, threshold=0.35, colormap="inferno", class_index=2)


@pytest.fixture
def store(tmp_path: Path, monkeypatch) -> CaseStore:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))  # the window's store, never the user's
    return CaseStore()


def save_sample_case(store: CaseStore, sample_copy: Path) -> int:
    series = load_study(sample_copy).series[0]
    results = [SliceResult(slice_.label, slice_.index, None, prediction([0.1, 0.2, 0.6, 0.1]), slice_.path)
               for slice_ in series.slices[:3]]
    study_result = aggregate(results, ManifestDouble(), series_info=series.info)
    return store.save("Sample follow-up", study_result, sample_copy, SAVED_OVERLAY).case_id


def test_reopen_restores_study_results_and_overlay(qtbot, make_window, store, sample_copy, tmp_path) -> None:
    case_id = save_sample_case(store, sample_copy)
    window = make_window(tmp_path / "no-model")
    window.cases_dock.show()
    panel = window.cases_panel()
    assert [record.case_id for record in panel.records] == [case_id]
    panel.select_case(case_id)
    with qtbot.waitSignal(window.caseRestored, timeout=60_000):
        panel.reopen_button.click()
    restored = window.current_study_result()
    assert restored is not None and restored.verdict_label == "notumor"
    assert window.overlay_panel.settings() == SAVED_OVERLAY
    assert set(window.session.predictions()) == {0, 1, 2}
    assert all(result.display is not None for result in window.session.slice_results().values())

    window.three_panel_dock.show()
    window.viewer.set_current_index(1)
    wait_shown(qtbot, window.viewer)
    heatmap = window.three_panel.heatmap_pane.image()
    assert not heatmap.isNull() and window.three_panel.titles[2].text().startswith("Overlay — opacity 70%")
    window.viewer.set_current_index(5)  # not analysed
    wait_shown(qtbot, window.viewer)  # the three-panel view follows once the viewer has shown the slice
    assert window.three_panel.heatmap_pane.image().isNull()


def reopen(qtbot, window, case_id: int, restored: bool = True) -> None:
    window.cases_dock.show()
    panel = window.cases_panel()
    panel.select_case(case_id)
    if restored:
        with qtbot.waitSignal(window.caseRestored, timeout=60_000):
            panel.reopen_button.click()
    else:
        panel.reopen_button.click()


def test_a_file_added_to_the_study_since_does_not_move_the_results_to_other_slices(
        qtbot, make_window, store, sample_copy, tmp_path) -> None:
    case_id = save_sample_case(store, sample_copy)  # results on the first three files
    saved_files = [slice_.path.name for slice_ in load_study(sample_copy).series[0].slices[:3]]
    shutil.copy(sample_copy / saved_files[0], sample_copy / "A-first.jpg")  # sorts first: every position shifts
    window = make_window(tmp_path / "no-model")
    reopen(qtbot, window, case_id)
    series = window.session.current_series
    placed = sorted(window.session.slice_results())
    assert [series.slices[index].path.name for index in placed] == saved_files  # the files they were made from
    assert 0 not in placed  # nothing on the new file


def test_a_case_whose_analysed_file_was_removed_is_not_shown_on_the_changed_study(
        qtbot, make_window, store, sample_copy, tmp_path) -> None:
    case_id = save_sample_case(store, sample_copy)
    (sample_copy / load_study(sample_copy).series[0].slices[1].path.name).unlink()
    window = make_window(tmp_path / "no-model")
    reopen(qtbot, window, case_id, restored=False)
    qtbot.waitUntil(lambda: window.status_text.text().startswith("The case's study has changed"), timeout=60_000)
    assert window.current_study_result() is None and window.session.slice_results() == {}


def test_a_case_reopened_over_the_same_overlay_shows_its_explained_class_and_class_names(
        qtbot, make_window, store, sample_copy, tmp_path) -> None:
    """Renaming the classes resets the Explain box; when the session's overlay equals the case's there is no
    overlay event, and the box must still show the case's class (else the next slider move silently changed it)."""
    case = store.get(save_sample_case(store, sample_copy))
    window = make_window(tmp_path / "no-model")
    window.session.set_overlay(SAVED_OVERLAY)
    with qtbot.waitSignal(window.caseRestored, timeout=60_000):
        window.restore_case(case)
    assert window.overlay_panel.explained_class.currentIndex() == SAVED_OVERLAY.class_index + 1
    assert window.overlay_panel.explained_class.currentText() == "No tumour"  # a display name, not the id
    window.overlay_panel.opacity.setValue(50)
    assert window.session.overlay.class_index == SAVED_OVERLAY.class_index


def test_save_case_action_saves_the_shown_analysis(qtbot, make_window, store, sample_copy, tmp_path,
                                                    monkeypatch) -> None:
    window = make_window(tmp_path / "no-model")
    assert not window.save_case_action.isEnabled()
    case_id = save_sample_case(store, sample_copy)
    window.restore_case(store.get(case_id))
    qtbot.waitUntil(lambda: window.current_study_result() is not None, timeout=60_000)
    assert window.save_case_action.isEnabled()
    monkeypatch.setattr(cases_panel, "ask_case_details",
                        lambda parent, suggested: CaseDetails("Second look", "", False, False))
    window.save_case_action.trigger()
    assert [record.name for record in store.list()] == ["Second look", "Sample follow-up"]
    assert window.cases_dock.isVisible()


def test_model_information_opens_on_the_window_model_folder(qtbot, make_window, tmp_path) -> None:
    window = make_window(tmp_path / "no-model")
    window.model_info_action.trigger()
    dialog = window.findChild(ModelInfoDialog)
    assert dialog is not None and dialog.model_dir == tmp_path / "no-model" and "missing" in dialog.problem
    dialog.close()


def test_an_anonymised_case_without_a_study_path_is_explained(make_window, store, sample_copy, tmp_path) -> None:
    series = load_study(sample_copy).series[0]
    result = aggregate([SliceResult("a", 0, None, prediction([0.7, 0.1, 0.1, 0.1]))], ManifestDouble(),
                       series_info=series.info)
    case = store.get(store.save("Anon", result, sample_copy, OverlaySettings(), anonymised=True).case_id)
    window = make_window(tmp_path / "no-model")
    window.restore_case(case)
    assert "anonymised case" in window.status_text.text()


def test_a_data_folder_that_cannot_be_created_is_reported_when_the_cases_panel_opens(make_window, tmp_path,
                                                                                     monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a folder")
    monkeypatch.setenv(DATA_DIR_ENV, str(blocker / "data"))
    window = make_window(tmp_path / "no-model")
    window.cases_dock.show()  # opens the store: an error here must be reported, not reach the crash handler
    assert window.cases_panel() is None
    assert window.status_text.text() == ("The case history cannot be opened: The case store's folder "
                                         f"{blocker / 'data'} cannot be created: part of the path is a file, not a "
                                         "folder.")
