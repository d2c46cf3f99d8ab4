"""One module per `autospikformer` command: HELP, add_arguments(parser), run(args) -> dict|None.

Modules are imported when the parser is built, in this order (the order of `--help`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = (
    "train",
    "search",
    "candidates",
    "export",
    "evaluate",
    "report",
    "launch",
    "status",
    "cancel",
    "delete",
    "worker",
    "up",
    # second round
    "profiles",
    "share",
    "leaderboard",
)


def load_commands() -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"app.cli.commands.{name}") for name in NAMES}
