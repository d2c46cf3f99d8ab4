"""One line for every error a user can cause: a write that fails (an unwritable path, a file
system that refuses more bytes), a safetensors file that is not one, a store file that is not
ours, an argument that is not UTF-8 text. Each is one line on stderr, exit code 2, and changes
nothing."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# `searched`: a home with run `tiny`, trained and searched (the fixture of tests/test_cli.py).
from tests.test_cli import searched, snapshot  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def _run(home: Path, *args: str | bytes, limit_bytes: int | None = None):
    """`autospikformer ARGS` (bytes allowed) in a subprocess; with `limit_bytes`, no file it
    writes may grow past that (the write fails as on a full disk: EFBIG)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failing write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env={**os.environ, "AUTOSPIKFORMER_HOME": str(home), "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        timeout=600,
        preexec_fn=limit if limit_bytes else None,
    )


def _error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr.decode(errors="replace")[-2000:]
    stderr = done.stderr.decode(errors="replace")
    lines = [line for line in stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("/proc/x.safetensors", "error: /proc/x.safetensors: No such file or directory"),
        ("/sys/x.safetensors", "error: /sys/x.safetensors: Permission denied"),
        ("full", "x.safetensors: File too large"),
    ],
)
def test_an_export_whose_write_fails_is_one_line(searched, tmp_path, out, says) -> None:  # noqa: F811
    home, result = searched
    before = snapshot(home)
    target = tmp_path / "x.safetensors" if out == "full" else Path(out)
    args = ("export", "--run", "tiny", "--candidate", result["best"]["id"], "--out", str(target))
    done = _run(home, *args, limit_bytes=20_000 if out == "full" else None)
    assert says in _error(done)
    assert not target.exists()
    assert not list(tmp_path.iterdir())  # no temporary file left behind
    assert snapshot(home) == before


def test_a_corrupt_safetensors_file_for_evaluate(tmp_path: Path) -> None:
    import torch

    from engine.checkpoint import save_tensors

    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(os.urandom(300))
    assert _error(_run(tmp_path, "evaluate", "--checkpoint", str(garbage), "--dataset", "digits"))
    torn = tmp_path / "torn.safetensors"  # a complete header, half its tensors
    save_tensors(torn, {"w": torch.zeros(4096)}, {"kind": "subnet"})
    torn.write_bytes(torn.read_bytes()[: torn.stat().st_size // 2])
    line = _error(_run(tmp_path, "evaluate", "--checkpoint", str(torn), "--dataset", "digits"))
    assert line.startswith("error: corrupt checkpoint torn.safetensors:")


@pytest.mark.parametrize("form", ["separate", "joined"])
def test_a_title_that_is_not_utf8_is_refused(searched, form: str) -> None:  # noqa: F811
    home, _ = searched
    before = snapshot(home)
    title = [b"--title", b"caf\xe9"] if form == "separate" else [b"--title=caf\xe9"]
    args = [b"share", b"--run", b"tiny", b"--alpha", b"0.5", b"--top", b"3", *title]
    assert _error(_run(home, *args)) == "error: --title: b'caf\\xe9' is not UTF-8 text"
    assert snapshot(home) == before  # no leaderboard


def test_a_run_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    for command in (b"status", b"cancel", b"delete", b"candidates"):
        line = _error(_run(tmp_path, command, b"--run", b"\xff\xfe"))
        assert line == "error: --run: b'\\xff\\xfe' is not UTF-8 text"
    assert not (tmp_path / "store.duckdb").exists()


def test_a_store_file_that_is_not_ours(tmp_path: Path) -> None:
    import duckdb

    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "store.duckdb").write_bytes(os.urandom(5000))
    line = _error(_run(garbage, "candidates", "--run", "x", "--json"))
    assert "not a valid DuckDB database file" in line

    foreign = tmp_path / "foreign"  # another program's DuckDB database
    foreign.mkdir()
    con = duckdb.connect(str(foreign / "store.duckdb"))
    con.execute("CREATE TABLE schema_version (version INTEGER)")
    con.execute("INSERT INTO schema_version VALUES (3)")
    con.execute("CREATE TABLE runs (x INTEGER)")
    con.close()
    before = (foreign / "store.duckdb").read_bytes()
    for command in ("candidates", "status"):
        line = _error(_run(foreign, command, "--run", "x", "--json"))
        assert line.startswith("error: the store failed: Catalog Error:")
    assert (foreign / "store.duckdb").read_bytes() == before
