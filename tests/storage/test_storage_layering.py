"""`storage` stays on the ground floor: no engine, no training, queue or UI libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("engine", "tasks", "app", "torch", "celery", "streamlit")


def test_importing_storage_pulls_in_nothing_from_above() -> None:
    code = (
        "import sys\n"
        "import storage.base, storage.duckdb_store, storage.memory_store, storage.paths\n"
        f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
