"""Checks before Qt starts on Linux/X11, so a missing system library or display gives a clear message instead of
Qt's abort ("no Qt platform plugin could be initialized").

Qt's xcb platform plugin loads these shared libraries from the system; a desktop install has them, a minimal or
server install often lacks some (libxcb-icccm4, libxcb-keysyms1 and libxcb-cursor0 most often). README names the
Debian/Ubuntu packages in one `apt install` line, the same table as here.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

# Shared library → Debian/Ubuntu package that provides it.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
}


class DesktopUnavailableError(RuntimeError):
    """The window cannot open on this machine; the message says why and what to do."""


def can_load(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def uses_xcb(environ: Mapping[str, str]) -> bool:
    """Whether Qt will use its X11 (xcb) plugin: Linux, and no other platform chosen."""
    platform = environ.get("QT_QPA_PLATFORM", "")
    return sys.platform.startswith("linux") and (platform.startswith("xcb") or
                                                 (not platform and not environ.get("WAYLAND_DISPLAY")))


def check_desktop_platform(environ: Mapping[str, str] = os.environ,
                           loadable: Callable[[str], bool] = can_load) -> None:
    """Raise `DesktopUnavailableError` when Qt's X11 plugin would abort: missing libraries, or no display."""
    if not uses_xcb(environ):
        return
    missing = sorted({package for library, package in XCB_LIBRARIES.items() if not loadable(library)})
    if missing:
        raise DesktopUnavailableError(
            "The window cannot open: system libraries that Qt needs for X11 are missing. Install them with\n"
            f"    sudo apt install {' '.join(missing)}\n"
            "(Debian/Ubuntu package names; README lists them all). The command-line tool brainmri-cli works "
            "without them.")
    if not environ.get("DISPLAY"):
        raise DesktopUnavailableError(
            "The window cannot open: no display (DISPLAY is not set). Start it from a desktop session, or use "
            "brainmri-cli, or set QT_QPA_PLATFORM=offscreen for a headless run.")
