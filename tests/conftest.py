"""Shared fixtures. Every test runs under a socket guard: the application must never touch the network."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from core import logging_setup

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The CLI and the app write their log file under the user's state folder; the suite's go to a folder of its own.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="brainmri-tests-state-")
atexit.register(shutil.rmtree, os.environ["XDG_STATE_HOME"], ignore_errors=True)

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SAMPLES_ORIGINAL = SHARED_DATA / "samples-original"
DATASET_TAR = SHARED_DATA / "brain-mri-256" / "brainmri256.tar"


class NetworkAccessError(AssertionError):
    """Raised when code under test tries to open a network connection."""


def _refuse(*args, **kwargs):
    raise NetworkAccessError(f"network access attempted: {args!r}")


_ALLOWED_FAMILIES = {getattr(socket, "AF_UNIX", None)}


class _GuardedSocket(socket.socket):
    def connect(self, address):  # same contract as socket.socket
        if self.family not in _ALLOWED_FAMILIES:
            _refuse(address)
        return super().connect(address)

    def connect_ex(self, address):
        if self.family not in _ALLOWED_FAMILIES:
            _refuse(address)
        return super().connect_ex(address)


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch):
    """Make any TCP/UDP connection attempt in any test fail loudly (Unix sockets stay allowed for Qt/D-Bus)."""
    monkeypatch.setattr(socket, "socket", _GuardedSocket)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
    yield


@pytest.fixture(scope="session")
def samples_original() -> Path:
    """The 24 original test-split JPEGs in ../shared; skips cleanly where a clone has no shared folder."""
    if not SAMPLES_ORIGINAL.is_dir():
        pytest.skip("../shared/data/samples-original is not present")
    return SAMPLES_ORIGINAL


@pytest.fixture
def isolated_logging(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Undo everything configure_logging / install_crash_handler change, after the test."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_factory = logging.getLogRecordFactory()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(logging_setup, "_file_handler", None)
    logging_setup.clear_phi()
    yield tmp_path / "logs"
    logging_setup.clear_phi()
    logging.setLogRecordFactory(saved_factory)
    for handler in root.handlers:
        if handler not in saved_handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved_level)
    logging.captureWarnings(False)
