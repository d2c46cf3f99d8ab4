"""Atomic file writes: a reader (or a crash) never sees a half-written file under its name.

Every writer writes a temporary file in the target's folder, named uniquely per host, process,
thread and call (`.NAME~HOST~PID.THREAD.N.tmp`), flushes it to disk, renames it over the target
and flushes the folder, so the rename itself survives a power cut. Concurrent writers of one
target (two workers evaluating the same arch, two exports of one candidate) never share a
temporary file; the last rename wins, and each rename installs a complete file.

A writer killed mid-write (`kill -9`, a lost host) leaves its temporary file behind:
`sweep_temporaries` removes those of dead processes of this host, and those of any host that
nobody has written for `STALE_S` (a worker calls it when it starts).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

_COUNTER = itertools.count()
SEPARATOR = "~"  # never in a host name; a target's own name may hold it (parsed from the right)
STALE_S = 3600.0  # a temporary file nobody wrote for this long is abandoned, whatever its host
_HOST = socket.gethostname().replace(SEPARATOR, "-") or "localhost"


def temporary_name(path: Path) -> Path:
    """A hidden name next to `path`, unique to this host, process, thread and call."""
    tag = f"{_HOST}{SEPARATOR}{os.getpid()}.{threading.get_ident()}.{next(_COUNTER)}"
    return path.with_name(f".{path.name}{SEPARATOR}{tag}.tmp")


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk; a file system that cannot is left as is."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:  # some network and FUSE file systems refuse fsync on a folder
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: str | bytes | Callable[[Path], None]) -> Path:
    """Write `data` to `path` atomically and return `path`.

    `data` is the content (text is written as UTF-8), or a function that writes the file at the
    path it is given (e.g. `safetensors.torch.save_file`). The parent folder is created if
    missing. On any error the temporary file is removed and the target is left as it was; an
    `OSError` about the temporary file (a full disk, an unwritable folder) names the target.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(target)
    try:
        if callable(data):
            data(tmp)
        else:
            tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        with open(tmp, "rb+") as f:  # on disk before the rename makes it visible
            os.fsync(f.fileno())
        tmp.replace(target)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if err.filename in (str(tmp), tmp) and err.errno is not None:
            raise type(err)(err.errno, err.strerror, str(target)) from None
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)
    return target


def _writer(name: str) -> tuple[str, int] | None:
    """(host, pid) of a temporary file's writer, from its name; None if it is not one of ours."""
    if not (name.startswith(".") and name.endswith(".tmp")) or name.count(SEPARATOR) < 2:
        return None
    _, host, rest = name[1 : -len(".tmp")].rsplit(SEPARATOR, 2)
    pid, _, _ = rest.partition(".")
    return (host, int(pid)) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temporaries(root: str | os.PathLike[str], *, stale_s: float = STALE_S) -> list[Path]:
    """Remove the temporary files `atomic_write` left under `root` (recursively): those of a
    process of this host that is gone, and those of any host not written for `stale_s`.
    Returns what was removed; a file that vanished meanwhile is skipped."""
    removed: list[Path] = []
    now = time.time()
    for folder, _, names in os.walk(root):
        for name in names:
            writer = _writer(name)
            if writer is None:
                continue
            path = Path(folder) / name
            with contextlib.suppress(FileNotFoundError):
                dead = writer[0] == _HOST and not _alive(writer[1])
                if dead or now - path.stat().st_mtime > stale_s:
                    path.unlink()
                    removed.append(path)
    return removed
