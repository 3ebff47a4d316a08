"""The Cases panel over a real CaseStore in tmp_path: save, list, search, reopen, edit notes and delete a case."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from core.analysis.overlay import OverlaySettings
from core.cases import files as case_files
from core.cases.store import CaseStore
from desktop.panels import cases_panel
from desktop.panels.cases_panel import RESULT_COLUMN, CaseDetails, CasesPanel, SaveCaseDialog
from tests.test_cases import CLASSES, DAMAGES, OVERLAY, PATIENT_ID, assert_same, make_study_result

DISPLAY_NAMES = ("Glioma", "Meningioma", "No tumour", "Pituitary tumour")
SOURCE = Path("/studies/anon/MR_HEAD")


@pytest.fixture
def panel(qtbot, tmp_path: Path) -> CasesPanel:
    widget = CasesPanel(CaseStore(tmp_path / "store"))
    widget.set_class_names(CLASSES, DISPLAY_NAMES)
    qtbot.addWidget(widget)
    return widget


def answer_save_dialog(monkeypatch, name: str, notes: str = "", anonymised: bool = False) -> None:
    details = CaseDetails(name, notes, copy_slice_images=True, anonymised=anonymised)
    monkeypatch.setattr(cases_panel, "ask_case_details", lambda parent, suggested: details)


def save(panel: CasesPanel, monkeypatch, name: str, verdict: str | None = "glioma", study_date: str = "20240131",
         notes: str = ""):
    answer_save_dialog(monkeypatch, name, notes)
    return panel.save_case(make_study_result(verdict=verdict, study_date=study_date), SOURCE, OVERLAY)


def shown_column(panel: CasesPanel, column: int) -> list[str]:
    return [panel.table.item(row, column).text() for row in range(panel.table.rowCount())]


def search_for(qtbot, panel: CasesPanel, text: str, expected_rows: int) -> None:
    panel.search.setText(text)  # the query runs once typing pauses
    qtbot.waitUntil(lambda: panel.table.rowCount() == expected_rows and panel.count_label.text() != "", timeout=2000)


def test_saved_case_is_listed_with_display_names_and_selected(panel: CasesPanel, monkeypatch, qtbot) -> None:
    assert "No saved cases yet" in panel.count_label.text()
    with qtbot.waitSignal(panel.caseSaved) as saved:
        record = save(panel, monkeypatch, "Left frontal lesion", notes="compare with March")
    assert saved.args[0] == record
    assert panel.store.list() == [record]
    row_texts = [panel.table.item(0, column).text() for column in range(panel.table.columnCount())]
    assert row_texts == ["Left frontal lesion", "Glioma", PATIENT_ID, "2024-01-31", row_texts[4]]
    assert panel.selected_case_id() == record.case_id
    assert panel.notes_preview.text() == "<b>Notes — Left frontal lesion:</b> compare with March"
    assert panel.count_label.text() == "1 saved case"


def test_search_by_name_patient_id_date_and_result(panel: CasesPanel, monkeypatch, qtbot) -> None:
    save(panel, monkeypatch, "Alpha", verdict="glioma", study_date="20240131")
    save(panel, monkeypatch, "Beta", verdict="pituitary", study_date="20230615")
    save(panel, monkeypatch, "Gamma", verdict=None, study_date="20230615")
    assert shown_column(panel, 0) == ["Gamma", "Beta", "Alpha"]  # newest first
    assert shown_column(panel, RESULT_COLUMN) == ["No prediction", "Pituitary tumour", "Glioma"]
    search_for(qtbot, panel, "beta", 1)
    assert shown_column(panel, 0) == ["Beta"]
    search_for(qtbot, panel, "2023-06-15", 2)
    assert shown_column(panel, 0) == ["Gamma", "Beta"]
    search_for(qtbot, panel, "pituitary", 1)
    search_for(qtbot, panel, PATIENT_ID.lower(), 3)
    search_for(qtbot, panel, "nothing-like-this", 0)
    assert panel.count_label.text() == "No case matches “nothing-like-this”"
    assert not panel.reopen_button.isEnabled() and not panel.delete_button.isEnabled()


def test_reopen_emits_the_case_exactly_as_saved(panel: CasesPanel, monkeypatch, qtbot) -> None:
    record = save(panel, monkeypatch, "Follow-up", notes="stable")
    expected = panel.store.get(record.case_id)
    with qtbot.waitSignal(panel.caseReopened) as reopened:
        panel.table.cellDoubleClicked.emit(0, 0)
    case = reopened.args[0]
    assert_same(case, expected, "case")
    assert case.overlay_settings == OVERLAY and case.notes == "stable"
    assert case.study.source_path == str(SOURCE)


def test_edit_notes_updates_the_store_and_the_preview(panel: CasesPanel, monkeypatch) -> None:
    record = save(panel, monkeypatch, "Notes case", notes="first")
    monkeypatch.setattr(cases_panel, "ask_notes", lambda parent, name, notes: notes + " — reviewed")
    panel.notes_button.click()
    assert panel.store.notes(record.case_id) == "first — reviewed"
    assert panel.notes_preview.text().endswith("first — reviewed")


@pytest.mark.parametrize("answer, remaining", [(QMessageBox.StandardButton.Cancel, 1),
                                               (QMessageBox.StandardButton.Yes, 0)])
def test_delete_asks_first(panel: CasesPanel, monkeypatch, answer, remaining: int) -> None:
    save(panel, monkeypatch, "To delete")
    questions: list[str] = []

    def ask(parent, title, text, *args):
        questions.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", ask)
    panel.delete_button.click()
    assert len(questions) == 1 and "To delete" in questions[0] and "cannot be undone" in questions[0]
    assert len(panel.store.list()) == remaining == panel.table.rowCount()


def test_a_refused_save_is_reported_and_nothing_is_stored(panel: CasesPanel, monkeypatch) -> None:
    answer_save_dialog(monkeypatch, f"Case of {PATIENT_ID}", anonymised=True)  # an anonymised case naming the patient
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *args: warnings.append(text))
    assert panel.save_case(make_study_result(), SOURCE, OverlaySettings()) is None
    assert len(warnings) == 1 and "anonymised" in warnings[0]
    assert panel.store.list() == []


def test_a_save_the_disk_refuses_is_reported_and_nothing_is_stored(panel: CasesPanel, monkeypatch) -> None:
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(case_files, "write_file", denied)  # a read-only store (chmod would not stop root)
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *args: warnings.append(text))
    assert save(panel, monkeypatch, "Read-only") is None
    assert warnings == [f"The case could not be saved in {panel.store.cases_dir}: permission denied."]
    assert panel.store.list() == []


@pytest.mark.parametrize("damage", ["cams truncated", "case file a list"])
def test_reopening_a_damaged_case_is_reported_and_the_list_stays(panel: CasesPanel, monkeypatch, qtbot,
                                                                 damage: str) -> None:
    damaged = save(panel, monkeypatch, "Damaged")
    save(panel, monkeypatch, "Intact")
    DAMAGES[damage][0](damaged.folder)
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *args: warnings.append(text))
    reopened: list[object] = []
    panel.caseReopened.connect(reopened.append)

    panel.select_case(damaged.case_id)
    assert panel.reopen_selected() is None

    assert reopened == [] and len(warnings) == 1
    assert warnings[0].startswith(f"Case {damaged.case_id} cannot be reopened. The case is damaged")
    panel.refresh()
    assert shown_column(panel, 0) == ["Intact", "Damaged"]


def test_save_dialog_needs_a_name_and_returns_what_was_typed(qtbot) -> None:
    dialog = SaveCaseDialog("MRI BRAIN T1 AX POST")
    qtbot.addWidget(dialog)
    save_button = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert save_button.isEnabled()
    dialog.name.setText("   ")
    assert not save_button.isEnabled()
    dialog.name.setText(" Lesion ")
    dialog.notes.setPlainText("check in 3 months")
    dialog.anonymised.setChecked(True)
    assert dialog.details() == CaseDetails("Lesion", "check in 3 months", copy_slice_images=True, anonymised=True)
