"""Atomic file writes: a reader (or a crash) never sees a half-written file under its name.

Every writer writes a temporary file in the target's folder, named uniquely per process, thread
and call, flushes it to disk and renames it over the target. Concurrent writers of one target
(two workers evaluating the same arch, two exports of one candidate) never share a temporary
file; the last rename wins, and each rename installs a complete file.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from pathlib import Path

_COUNTER = itertools.count()


def temporary_name(path: Path) -> Path:
    """A hidden name next to `path`, unique to this process, thread and call."""
    tag = f"{os.getpid()}.{threading.get_ident()}.{next(_COUNTER)}"
    return path.with_name(f".{path.name}.{tag}.tmp")


def atomic_write(path: str | os.PathLike[str], data: str | bytes | Callable[[Path], None]) -> Path:
    """Write `data` to `path` atomically and return `path`.

    `data` is the content (text is written as UTF-8), or a function that writes the file at the
    path it is given (e.g. `safetensors.torch.save_file`). The parent folder is created if
    missing. On any error the temporary file is removed and the target is left as it was.
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
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
