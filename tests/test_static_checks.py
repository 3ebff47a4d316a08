"""Lint and type checks run with the suite, so README's one test command is also the CI's lint and type gate.

The settings live in pyproject.toml ([tool.ruff], [tool.mypy]); both tools come with the `test` extra. A test is
skipped, not failed, where its tool is not installed (a bare environment without the extra).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

LINTED = ("core", "desktop", "tests")


def _run_tool(module: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *arguments], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=600)


def test_ruff_finds_nothing():
    result = _run_tool("ruff", "check", "--no-fix", "--output-format", "concise", *LINTED)
    assert result.returncode == 0, f"ruff findings:\n{result.stdout}{result.stderr}"


def test_mypy_finds_nothing_in_core():
    result = _run_tool("mypy")  # files, strictness and third-party settings: [tool.mypy] in pyproject.toml
    assert result.returncode == 0, f"mypy findings:\n{result.stdout}{result.stderr}"
