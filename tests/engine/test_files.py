"""Atomic writes: complete files only, the folder flushed after the rename, and what a killed
writer leaves behind swept."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import files

REPO = Path(__file__).resolve().parents[2]

# Starts an atomic write whose content never finishes, says where, and waits to be killed.
KILLED_WRITER = """
import sys, time
from pathlib import Path
from engine.files import atomic_write

def write(tmp: Path) -> None:
    tmp.write_bytes(b"half a checkpoint")
    print(tmp, flush=True)
    time.sleep(600)

atomic_write(Path(sys.argv[1]), write)
"""


def killed_writer(target: Path) -> Path:
    """kill -9 a process in the middle of `atomic_write(target, ...)`; its temporary file."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    tmp = Path(proc.stdout.readline().strip())
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert tmp.exists() and not target.exists()
    return tmp


@pytest.mark.parametrize("data", ["text é", b"\x00bytes", "callable"])
def test_atomic_write_installs_the_whole_file_and_leaves_no_temporary(tmp_path, data) -> None:
    target = tmp_path / "a" / "b" / "file.bin"
    if data == "callable":
        files.atomic_write(target, lambda tmp: tmp.write_bytes(b"from a writer"))
        assert target.read_bytes() == b"from a writer"
    else:
        files.atomic_write(target, data)
        expected = data.encode() if isinstance(data, str) else data
        assert target.read_bytes() == expected
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]


def test_a_failed_write_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    files.atomic_write(target, "old")

    def fails(tmp: Path) -> None:
        tmp.write_text("partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        files.atomic_write(target, fails)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_the_folder_is_flushed_after_the_rename(tmp_path: Path, monkeypatch) -> None:
    """fsync of the file, then the rename, then fsync of its folder (the rename is durable)."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, Path.replace

    def fsync(fd: int) -> None:
        calls.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def replace(self: Path, target):  # noqa: ANN001
        calls.append("rename")
        return real_replace(self, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "replace", replace)
    files.atomic_write(tmp_path / "x.json", "{}")
    assert calls == ["file", "rename", "folder"]


def test_a_killed_writers_temporary_file_is_swept(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "r" / "checkpoints" / "epoch-0001.safetensors"
    target.parent.mkdir(parents=True)
    tmp = killed_writer(target)
    assert files.sweep_temporaries(tmp_path) == [tmp]
    assert not tmp.exists()


def test_sweep_keeps_live_writers_and_fresh_files_of_other_hosts(tmp_path: Path) -> None:
    live = files.temporary_name(tmp_path / "mine.json")  # this process: alive
    live.write_text("being written")
    other = tmp_path / f".x.json{files.SEPARATOR}gpu-host-7{files.SEPARATOR}12.3.4.tmp"
    other.write_text("another host is writing it")
    old = tmp_path / f".y.json{files.SEPARATOR}gpu-host-7{files.SEPARATOR}12.3.5.tmp"
    old.write_text("abandoned long ago")
    hour_ago = time.time() - files.STALE_S - 60
    os.utime(old, (hour_ago, hour_ago))
    unrelated = tmp_path / ".notes.tmp"  # not written by atomic_write: never touched
    unrelated.write_text("x")
    assert files.sweep_temporaries(tmp_path) == [old]
    assert live.exists() and other.exists() and unrelated.exists()
