"""The four classes the product knows, in the network's output order, and the one table of what a user reads for
each. A model release must list exactly these ids in this order (`core.model.classifier.ModelManifest.validate`)."""

from __future__ import annotations

CLASSES: tuple[str, ...] = ("glioma", "meningioma", "notumor", "pituitary")
DISPLAY_NAMES: tuple[str, ...] = ("Glioma", "Meningioma", "No tumour", "Pituitary tumour")
NOTUMOR = "notumor"
#: One colour per class, for bars, verdicts and the probability profile on screen and in the report; keyed by class
#: id so the manifest's order does not matter. They read on the window's dark panels and on the report's white page.
CLASS_COLOURS: dict[str, str] = {
    "glioma": "#e06c75",
    "meningioma": "#d19a66",
    "notumor": "#98c379",
    "pituitary": "#c678dd",
}


def display_name(label: str) -> str:
    """What a user reads for a class id ("notumor" → "No tumour"); an unknown id as it is."""
    return DISPLAY_NAMES[CLASSES.index(label)] if label in CLASSES else label
