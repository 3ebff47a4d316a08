"""The "Model information" dialog: what the model is, how it was trained and how well it did.

Every value is read from the model folder, none is written here: numbers from `models/manifest.json`
(`core.model.classifier.ModelManifest`), figures from the PNGs the evaluation saves beside it, and the prose
(architecture, data,
intended use, limitations) from the sections of the MODEL_CARD.md generated with it. Whatever is missing shows as
"not available".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core.errors import BrainMriError
from core.model.classifier import MANIFEST_NAME, ModelManifest

NOT_AVAILABLE = "not available"
MODEL_CARD_NAME = "MODEL_CARD.md"
# Figures core.training.evaluate saves beside the manifest.
FIGURES = {"Confusion matrices": "confusion_matrix.png", "ROC curves per class (one-vs-rest)": "roc_curves.png"}
SPLITS = {"official": "Official Testing split", "deduplicated": "De-duplicated Testing split"}
# The model card sections on generalisation, shown on their own tab: the figures that matter for images from other
# hospitals, where the official split's accuracy does not.
ELSEWHERE_SECTIONS = ("Results on data from elsewhere (what matters)", "Stress tests (official Testing subset)")
FIGURE_WIDTH = 640


# ----- reading the model folder (no Qt) ---------------------------------------------------------------------------


def model_card_sections(card_text: str) -> dict[str, str]:
    """The card's "## Title" sections by title (markdown bodies, trimmed); the text before the first one, minus the
    "# Model card" heading, is keyed "" (it holds notices such as the interim-model warning)."""
    sections: dict[str, str] = {}
    title, lines = "", []
    for line in card_text.splitlines():
        heading = re.fullmatch(r"##\s+(.+?)\s*", line)
        if heading:
            sections[title] = "\n".join(lines).strip()
            title, lines = heading.group(1), []
        elif not line.startswith("# "):
            lines.append(line)
    sections[title] = "\n".join(lines).strip()
    return sections


def without_images(markdown: str) -> str:
    """Markdown with image references removed (the figures have their own tab; relative paths would not resolve)."""
    return re.sub(r"!\[[^\]]*\]\([^)]*\)\s*", "", markdown).strip()


def first_sentence(text: str) -> str:
    """Up to the first full stop followed by white space (the card's Model section opens with the architecture)."""
    return re.split(r"(?<=\.)\s", text, maxsplit=1)[0].strip()


def notices(preamble: str) -> str:
    """The card's block-quoted notices ("> **Interim CPU-trained model.** ...") as plain markdown."""
    return "\n".join(line[1:].strip() for line in preamble.splitlines() if line.startswith(">")).strip()


def percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def accuracy_text(split: Mapping[str, Any]) -> str:
    if "accuracy" not in split:
        return NOT_AVAILABLE
    text = percent(split["accuracy"])
    if "correct" in split and "images" in split:
        text += f" ({split['correct']}/{split['images']})"
    if "accuracy_95ci" in split:
        low, high = split["accuracy_95ci"]
        text += f"; 95% CI {percent(low)}–{percent(high)}"
    return text


def class_metrics_text(split: Mapping[str, Any], class_name: str) -> str:
    row = split.get("per_class", {}).get(class_name)
    if not row:
        return NOT_AVAILABLE
    return " / ".join(f"{row[key]:.3f}" if key in row else "–" for key in ("precision", "recall", "f1", "auc"))


def value_or_missing(value: object) -> str:
    return NOT_AVAILABLE if value in (None, "") else str(value)


def parameter_count_text(manifest: ModelManifest) -> str:
    """From `manifest.training["parameter_count"]` (written by the evaluation script)."""
    count = manifest.training.get("parameter_count")
    return NOT_AVAILABLE if count is None else f"{int(count):,}"


# ----- widgets ----------------------------------------------------------------------------------------------------


def _selectable(text: str, monospace: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if monospace:
        label.setStyleSheet("font-family: monospace;")
    return label


def _markdown(text: str) -> QLabel:
    label = _selectable(text or NOT_AVAILABLE)
    label.setTextFormat(Qt.TextFormat.MarkdownText)
    return label


class ModelInfoDialog(QDialog):
    """Shows the model in `model_dir`. Built from a manifest that could not be read, it says why and shows every
    field as not available."""

    def __init__(self, model_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model information")
        self.resize(860, 700)
        self.model_dir = Path(model_dir)
        self.problem = ""
        self.manifest: ModelManifest | None = None
        try:
            self.manifest = ModelManifest.read(self.model_dir / MANIFEST_NAME)
        except BrainMriError as error:
            self.problem = error.reason
        card_path = self.model_dir / MODEL_CARD_NAME
        self.card = model_card_sections(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
        self.fields: dict[str, QLabel] = {}
        self.figures: dict[str, QLabel] = {}
        self.tabs = QTabWidget()
        self.tabs.addTab(self._model_tab(), "Model")
        self.tabs.addTab(self._elsewhere_tab(), "Data from elsewhere")
        self.tabs.addTab(self._performance_tab(), "Performance")
        self.tabs.addTab(self._scrolled(self._figures_tab()), "Figures")
        self.tabs.addTab(self._use_tab(), "Intended use and limitations")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        notice = self.problem or notices(self.card.get("", ""))
        if notice:
            self.notice = _markdown(notice)
            self.notice.setObjectName("disclaimer")
            layout.addWidget(self.notice)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

    # ----- tabs ----------------------------------------------------------------------------------------------------

    def _model_tab(self) -> QWidget:
        manifest = self.manifest
        rows: dict[str, str] = {
            "Model": NOT_AVAILABLE if manifest is None else f"{manifest.name} {manifest.version}",
            "Architecture": first_sentence(without_images(self.card.get("Model", ""))) or NOT_AVAILABLE,
            "Input size": (NOT_AVAILABLE if manifest is None
                           else f"{manifest.input_size} × {manifest.input_size} pixels"),
            "Preprocessing": NOT_AVAILABLE if manifest is None else manifest.preprocessing_id,
            "Classes": NOT_AVAILABLE if manifest is None else ", ".join(
                f"{shown} ({label})" for label, shown in zip(manifest.classes, manifest.display_names)),
            "Grad-CAM layer": NOT_AVAILABLE if manifest is None else manifest.gradcam_layer,
            "Parameters": NOT_AVAILABLE if manifest is None else parameter_count_text(manifest),
            "Calibration temperature": NOT_AVAILABLE if manifest is None else value_or_missing(manifest.temperature),
            "Training data": without_images(self.card.get("Data", "")) or NOT_AVAILABLE,
            "Training data sha256": NOT_AVAILABLE if manifest is None else value_or_missing(
                manifest.training_data_sha256),
            "Weights file": NOT_AVAILABLE if manifest is None else value_or_missing(manifest.weights_file),
            "Weights sha256": NOT_AVAILABLE if manifest is None else value_or_missing(manifest.weights_sha256),
            "Created": NOT_AVAILABLE if manifest is None else value_or_missing(manifest.created),
        }
        page = QWidget()
        form = QFormLayout(page)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        prose = {"Architecture", "Training data"}  # markdown from the model card
        for name, text in rows.items():
            label = _markdown(text) if name in prose else _selectable(text, monospace="sha256" in name)
            self.fields[name] = label
            form.addRow(f"{name}:", label)
        return self._scrolled(page)

    def _performance_tab(self) -> QWidget:
        metrics = {} if self.manifest is None else self.manifest.metrics
        classes = [] if self.manifest is None else list(zip(self.manifest.classes, self.manifest.display_names))
        rows = ["Images", "Accuracy", "Tumours called “no tumour”"] + [
            f"{shown}: precision / recall / F1 / AUC" for _, shown in classes]
        self.metrics_table = QTableWidget(len(rows), len(SPLITS))
        self.metrics_table.setHorizontalHeaderLabels(list(SPLITS.values()))
        self.metrics_table.setVerticalHeaderLabels(rows)
        self.metrics_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for column, key in enumerate(SPLITS):
            split = metrics.get(key, {})
            values = [value_or_missing(split.get("images")), accuracy_text(split),
                      value_or_missing(split.get("tumours_called_notumor"))]
            values += [class_metrics_text(split, label) for label, _ in classes]
            for row, text in enumerate(values):
                self.metrics_table.setItem(row, column, QTableWidgetItem(text))
        self.calibration = _selectable(self._calibration_text(metrics.get("calibration", {})))
        explanation = _selectable(
            "The official Testing split contains near-copies of training images; the de-duplicated split drops them. "
            "Both come from the same public collections as the training images, so neither says how the model does "
            "on images from elsewhere: see 'Data from elsewhere'.")
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.metrics_table, 1)
        layout.addWidget(explanation)
        layout.addWidget(self.calibration)
        return page

    @staticmethod
    def _calibration_text(calibration: Mapping[str, Any]) -> str:
        if "test_ece_before" not in calibration or "test_ece_after" not in calibration:
            return f"Calibration error: {NOT_AVAILABLE}"
        return (f"Expected calibration error on the official Testing split: {calibration['test_ece_before']:.4f} "
                f"before, {calibration['test_ece_after']:.4f} after temperature scaling.")

    def _figures_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        for title, file_name in FIGURES.items():
            heading = QLabel(title)
            heading.setObjectName("sectionTitle")
            figure = QLabel()
            pixmap = QPixmap(str(self.model_dir / file_name))
            if pixmap.isNull():
                figure.setText(NOT_AVAILABLE)
            else:
                figure.setPixmap(pixmap.scaledToWidth(min(FIGURE_WIDTH, pixmap.width()),
                                                      Qt.TransformationMode.SmoothTransformation))
            self.figures[title] = figure
            layout.addWidget(heading)
            layout.addWidget(figure)
        layout.addStretch(1)
        return page

    def _elsewhere_tab(self) -> QWidget:
        self.elsewhere = QTextBrowser()
        self.elsewhere.setOpenLinks(False)
        sections = (f"## {title}\n\n{without_images(self.card.get(title, '')) or NOT_AVAILABLE}"
                    for title in ELSEWHERE_SECTIONS)
        self.elsewhere.setMarkdown("\n\n".join(sections))
        return self.elsewhere

    def _use_tab(self) -> QWidget:
        self.use_and_limitations = QTextBrowser()
        self.use_and_limitations.setOpenLinks(False)
        parts = [(title, self.card.get(title, "")) for title in ("Intended use", "Limitations")]
        self.use_and_limitations.setMarkdown("\n\n".join(
            f"## {title}\n\n{without_images(text) or NOT_AVAILABLE}" for title, text in parts))
        return self.use_and_limitations

    @staticmethod
    def _scrolled(page: QWidget) -> QScrollArea:
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setWidget(page)
        return area
