"""One module per `autospikformer` command: HELP, add_arguments(parser), run(args) -> dict|None."""

from __future__ import annotations

from types import ModuleType

from app.commands import candidates, evaluate, export, report, search, train

COMMANDS: dict[str, ModuleType] = {
    "train": train,
    "search": search,
    "candidates": candidates,
    "export": export,
    "evaluate": evaluate,
    "report": report,
}
