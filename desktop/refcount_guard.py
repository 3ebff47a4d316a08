"""Workaround for a PySide6 6.12.0 bug on Python 3.11: bound methods that return None or a bool (every void setter,
`processEvents`, `Signal.emit`) hand back `None`/`True` without taking a reference. On Python ≥ 3.12 these
objects are immortal and nothing happens; on 3.11 each call removes one reference, and after some tens of thousands
of calls the interpreter aborts with "Fatal Python error: none_dealloc" (or bool_dealloc).

`SingletonReferenceGuard` measures whether the running PySide6 leaks, and if so keeps the reference counts of
None/True/False far from zero by holding extra references, topped up from a timer. It does nothing where the bug is
absent. The held references are never released, not even at interpreter exit (where releasing them would let the
missing references show up as the same crash). The proper fix is a PySide6 version without the bug (6.11.x is fine) or Python ≥ 3.12.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QTimer, Signal

_SINGLETONS = (None, True, False)
# Top up when a count falls under FLOOR; 8 bytes per held reference, so ~4 MB each at most per top-up.
FLOOR = 250_000
TARGET = 500_000
CHECK_INTERVAL_MS = 100
_PROBE_CALLS = 64


class _Probe(QObject):
    fired = Signal()


def pyside_leaks_singleton_references() -> bool:
    """True when void Qt calls or signal emits drop references to None/True (the 6.12.0 + Python 3.11 bug)."""
    probe = _Probe()
    before = [sys.getrefcount(value) for value in _SINGLETONS]
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
        probe.fired.emit()
    after = [sys.getrefcount(value) for value in _SINGLETONS]
    return any(old - new >= _PROBE_CALLS // 2 for old, new in zip(before, after, strict=True))


class SingletonReferenceGuard(QObject):
    """Holds extra references to None/True/False when (and only when) PySide6 leaks them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.active = pyside_leaks_singleton_references()
        self._held: list[object] = []
        if self.active:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(self._held))  # deliberately never freed (see module doc)
            self.top_up()
            self._timer = QTimer(self)
            self._timer.setInterval(CHECK_INTERVAL_MS)
            self._timer.timeout.connect(self.top_up)
            self._timer.start()

    def top_up(self) -> None:
        for value in _SINGLETONS:
            count = sys.getrefcount(value)
            if count < FLOOR:
                self._held.extend([value] * (TARGET - count))
