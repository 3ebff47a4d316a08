"""The slice viewer's keys and mouse gestures: one table drives `SliceViewer.keyPressEvent` and the Help →
Keyboard shortcuts dialog."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt


def _page(count: int) -> int:
    """PageUp/PageDown move a tenth of the series."""
    return max(1, count // 10)


#: Keys the viewer handles itself, with what they do and the slice index they go to from (index, slice count). The
#: one table drives `SliceViewer.keyPressEvent` and the Help → Keyboard shortcuts dialog.
SLICE_KEYS: dict[Qt.Key, tuple[str, Callable[[int, int], int]]] = {
    Qt.Key.Key_Up: ("Previous slice", lambda index, count: index - 1),
    Qt.Key.Key_Down: ("Next slice", lambda index, count: index + 1),
    Qt.Key.Key_PageUp: ("Back a tenth of the series", lambda index, count: index - _page(count)),
    Qt.Key.Key_PageDown: ("Forward a tenth of the series", lambda index, count: index + _page(count)),
    Qt.Key.Key_Home: ("First slice", lambda index, count: 0),
    Qt.Key.Key_End: ("Last slice", lambda index, count: count - 1),
}
#: What the mouse does in the viewer (`SliceViewer.wheelEvent` and its mouse handlers), for the shortcuts dialog.
MOUSE_GESTURES = (
    ("Wheel", "Previous / next slice"),
    ("Ctrl+Wheel", "Zoom about the cursor"),
    ("Left-drag", "Pan (window/level in W/L drag mode; a distance line in Measure mode)"),
    ("Right-drag", "Window (sideways) and level (up and down)"),
)
