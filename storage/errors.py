"""User-facing storage errors. Each carries a one-line reason that the CLI prints as is."""

from __future__ import annotations


def one_line(text: object, limit: int = 200) -> str:
    """`text` as a single line, shortened to `limit` characters (for error messages)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class StoreError(ValueError):
    """Base class: bad input to the store (a name, a record, an argument)."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message, limit=500))


class BadName(StoreError):
    """A run/search name or a path that is malformed or escapes its folder."""


class BadRecord(StoreError):
    """A record with a missing, mistyped or out-of-range field."""


class BadArgument(StoreError):
    """An argument out of range (alpha, top, state, progress...)."""


class RunActive(BadArgument):
    """The run is queued, training or searching; cancel it before deleting it."""


class UnknownRun(StoreError):
    """No run with that name."""


class DuplicateRun(StoreError):
    """A run with that name already exists."""


class UnknownSearch(StoreError):
    """No search with that id (in that run)."""


class DuplicateSearch(StoreError):
    """A search with that id already exists."""


class UnknownCandidate(StoreError):
    """No candidate with that id (in that run or search)."""


class SchemaError(StoreError):
    """The store file has a schema this code cannot read (newer, or not a store)."""


class StoreBusy(StoreError):
    """The store stayed locked by another process for longer than the retry budget."""


class UnknownLeaderboard(StoreError):
    """No shared leaderboard with that id."""


class DuplicateLeaderboard(StoreError):
    """A shared leaderboard with that id already exists."""
