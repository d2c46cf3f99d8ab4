"""docs/cli.md ships with the project and matches `--help`: regenerate it with
`python -m app.cli.docs --write` when a command changes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.cli import docs as cli_docs
from app.cli.commands import NAMES


def test_docs_cli_md_matches_the_argparse_definitions() -> None:
    assert cli_docs.TARGET.read_text() == cli_docs.render(), (
        "docs/cli.md is out of date: run `python -m app.cli.docs --write`"
    )


def test_every_command_has_a_section() -> None:
    text = cli_docs.TARGET.read_text()
    for name in NAMES:
        assert f"\n## {name}\n" in text and f"usage: autospikformer {name} " in text


@pytest.mark.parametrize("command", ["status", "delete"])
def test_a_section_is_what_help_prints(command: str) -> None:
    """The generator formats the same parser the command line runs (at the documented width)."""
    env = {**os.environ, "COLUMNS": str(cli_docs.WIDTH)}
    printed = subprocess.run(
        [sys.executable, "-m", "app.cli", command, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert f"```text\n{printed.rstrip()}\n```" in cli_docs.TARGET.read_text()


def test_the_readme_links_the_reference_not_the_shared_contract() -> None:
    readme = (cli_docs.TARGET.parents[1] / "README.md").read_text()
    assert "docs/cli.md" in readme and "../shared/CONTRACT.md" not in readme
