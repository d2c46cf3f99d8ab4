"""The web server never imports torch to show pages: only a launch's dataset check, an export or
an evaluation needs it (docs/architecture.md, "Torch only where tensors are"). Torch costs a
process seconds and hundreds of MB, and the app serves a whole team from one process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PAGES = """
import os, sys, tempfile
from pathlib import Path
home = Path(tempfile.mkdtemp())
os.environ["AUTOSPIKFORMER_HOME"] = str(home)
from storage.duckdb_store import DuckDBStore
from storage.paths import store_path
from tests.app.conftest import app_at, fill_store
store = DuckDBStore(store_path())
filled = fill_store(store, home)
store.close()
assert "torch" not in sys.modules
shown = []
for page, params in [
    ("runs", {}),
    ("runs", {"run": filled.run}),
    ("explorer", {"run": filled.run}),
    ("explorer", {"run": filled.run, "selection": filled.records[filled.evolution][0].id}),
    ("compare", {"run": filled.run}),
    ("leaderboards", {}),
    ("launch", {}),
    ("help", {}),
]:
    at = app_at(page, params)
    assert not at.exception, (page, at.exception)
    shown.append(page)
    assert "torch" not in sys.modules, f"showing {page} {params} imported torch"
print("shown:", ", ".join(shown))
"""


def test_showing_every_page_imports_no_torch() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PAGES], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        "shown: runs, runs, explorer, explorer, compare, leaderboards, launch, help" in done.stdout
    )
