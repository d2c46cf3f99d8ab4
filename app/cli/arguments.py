"""Options whose help is read from the engine's registries when help is printed, so it cannot
drift from what the engine knows (and commands that never print help skip the import)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


class DatasetOption(argparse.Action):
    """`--dataset NAME`: stores the name (the engine checks it); its help lists every dataset
    registered in `engine.data` (importing it loads torch, so only when help is printed)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)

    @property  # type: ignore[override]
    def help(self) -> str:
        from engine.data import dataset_names

        return "one of " + ", ".join(dataset_names())

    @help.setter
    def help(self, value: str | None) -> None:  # argparse sets it; the registry decides
        pass
