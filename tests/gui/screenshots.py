"""Screenshots of the Cases panel and the three-panel view for the README (resources/screenshot_*.png), and page 1
of the sample study's PDF report (resources/report_example_page1.png).

    python -m tests.gui.screenshots [--out OUT_DIR] [--model-dir MODEL_DIR]

Offscreen, dark theme, a throw-away case store. The three-panel view shows the first sample slice analysed by the
shipped model (or the one in MODEL_DIR); without a model it stops rather than show an invented heatmap. The report
page is rasterised by poppler's `pdftoppm` (README names the package).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget

from core.analysis.overlay import OverlaySettings
from core.analysis.results import aggregate, analyse_slice, analyse_slices
from core.cases.store import CaseStore
from core.io.load import SeriesInfo, load_study
from core.model.classifier import Classifier
from core.output.pdf import write_pdf
from core.output.report import ReportOptions
from core.paths import resources_dir, sample_study_dir
from desktop.panels.cases_panel import CasesPanel
from desktop.theme import apply_dark_theme
from desktop.viewer.three_panel_view import ThreePanelView

# Invented, obviously fictitious patients for the example case list. The cases hold real analyses of the bundled
# sample slices (all test-split gliomas), so names and notes stay neutral rather than suggest other findings.
EXAMPLE_CASES = (
    ("Demo case A, first visit", "DEMO-0412", "20240131", "Demo data: CC0 test-split image."),
    ("Demo case A, follow-up", "DEMO-0412", "20240612", "Demo data: compare with first visit."),
    ("Demo case B", "DEMO-0977", "20240503", ""),
    ("Demo case C", "DEMO-1203", "20240520", "Demo data: second opinion requested."),
    ("Demo case D", "DEMO-0555", "20240528", "Demo data: coronal slice."),
)

# The report example's header: an invented patient and institution.
EXAMPLE_REPORT_PATIENT = SeriesInfo(patient_name="DEMO, CASE A (fictitious)", patient_id="DEMO-0412",
                                    study_date="2024-01-31", modality="MR")
EXAMPLE_INSTITUTION = "Example University Hospital – Neuroradiology"
REPORT_EXAMPLE_DPI = 60


def save_widget(widget: QWidget, path: Path) -> None:
    widget.show()
    QApplication.processEvents()
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"{path} ({path.stat().st_size // 1024} KB)")


def example_store(root: Path, classifier: Classifier) -> CaseStore:
    """A store holding one real analysis of each sample slice, saved under the example names and dates."""
    clock_time = [datetime(2024, 6, 14, 8, 5)]

    def clock() -> datetime:
        clock_time[0] += timedelta(minutes=47)
        return clock_time[0].astimezone()

    store = CaseStore(root, clock=clock)
    samples = sorted(sample_study_dir().glob("*.jpg"))
    for (name, patient_id, study_date, notes), sample in zip(EXAMPLE_CASES, samples, strict=False):
        slice_ = load_study(sample).series[0].slices[0]
        info = SeriesInfo(patient_id=patient_id, study_date=study_date, modality="MR")
        result = aggregate([analyse_slice(slice_, classifier)], classifier.manifest, series_info=info)
        store.save(name, result, sample, OverlaySettings(), notes=notes)
    return store


def save_report_example(classifier: Classifier, path: Path) -> None:
    """Page 1 of the PDF report of the whole sample study, as the CLI writes it, for the invented patient."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit("pdftoppm is missing: install poppler-utils to render the report example")
    series = load_study(sample_study_dir()).series[0]
    results = analyse_slices(series.slices, classifier)
    study = aggregate(results, classifier.manifest, series_info=EXAMPLE_REPORT_PATIENT,
                      series_length=len(series.slices))
    with tempfile.TemporaryDirectory() as work:
        pdf = Path(work) / "report.pdf"
        write_pdf(study, pdf, ReportOptions(institution=EXAMPLE_INSTITUTION))
        subprocess.run([pdftoppm, "-png", "-r", str(REPORT_EXAMPLE_DPI), "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(path.with_suffix(""))], check=True)
    print(f"{path} ({path.stat().st_size // 1024} KB)")


def take_screenshots(out_dir: Path, model_dir: Path | None) -> None:
    """Needs a QApplication that outlives this call (widgets must go before it)."""
    classifier = Classifier(model_dir)
    classifier.load()
    manifest = classifier.manifest
    with tempfile.TemporaryDirectory() as store_dir:
        panel = CasesPanel(example_store(Path(store_dir), classifier))
        panel.set_class_names(manifest.classes, manifest.display_names)
        panel.resize(720, 380)
        panel.select_case(panel.records[1].case_id)
        save_widget(panel, out_dir / "screenshot_cases.png")

    sample = sorted(sample_study_dir().glob("*.jpg"))[0]
    slice_ = load_study(sample).series[0].slices[0]
    result = analyse_slice(slice_, classifier)
    view = ThreePanelView()
    view.resize(1260, 500)
    view.show()
    view.set_slice(result.display, result.prediction, OverlaySettings(), manifest.display_names, slice_.label)
    view.heatmap_pane.zoom_by(1.25)  # shows that the three panels share zoom/pan
    save_widget(view, out_dir / "screenshot_three_panel.png")
    save_report_example(classifier, out_dir / "report_example_page1.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=resources_dir())
    parser.add_argument("--model-dir", type=Path, default=None)
    arguments = parser.parse_args()
    app = QApplication(sys.argv)
    apply_dark_theme(app)
    take_screenshots(arguments.out, arguments.model_dir)
