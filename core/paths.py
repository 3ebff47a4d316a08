"""Where bundled assets live, from the source tree and from a PyInstaller bundle alike."""

from __future__ import annotations

import sys
from pathlib import Path


def application_root() -> Path:
    """The folder holding `resources/` and `models/`: the bundle's data folder when frozen, else the repo root."""
    bundle_dir = getattr(sys, "_MEIPASS", None)
    if bundle_dir is not None:
        return Path(bundle_dir)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return application_root() / "resources"


def models_dir() -> Path:
    return application_root() / "models"


def sample_study_dir() -> Path:
    """The bundled sample study: six CC0 test-split glioma JPEGs (see resources/SAMPLE_STUDY.md)."""
    return resources_dir() / "sample_study"
