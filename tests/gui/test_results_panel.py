"""The results panel on its own: the shown slice's row in the table of analysed slices, and tooltips that give a
narrow column's text whole."""

from __future__ import annotations

from core.io.load import SeriesInfo
from desktop.panels.results_panel import ResultsPanel
from desktop.theme import WARNING
from tests.analysis_doubles import ManifestDouble, prediction, slice_result, study_result


def test_the_shown_slices_row_is_highlighted_and_none_when_it_was_not_analysed(qtbot) -> None:
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    manifest = ManifestDouble()
    panel.set_classes(manifest.classes, manifest.display_names)
    results = [slice_result(index, prediction([0.7, 0.1, 0.1, 0.1])) for index in (3, 5, 8)]
    for result in results:
        panel.add_slice_result(result)
    panel.show_current_slice(5, True, results[1])
    assert [index.row() for index in panel.table.selectionModel().selectedRows()] == [1]
    panel.show_current_slice(6, False, None)
    assert panel.table.selectionModel().selectedRows() == []


def test_every_table_cell_can_be_read_whole_in_its_tooltip(qtbot) -> None:
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    manifest = ManifestDouble()
    panel.set_classes(manifest.classes, manifest.display_names)
    panel.add_slice_result(slice_result(0, prediction([0.25] * 4, ood_reason="blank image")))
    cells = [panel.table.item(0, column) for column in range(panel.table.columnCount())]
    assert [cell.toolTip() for cell in cells] == [cell.text() for cell in cells]
    assert cells[1].toolTip() == "Out of distribution"


def test_a_verdict_outvoting_some_slices_says_so_beside_it(qtbot) -> None:
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show()
    manifest = ManifestDouble()
    panel.set_classes(manifest.classes, manifest.display_names)
    t1c = SeriesInfo(modality="MR", series_description="AX T1 +C")
    panel.show_study_result(study_result([[0.97, 0.01, 0.01, 0.01]] * 2 + [[0.02, 0.02, 0.94, 0.02]] * 7, t1c))
    assert panel.caution_note.isVisible()
    assert panel.caution_note.text() == "Not all slices agree: of 9 counted slices, 2 favour Glioma (up to 97%)."
    assert WARNING.name() in panel.verdict.styleSheet()  # "No tumour" outvoting tumour slices is not shown in green
    panel.show_study_result(study_result([[0.49, 0.47, 0.02, 0.02]] * 3, t1c))
    assert panel.caution_note.text() == "Close call: Meningioma (47%) is less than 10 points behind the result."
    flair = SeriesInfo(modality="MR", series_description="AX T2 FLAIR")
    panel.show_study_result(study_result([[0.02, 0.02, 0.94, 0.02]] * 3, series_info=flair))
    assert panel.caution_note.text() == "Not validated on FLAIR: a tumour may be missed."
    assert WARNING.name() in panel.verdict.styleSheet()  # nor a "No tumour" on a sequence it is not validated on
    panel.show_study_result(study_result([[0.02, 0.02, 0.94, 0.02]] * 3, t1c))
    assert not panel.caution_note.isVisible() and WARNING.name() not in panel.verdict.styleSheet()
