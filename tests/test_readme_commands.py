"""README.md's two commands are the contract with a fresh machine; CI must run the very same test command."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT


def _readme_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", readme)


def test_readme_has_exactly_two_commands_run_and_test():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    run_command, test_command = commands
    assert run_command.rstrip().endswith(".venv/bin/brainmri")
    assert "pytest" in test_command


def test_ci_runs_the_readme_test_command():
    test_command = _readme_commands()[1]
    ci_script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci_script.splitlines()
