"""Where things live, and names that are safe to put there.

Two folders. The home folder (`$AUTOSPIKFORMER_HOME`) is this host's: the store, the embedded
broker's data, logs. The artefact folder (`$AUTOSPIKFORMER_ARTEFACTS`, by default the home folder)
is shared by every host of a deployment: what workers write and read by path::

    home()/store.duckdb                 the store (head host only)
    home()/logs/                        this host's worker and app logs
    artefacts()/runs/<run>/checkpoints/ supernet checkpoints
    artefacts()/runs/<run>/searches/    search state and the result cache
    artefacts()/runs/<run>/exports/     standalone subnets

Artefact records in the store hold paths relative to the artefact folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath

from storage.errors import BadName, one_line

HOME_ENV = "AUTOSPIKFORMER_HOME"
ARTEFACTS_ENV = "AUTOSPIKFORMER_ARTEFACTS"
DEFAULT_HOME = ".autospikformer"
STORE_FILE = "store.duckdb"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def home() -> Path:
    """The home folder: `$AUTOSPIKFORMER_HOME` or `./.autospikformer`, created if missing."""
    raw = os.environ.get(HOME_ENV) or DEFAULT_HOME
    path = Path(raw).expanduser().absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def artefacts() -> Path:
    """The folder every host shares: `$AUTOSPIKFORMER_ARTEFACTS`, else the home folder; created
    if missing."""
    raw = os.environ.get(ARTEFACTS_ENV)
    if not raw:
        return home()
    path = Path(raw).expanduser().absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def validate_name(name: object, kind: str = "run") -> str:
    """Return `name` if it is a safe run/search name, else raise `BadName`.

    Allowed: 1-64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit,
    and no '..' anywhere.
    """
    if not isinstance(name, str):
        raise BadName(f"{kind} name must be a string, got {type(name).__name__}")
    if not NAME_RE.fullmatch(name) or ".." in name:
        raise BadName(
            f"bad {kind} name {one_line(repr(name), 80)}: use 1-64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit, without '..'"
        )
    return name


def resolve_inside(base: Path, *parts: str | os.PathLike[str]) -> Path:
    """`base / parts...` resolved (symlinks followed); `BadName` if it is not inside `base`.

    Absolute parts, NUL bytes and anything that resolves outside `base` (`../x`, `a/../../b`, a
    symlink pointing elsewhere) are rejected.
    """
    root = Path(base).resolve()
    rel = PurePath()
    for part in parts:
        text = os.fspath(part)
        if not isinstance(text, str) or not text:
            raise BadName(f"bad path part {one_line(repr(part), 80)}: expected a non-empty string")
        if "\0" in text:
            raise BadName(f"bad path part {one_line(repr(text), 80)}: contains a NUL byte")
        if PurePath(text).is_absolute():
            raise BadName(f"path {one_line(repr(text), 80)} is absolute; expected one under {root}")
        rel = rel / text
    target = (root / rel).resolve()
    if target != root and root not in target.parents:
        raise BadName(f"path {one_line(repr(str(rel)), 120)} escapes {root}")
    return target


def _dir(path: Path, create: bool) -> Path:
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def run_dir(name: str, *, create: bool = True) -> Path:
    """`artefacts()/runs/<name>` for a valid run name."""
    return _dir(resolve_inside(artefacts(), "runs", validate_name(name)), create)


def checkpoint_dir(run: str, *, create: bool = True) -> Path:
    """Where a run's supernet checkpoints go: `runs/<run>/checkpoints`."""
    return _dir(resolve_inside(run_dir(run, create=create), "checkpoints"), create)


def export_dir(run: str, *, create: bool = True) -> Path:
    """Where a run's standalone subnets go: `runs/<run>/exports`."""
    return _dir(resolve_inside(run_dir(run, create=create), "exports"), create)


def logs_dir(*, create: bool = True) -> Path:
    """`home()/logs`."""
    return _dir(resolve_inside(home(), "logs"), create)


def store_path() -> Path:
    """`home()/store.duckdb` (the file may not exist yet)."""
    return resolve_inside(home(), STORE_FILE)


def relative_to_home(path: str | os.PathLike[str]) -> str:
    """`path` (absolute, or relative to home) as a POSIX path relative to home.

    Raises `BadName` if it resolves outside home.
    """
    return _relative(home(), path)


def relative_to_artefacts(path: str | os.PathLike[str]) -> str:
    """`path` (absolute, or relative to the artefact folder) as a POSIX path relative to it, as
    artefact records store it. `BadName` if it resolves outside the artefact folder."""
    return _relative(artefacts(), path)


def artefact_path(relative: str) -> Path:
    """The file an artefact record names (`BadName` if it would resolve outside the folder)."""
    return resolve_inside(artefacts(), relative)


def search_id(run: str, strategy: str, number: int) -> str:
    """The id of search `number` (from 1) of `run`: `<run>.<strategy>.<number>`. A launched run's
    own search is number 1. `BadName` if the id does not make a valid name (too long)."""
    return validate_name(f"{run}.{strategy}.{number}", "search")


def _relative(folder: Path, path: str | os.PathLike[str]) -> str:
    base = folder.resolve()
    p = Path(path)
    target = p.resolve() if p.is_absolute() else resolve_inside(base, p)
    if target == base or base not in target.parents:
        raise BadName(f"path {one_line(repr(str(path)), 120)} is not inside {base}")
    return target.relative_to(base).as_posix()
