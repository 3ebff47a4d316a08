"""A reopened case's results in the real MainWindow (no TensorFlow: the case holds analysis doubles for a DICOM
series with patient data): the slice table has room for a whole analysis, File → Export proposes a name from the
study (none of the patient's data when anonymising) in the folder of the last export, and the institution set in
File → Preferences heads the PDF report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QFileDialog

from core.analysis.overlay import OverlaySettings
from core.analysis.results import SliceResult, aggregate
from core.cases.store import DATA_DIR_ENV, CaseStore
from core.io.load import load_study
from desktop.dialogs.preferences_dialog import PreferencesDialog
from desktop.settings import read_preferences
from tests.analysis_doubles import ManifestDouble, prediction
from tests.dicom_factory import write_mr_series
from tests.gui.test_help_dialogs import open_dialog_of_type

pytest_plugins = ["tests.model_fixtures"]

PATIENT_NAME, PATIENT_ID = "Doe^Jane", "PID-4711"
ANALYSED = 12
EXPORT_TIMEOUT_MS = 120_000


@pytest.fixture
def reopened(qtbot, make_window, tiny_model_dir: Path, tmp_path: Path, monkeypatch):
    """A window showing a reopened case: 12 analysed slices of a 16-slice MR series of a named patient. The tiny
    model's manifest names the classes (its weights are never loaded)."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    return reopen_case(qtbot, make_window(tiny_model_dir), tmp_path, ood_reason="")


def reopen_case(qtbot, window, tmp_path: Path, ood_reason: str):
    """`window` showing the saved analysis of such a series, every slice out of distribution when `ood_reason`."""
    write_mr_series(tmp_path / "mr", n_slices=16, rows=64, cols=64, PatientName=PATIENT_NAME, PatientID=PATIENT_ID)
    series = load_study(tmp_path / "mr").series[0]
    results = [SliceResult(slice_.label, slice_.index, None, prediction([0.7, 0.1, 0.1, 0.1], ood_reason),
                           slice_.path)
               for slice_ in series.slices[2:2 + ANALYSED]]
    store = CaseStore()
    case_id = store.save("Follow-up", aggregate(results, ManifestDouble(), series_info=series.info),
                         tmp_path / "mr", OverlaySettings()).case_id
    window.cases_dock.show()
    panel = window.cases_panel()
    panel.select_case(case_id)
    with qtbot.waitSignal(window.caseRestored, timeout=60_000):
        panel.reopen_button.click()
    assert window.current_study_result() is not None and window.export_action.isEnabled()
    window.cases_dock.hide()
    return window


def fully_visible_rows(table) -> int:
    return sum(1 for row in range(table.rowCount())
               if table.rowViewportPosition(row) + table.rowHeight(row) <= table.viewport().height())


@pytest.mark.parametrize(("size", "rows_wanted"), [((1500, 920), ANALYSED), ((1280, 800), 9)])
def test_the_slice_table_has_room_for_a_whole_analysis(qtbot, reopened, size: tuple[int, int],
                                                       rows_wanted: int) -> None:
    window = reopened
    window.resize(*size)
    table = window.results_panel.table
    assert table.rowCount() == ANALYSED
    qtbot.waitUntil(lambda: fully_visible_rows(table) >= rows_wanted)  # default size: 12; laptop: the default 9
    assert window.results_panel.verdict.isVisible()  # above the table, in its own part of the splitter
    assert study_bars_fully_visible(window.results_panel)  # every class's probability without scrolling


def study_bars_fully_visible(panel) -> bool:
    area = panel.splitter.widget(0)  # the verdict part's scroll area
    bottom = panel.study_bars.mapTo(area.viewport(), QPoint(0, panel.study_bars.height())).y()
    return panel.study_bars.isVisible() and bottom <= area.viewport().height()


def test_a_case_saved_before_results_kept_orientations_gets_them_back_from_the_study(reopened) -> None:
    # The fixture's results carry no orientation, as cases saved by earlier versions; the reopened series has one.
    results = reopened.current_study_result().slice_results
    assert [result.orientation for result in results] == [(1.0, 0.0, 0.0, 0.0, 1.0, 0.0)] * ANALYSED
    assert all(result.display is not None for result in results)  # and the images, for the report


class SaveDialog:
    """Stands in for QFileDialog.getSaveFileName: records the proposed path, answers with `answer` as a PDF."""

    def __init__(self) -> None:
        self.proposed: list[Path] = []
        self.captions: list[str] = []
        self.answer: Path | None = None

    def __call__(self, _parent, caption, proposed, _filters, *args):
        self.proposed.append(Path(proposed))
        self.captions.append(caption)
        return str(self.answer), "PDF report (*.pdf)"


def wait_for_export(qtbot, window, path: Path) -> None:
    """Until the status bar says `path` is saved; a failed export ends the wait at once."""
    status = window.status_text.text
    qtbot.waitUntil(lambda: status() == f"Saved {path}" or status().startswith("The export failed"),
                    timeout=EXPORT_TIMEOUT_MS)
    assert status() == f"Saved {path}"


def export_through_the_menu(qtbot, window, dialog: SaveDialog, answer: Path) -> None:
    dialog.answer = answer
    window.export_action.trigger()
    wait_for_export(qtbot, window, answer)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_export_proposes_a_name_from_the_study_in_the_last_export_folder(qtbot, reopened, tmp_path: Path,
                                                                        monkeypatch) -> None:
    window = reopened
    dialog = SaveDialog()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    chosen = tmp_path / "exports" / "first.pdf"
    chosen.parent.mkdir()

    export_through_the_menu(qtbot, window, dialog, chosen)
    first = dialog.proposed[0]
    assert first.parent == Path.home()  # no export yet
    assert first.name.startswith(f"brain-mri-report_{PATIENT_ID}_") and first.suffix == ".pdf"

    window.anonymise_action.setChecked(True)
    export_through_the_menu(qtbot, window, dialog, tmp_path / "exports" / "second.pdf")
    anonymised = dialog.proposed[1]
    assert anonymised.parent == chosen.parent  # the folder of the last export
    assert anonymised.name.startswith("brain-mri-report_") and anonymised.suffix == ".pdf"
    for identifying in ("Doe", "Jane", "4711"):
        assert identifying not in anonymised.name
    # The dialog's title says whether the file will name the patient.
    assert "with patient identifiers" in dialog.captions[0] and "anonymised" in dialog.captions[1]

    window.stop_background_work()  # waits for the settings writer, as quitting does
    assert read_preferences().export_folder == str(chosen.parent)  # what the next session proposes


def test_the_institution_and_page_size_from_preferences_shape_the_report(qtbot, reopened, tmp_path: Path) -> None:
    window = reopened
    report = tmp_path / "plain.pdf"
    window.export(report)
    wait_for_export(qtbot, window, report)
    assert "Institution not set" in pdf_text(report)

    window.preferences_action.trigger()  # File → Preferences…
    dialog = open_dialog_of_type(qtbot, window, PreferencesDialog)
    assert dialog.institution.text() == ""
    assert float(PdfReader(report).pages[0].mediabox.width) == pytest.approx(595.3, abs=0.5)  # A4 by default
    dialog.institution.setText("  St. Elsewhere Radiology  ")
    dialog.page_size.setCurrentText("Letter")  # as the CLI's --page-size
    dialog.accept()
    assert window.preferences.institution == "St. Elsewhere Radiology"

    report = tmp_path / "headed.pdf"
    window.export(report)
    wait_for_export(qtbot, window, report)
    text = pdf_text(report)
    assert "St. Elsewhere Radiology" in text and "Institution not set" not in text
    assert float(PdfReader(report).pages[0].mediabox.width) == pytest.approx(612.0)

    window.stop_background_work()
    assert read_preferences().institution == "St. Elsewhere Radiology"  # kept for the next session
    assert read_preferences().page_size == "Letter"
    window.preferences_action.trigger()
    assert open_dialog_of_type(qtbot, window, PreferencesDialog).institution.text() == "St. Elsewhere Radiology"


def test_a_series_without_predictions_exports_its_report_and_json_but_no_secondary_capture(
        qtbot, make_window, tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """Export wrote nothing and said nothing when every slice was out of distribution."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    window = reopen_case(qtbot, make_window(tiny_model_dir), tmp_path, ood_reason="features unlike the training MRIs")
    assert not window.current_study_result().counted_results and window.export_action.isEnabled()
    for name in ("none.pdf", "none.json"):
        window.export(tmp_path / name)
        wait_for_export(qtbot, window, tmp_path / name)
    assert "No prediction" in pdf_text(tmp_path / "none.pdf")
    assert json.loads((tmp_path / "none.json").read_text(encoding="utf-8"))["studies"][0]["series"][0]["result"][
        "verdict"] is None

    assert window.export(tmp_path / "none.dcm") is None
    assert not (tmp_path / "none.dcm").exists()
    assert window.status_text.text().startswith("none.dcm was not written: No slice of this series has a prediction")
