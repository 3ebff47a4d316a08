"""Build the PyInstaller bundle, move a copy elsewhere and run its self-test with no Python on PATH.

A build takes 3-6 minutes and about 1 GB of memory on a 2-core machine, plus 1.6 GB of disk for the bundle and as
much for its copy. That fits CI's budget, but CI's environment has no PyInstaller (it is in the `build` extra) and
developers share their cores, so the test runs only when asked: BRAINMRI_BUILD_BUNDLE=1. installers/build_linux.sh
runs the same check after every build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BUILD_TIMEOUT_S = 3600

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("BRAINMRI_BUILD_BUNDLE") != "1",
                       reason="set BRAINMRI_BUILD_BUNDLE=1 to build the installer bundle (3-6 minutes)"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the build script is for Linux"),
]


def test_moved_bundle_passes_its_self_test_without_python(tmp_path: Path):
    model_dir = Path(os.environ.get("BRAINMRI_MODEL_DIR", REPO_ROOT / "models"))
    if not (model_dir / "manifest.json").is_file():
        pytest.skip(f"no model in {model_dir} to bundle")
    dist = tmp_path / "dist"
    subprocess.run(["bash", str(REPO_ROOT / "installers" / "build_linux.sh")], cwd=REPO_ROOT, check=True,
                   timeout=BUILD_TIMEOUT_S, env={**os.environ, "DIST": str(dist), "WORK": str(tmp_path / "work")})
    moved = tmp_path / "elsewhere" / "brainmri"
    shutil.copytree(dist / "brainmri", moved, symlinks=True)
    shutil.rmtree(dist)  # nothing may point back at the build location
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    env = {"HOME": str(tmp_path / "home"), "PATH": str(empty_bin), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([str(moved / "brainmri"), "--self-test"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Self-test PASSED" in done.stdout
    version = subprocess.run([str(moved / "brainmri-cli"), "--version"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("brainmri-cli ")
