"""Write the command-line reference, docs/cli.md, from the argparse definitions.

    python -m app.cli.docs            # print it
    python -m app.cli.docs --write    # write docs/cli.md

Each command's section is its `--help` text exactly as `autospikformer CMD --help` prints it at a
fixed width of 100 columns, plus a note on its JSON output where it has one.
`tests/app/test_cli_docs.py` fails when the file drifts from `--help`.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from app.cli import build_parser

WIDTH = 100
TARGET = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

HEADER = """\
# Command line reference

`pip install -e .` (or `make up`) installs the `autospikformer` command. Every command takes
`--help`; with `--json` the last line of standard output is one JSON object; bad input exits
with status 2 and a one-line reason on standard error, and changes nothing.

This page is generated from the argparse definitions by `python -m app.cli.docs --write`; do not
edit it by hand (`tests/app/test_cli_docs.py` fails when it drifts from `--help`).

## Environment

{environment}

A CANDIDATE in the JSON outputs is `{"id", "arch", "accuracy", "energy_uj", "params",
"firing_rate", "fitness", "generation", ...}`: `accuracy` is top-1 in [0, 1] on the validation
split, `energy_uj` the paper's Eq. 3 in microjoules, `fitness` F_AEB at the given alpha, and `id`
a stable hash of the ARCH `{"embed_dim", "depth", "mlp_ratios", "num_heads", "time_steps",
"thresholds", "taus"}`.
"""

ENVIRONMENT = (
    ("AUTOSPIKFORMER_HOME", "folder with the store (`store.duckdb`), checkpoints and logs",
     "`./.autospikformer`"),
    ("REDIS_URL", "broker and result backend; unset means an embedded server under the home "
     "folder", "unset"),
    ("AUTOSPIKFORMER_DATA", "folder with datasets that are not shipped (CIFAR, DVS)", "`./data`"),
    ("AUTOSPIKFORMER_ARTEFACTS", "folder shared by every host: checkpoints, search state, "
     "exports", "`AUTOSPIKFORMER_HOME`"),
)  # fmt: skip

# What `--json` prints, per command (the rest of each section comes from argparse).
JSON_NOTES: dict[str, str] = {
    "train": '`{"run", "epochs", "checkpoint", "val_accuracy_largest", "val_accuracy_smallest"}`',
    "search": '`{"run", "search", "evaluated", "pareto": [ID, ...], "best": CANDIDATE}`',
    "candidates": '`{"candidates": [CANDIDATE, ...]}`, best F_AEB first',
    "evaluate": '`{"accuracy", "energy_uj", "params", "firing_rate"}`',
    "launch": "the run's name",
    "status": (
        '`{"run", "state", "progress", "message", "generation", "generations", "epochs", '
        '"search", "evaluated", "best", "archived", "settings": {...}, "eta_s": X or null, '
        '"history": {"epochs": [{"epoch", "loss", "val_accuracy_largest", '
        '"val_accuracy_smallest", "seconds"}, ...], "generations": [{"generation", '
        '"best_fitness", "hypervolume", "evaluated", "seconds"}, ...]}, "elapsed_s": X, '
        '"finished_at": T or null, "eta_basis": STR, "eta_complete": BOOL, "doing": STR or '
        "null}`; epochs and generations are counted from 1, the generations are those of the "
        "run's newest search, and `state` is one of queued, training, searching, done, failed, "
        "cancelled. `elapsed_s` runs from the run's creation to its end (archiving never "
        "changes it), or to now while it is active; `eta_s` is null until the first batch is "
        "timed, and counts training only while `eta_complete` is false (the search not timed "
        "yet); `doing` says what its workers are doing now"
    ),
    "cancel": "the run's status, as `status` prints it",
    "delete": '`{"run", "deleted": true, "removed": [PATH, ...]}`',
}


@contextmanager
def _columns(width: int):
    """argparse wraps help at the terminal's width (`COLUMNS`); fix it while formatting."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def command_help() -> dict[str, str]:
    """Command name -> its `--help` text (at `WIDTH` columns), in `--help` order."""
    with _columns(WIDTH):
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return {"": parser.format_help()} | {
            name: p.format_help() for name, p in sub.choices.items()
        }


def render() -> str:
    helps = command_help()
    names = [n for n in helps if n]
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | {meaning} | {default} |" for name, meaning, default in ENVIRONMENT]
    index = " · ".join(f"[`{n}`](#{n})" for n in names)
    parts = [HEADER.replace("{environment}", "\n".join(rows)), "## Commands\n", index + "\n"]
    parts.append(f"```text\n{helps[''].rstrip()}\n```\n")
    for name in names:
        parts.append(f"## {name}\n")
        parts.append(f"```text\n{helps[name].rstrip()}\n```\n")
        if name in JSON_NOTES:
            parts.append(f"With `--json`: {JSON_NOTES[name]}.\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if argv == ["--write"]:
        TARGET.write_text(text)
        print(f"wrote {TARGET}")
    elif not argv:
        sys.stdout.write(text)
    else:
        print("usage: python -m app.cli.docs [--write]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
