"""`make test` never skips the browser test: without chromium it installs it (root with apt-get)
or stops with one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_make_browser_says_how_to_get_a_missing_chromium() -> None:
    done = subprocess.run(
        ["make", "-s", "browser", "CHROMIUM=/nonexistent/chromium", "APT_INSTALL=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert ours == [
        "error: /nonexistent/chromium is missing; install Debian's chromium "
        "(sudo apt-get install chromium) for the browser test"
    ], done.stderr


def test_make_browser_passes_when_chromium_is_there(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    done = subprocess.run(
        ["make", "-s", "browser", f"CHROMIUM={fake}", "APT_INSTALL=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
