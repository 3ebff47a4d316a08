"""Cine: the viewer plays through the slices of the shown series at a chosen frame rate, looping at the end as
Weasis, RadiAnt and Horos do.

A QTimer on the UI thread only moves the viewer's current slice, exactly as a key press would; slices decode as they
do when scrolling, and everything that follows the current slice (results, marks, three-panel view) follows cine.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QSpinBox

from desktop.viewer.slice_viewer import SliceViewer

DEFAULT_FPS = 8
MIN_FPS, MAX_FPS = 1, 30


def next_cine_index(index: int, count: int) -> int:
    """The slice after `index`, back to the first after the last (cine loops)."""
    return (index + 1) % count


class CinePlayer(QObject):
    """Plays the viewer's series; `playingChanged(bool)` also when playing stops by itself (no series to play)."""

    playingChanged = Signal(bool)

    def __init__(self, viewer: SliceViewer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer would play 8 fps unevenly
        self._timer.timeout.connect(self._advance)
        self.set_frame_rate(DEFAULT_FPS)

    def is_playing(self) -> bool:
        return self._timer.isActive()

    def set_frame_rate(self, fps: int) -> None:
        self._timer.setInterval(round(1000 / max(MIN_FPS, min(fps, MAX_FPS))))

    def set_playing(self, playing: bool) -> None:
        """Start or stop; a series of fewer than two slices has nothing to play, so playing stays off."""
        playing = playing and self._playable_count() > 1
        if playing:
            self._timer.start()
        else:
            self._timer.stop()
        self.playingChanged.emit(playing)

    def _playable_count(self) -> int:
        series = self._viewer.series
        return len(series) if series is not None else 0

    def _advance(self) -> None:
        count = self._playable_count()
        if count < 2:  # the series was closed or replaced by a single image while playing
            self.set_playing(False)
            return
        self._viewer.set_current_index(next_cine_index(self._viewer.current_index, count))


def frame_rate_box(player: CinePlayer) -> QSpinBox:
    """The toolbar's frame-rate control; it never takes the keyboard focus, so slice keys stay with the viewer."""
    box = QSpinBox()
    box.setRange(MIN_FPS, MAX_FPS)
    box.setValue(DEFAULT_FPS)
    box.setSuffix(" fps")
    box.setToolTip("Cine frame rate (slices per second)")
    box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    box.valueChanged.connect(player.set_frame_rate)
    return box
