"""Another commit's tree beside this checkout, for benches that time both (torch-free, unlike
`bench/common.py`): `checkout` writes it out, `python_in` runs code in it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def checkout(rev: str, folder: Path) -> Path:
    """The tree of `rev` in `folder` (git archive: no worktree, nothing of ours touched)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def python_in(root: Path, code: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run `code` (`python -c`, with `args`) in a fresh process on the tree at `root`; return
    the JSON of its last output line."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=root,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(root)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])
