"""The Model information dialog shows what the model folder says: a manifest, figures and model card with
distinctive values prove that nothing is hard-coded; what is missing shows as "not available"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.model import labels
from core.model.classifier import MANIFEST_NAME, ModelManifest
from desktop.dialogs.model_info_dialog import (
    FIGURES,
    MODEL_CARD_NAME,
    NOT_AVAILABLE,
    ModelInfoDialog,
    model_card_sections,
)

CLASSES = list(labels.CLASSES)
NAMES = list(labels.DISPLAY_NAMES)  # a release must use the product's own names (ModelManifest.problems)
WEIGHTS_SHA = "5eed" * 16
CARD = """# Model card: test

> **Interim test notice.** Made-up model for a test.

## Intended use
Only for testing the dialog (intended-use marker 4711).

## Model
Frobnicated Xception with 3 heads. Input 97×97.

## Data
The imaginary dataset Q (marker 0815).

![confusion matrices](confusion_matrix.png)

## Limitations
- Never use on real patients (limitation marker 2323).

## Results on data from elsewhere (what matters)
| set | glioma detection |
|---|---|
| external marker 5150 | 1/2 |
"""


def split(accuracy: float, images: int, called_notumor: int, recall: float) -> dict:
    return {"images": images, "correct": round(accuracy * images), "accuracy": accuracy,
            "accuracy_95ci": [accuracy - 0.0111, accuracy + 0.0111], "tumours_called_notumor": called_notumor,
            "per_class": {name: {"precision": 0.5, "recall": recall, "f1": 0.25, "auc": 0.975, "support": 10}
                          for name in CLASSES}}


def write_manifest(folder: Path, **changes) -> None:
    values = dict(
        name="distinct-net", version="9.8.7", classes=CLASSES, display_names=NAMES, input_size=97,
        preprocessing_id="prep-id-42", gradcam_layer="layer_under_test", temperature=1.2345,
        weights_file="w.npz", weights_sha256=WEIGHTS_SHA, training_data_sha256="da7a" * 16, created="2031-02-03",
        ood_file="gate.npz", ood_sha256="0dd5" * 16,
        metrics={"official": split(0.8765, 1311, 17, 0.6543), "deduplicated": split(0.7531, 999, 23, 0.4321),
                 "calibration": {"test_ece_before": 0.0987, "test_ece_after": 0.0123}},
        training={"parameter_count": 12345678})
    values.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    ModelManifest(**values).write(folder / MANIFEST_NAME)


def table_text(dialog: ModelInfoDialog, row: int, column: int) -> str:
    return dialog.metrics_table.item(row, column).text()


def test_every_value_comes_from_the_model_folder(qtbot, tmp_path: Path) -> None:
    write_manifest(tmp_path)
    (tmp_path / MODEL_CARD_NAME).write_text(CARD, encoding="utf-8")
    sizes = {"confusion_matrix.png": (123, 45), "roc_curves.png": (67, 89)}
    for file_name, (width, height) in sizes.items():
        Image.fromarray(np.full((height, width, 3), 200, np.uint8)).save(tmp_path / file_name)
    dialog = ModelInfoDialog(tmp_path)
    qtbot.addWidget(dialog)
    fields = {name: label.text() for name, label in dialog.fields.items()}
    assert fields["Model"] == "distinct-net 9.8.7"
    assert fields["Architecture"] == "Frobnicated Xception with 3 heads."
    assert fields["Input size"] == "97 × 97 pixels"
    assert fields["Classes"] == ("Glioma (glioma), Meningioma (meningioma), No tumour (notumor), "
                                 "Pituitary tumour (pituitary)")
    assert fields["Grad-CAM layer"] == "layer_under_test"
    assert fields["Parameters"] == "12,345,678"
    assert fields["Calibration temperature"] == "1.2345"
    assert "marker 0815" in fields["Training data"] and "png" not in fields["Training data"]
    assert fields["Weights sha256"] == WEIGHTS_SHA and fields["Training data sha256"] == "da7a" * 16
    assert table_text(dialog, 0, 0) == "1311" and table_text(dialog, 0, 1) == "999"
    assert table_text(dialog, 1, 0) == "87.65% (1149/1311); 95% CI 86.54%–88.76%"
    assert table_text(dialog, 1, 1).startswith("75.31%")
    assert (table_text(dialog, 2, 0), table_text(dialog, 2, 1)) == ("17", "23")
    assert dialog.metrics_table.verticalHeaderItem(3).text().startswith("Glioma:")
    assert table_text(dialog, 3, 0) == "0.500 / 0.654 / 0.250 / 0.975" and "0.432" in table_text(dialog, 6, 1)
    assert "0.0987" in dialog.calibration.text() and "0.0123" in dialog.calibration.text()
    for title, file_name in FIGURES.items():
        pixmap = dialog.figures[title].pixmap()
        assert (pixmap.width(), pixmap.height()) == sizes[file_name]
    text = dialog.use_and_limitations.toPlainText()
    assert "intended-use marker 4711" in text and "limitation marker 2323" in text
    assert "external marker 5150" in dialog.elsewhere.toPlainText()
    assert "Interim test notice" in dialog.notice.text()


def test_missing_fields_figures_and_card_show_not_available(qtbot, tmp_path: Path) -> None:
    write_manifest(tmp_path, metrics={}, training={}, training_data_sha256="")
    dialog = ModelInfoDialog(tmp_path)
    qtbot.addWidget(dialog)
    for name in ("Parameters", "Architecture", "Training data", "Training data sha256"):
        assert dialog.fields[name].text() == NOT_AVAILABLE, name
    assert dialog.fields["Grad-CAM layer"].text() == "layer_under_test"
    assert all(table_text(dialog, row, 0) == NOT_AVAILABLE for row in range(dialog.metrics_table.rowCount()))
    assert all(figure.text() == NOT_AVAILABLE for figure in dialog.figures.values())
    assert dialog.use_and_limitations.toPlainText().count(NOT_AVAILABLE) == 2
    assert dialog.elsewhere.toPlainText().count(NOT_AVAILABLE) == 2


def test_an_unreadable_manifest_is_explained(qtbot, tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    dialog = ModelInfoDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert "unreadable" in dialog.notice.text()
    assert dialog.fields["Model"].text() == dialog.fields["Weights sha256"].text() == NOT_AVAILABLE


@pytest.mark.parametrize("card, expected", [
    ("# T\n\nintro\n## A\none\n## B\ntwo\n", {"": "intro", "A": "one", "B": "two"}),
    ("no headings", {"": "no headings"}),
])
def test_model_card_sections(card: str, expected: dict) -> None:
    assert model_card_sections(card) == expected
