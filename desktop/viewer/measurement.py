"""The line of the viewer's distance tool (Measure mode, key M): one line at a time, drawn with a left-drag.

The ends are kept in image pixel coordinates (x = column, y = row), so the line stays on the same anatomy through
zoom, pan and the aspect correction, and it belongs to the slice it was drawn on: it shows only there. Its length comes
from `core.viewing.measure`; the viewer draws it.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF

from core.viewing.measure import Distance, distance


class DistanceLine:
    """The measured line (None before the first drag or after `clear`) and whether the mouse is still drawing it."""

    def __init__(self) -> None:
        self.line: QLineF | None = None
        self.slice_index = -1
        self.dragging = False

    def begin(self, point: QPointF, slice_index: int) -> None:
        """A new line starts at `point`, replacing the previous one (the tool keeps one line, as a ruler does)."""
        self.line = QLineF(point, point)
        self.slice_index = slice_index
        self.dragging = True

    def extend(self, point: QPointF) -> None:
        if self.line is not None:
            self.line.setP2(point)

    def finish(self, point: QPointF) -> None:
        """The drag ends here; a click without a drag measures nothing, so it leaves no line."""
        self.extend(point)
        self.dragging = False
        if self.line is not None and self.line.length() == 0:
            self.clear()

    def clear(self) -> None:
        self.line = None
        self.slice_index = -1
        self.dragging = False

    def on_slice(self, slice_index: int) -> QLineF | None:
        """The line when it was drawn on slice `slice_index`, else None."""
        return self.line if self.line is not None and self.slice_index == slice_index else None

    def length(self, slice_index: int, pixel_spacing: tuple[float, float] | None) -> Distance | None:
        """The length of the line on slice `slice_index` (mm with a known spacing, else px); None when there is none."""
        line = self.on_slice(slice_index)
        if line is None:
            return None
        return distance((line.y1(), line.x1()), (line.y2(), line.x2()), pixel_spacing)
