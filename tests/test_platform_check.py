"""A missing X11 library or display gives a clear message naming what to install, before Qt could abort."""

from __future__ import annotations

import subprocess
import sys

import pytest

from desktop.platform_check import XCB_LIBRARIES, DesktopUnavailableError, check_desktop_platform
from tests.conftest import REPO_ROOT

X11 = {"DISPLAY": ":0"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux-only")
def test_missing_libraries_are_named_with_their_packages() -> None:
    missing = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    with pytest.raises(DesktopUnavailableError) as raised:
        check_desktop_platform(X11, loadable=lambda library: library not in missing)
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1\n" in str(raised.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux-only")
def test_no_display_is_explained() -> None:
    with pytest.raises(DesktopUnavailableError, match="no display"):
        check_desktop_platform({}, loadable=lambda library: True)


def test_other_platforms_and_a_complete_system_pass() -> None:
    check_desktop_platform({"QT_QPA_PLATFORM": "offscreen"}, loadable=lambda library: False)
    check_desktop_platform(X11, loadable=lambda library: True)


def test_readme_names_every_package() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("sudo apt install libxcb"))
    assert set(line.split()[3:]) == set(XCB_LIBRARIES.values())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux-only")
def test_the_application_exits_with_the_message_instead_of_aborting() -> None:
    """Run the real entry point with X11 chosen and no display: a message and exit status 1, never a Qt abort."""
    code = "import sys\nfrom desktop.app import main\nsys.exit(main([]))\n"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "The window cannot open" in done.stderr and "Aborted" not in done.stderr
