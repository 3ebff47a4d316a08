"""The four classes the product knows, in the network's output order, and the one table of what a user reads for
each. A model release must list exactly these ids in this order (`core.model.ModelManifest.validate`)."""

from __future__ import annotations

CLASSES: tuple[str, ...] = ("glioma", "meningioma", "notumor", "pituitary")
DISPLAY_NAMES: tuple[str, ...] = ("Glioma", "Meningioma", "No tumour", "Pituitary tumour")
NOTUMOR = "notumor"
