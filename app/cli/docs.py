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
import textwrap
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

Without `--json`, commands print aligned tables and sentences for people: times in local time
(`2026-12-04 16:20`) and durations (`4 min 45 s`), energies in one unit per table (pJ, nJ, µJ, mJ),
operation counts with SI suffixes (`520.4 k SOPs`), and generations counted from 1. Scripts read
`--json`, whose shapes are listed with each command below (`tests/test_cli.py` checks them against
what the commands print).

A CANDIDATE in the JSON outputs is `{"id", "arch", "accuracy", "energy_uj", "params",
"firing_rate", "fitness", "generation", "feasible", "ops", "silent"}`: `accuracy` is top-1 in
[0, 1] on the validation split, `energy_uj` the paper's Eq. 3 in microjoules under the requested
energy profile, `fitness` F_AEB at the given alpha, `generation` counted from 0, `feasible` whether
it meets its search's constraints, `ops` `{"macs", "sops", "neuron_updates"}` per image, `silent`
true when a block never fires (firing rate 0; such candidates are ranked after the others unless
`--include-silent`), and `id` a stable hash of the ARCH `{"embed_dim", "depth", "mlp_ratios",
"num_heads", "time_steps", "thresholds", "taus"}`.
"""

ENVIRONMENT = (
    ("AUTOSPIKFORMER_HOME", "folder with the store (`store.duckdb`), checkpoints and logs",
     "`./.autospikformer`"),
    ("REDIS_URL", "broker and result backend; unset means an embedded server under the home "
     "folder", "unset"),
    ("AUTOSPIKFORMER_DATA", "folder with datasets that are not shipped (CIFAR, DVS)", "`./data`"),
    ("AUTOSPIKFORMER_ARTEFACTS", "folder shared by every host: checkpoints, search state, "
     "exports", "`AUTOSPIKFORMER_HOME`"),
    ("AUTOSPIKFORMER_APP_URL", "the app's address as people reach it (e.g. "
     "`https://nas.example.org`), for absolute links such as `share --json`'s `url`; unset, the "
     "address `up` recorded in the home folder's `app.json` when it started the app, else links "
     "stay relative", "unset"),
)  # fmt: skip

# What `--json` prints, per command (the rest of each section comes from argparse).
JSON_NOTES: dict[str, str] = {
    "train": '`{"run", "epochs", "checkpoint", "val_accuracy_largest", "val_accuracy_smallest"}`',
    "search": (
        '`{"run", "search", "evaluated", "pareto": [ID, ...], "best": CANDIDATE}`; `best` and '
        "`pareto` are feasible candidates (`best` is null when none is); the same with `--resume`"
    ),
    "candidates": '`{"candidates": [CANDIDATE, ...]}`, best F_AEB first',
    "export": '`{"run", "candidate", "checkpoint", "accuracy", "energy_uj"}`',
    "evaluate": (
        '`{"accuracy", "energy_uj", "params", "firing_rate", "arch": ARCH, "ann_energy_uj", '
        '"sops"}`; `ann_energy_uj` is the same network as a non-spiking ANN'
    ),
    "report": (
        '`{"run", "out", "files": [PATH, ...], "candidates", "pareto", "hypervolume_normalized"}` '
        "(counts; `hypervolume_normalized` maps each search to its final normalized hypervolume)"
    ),
    "launch": (
        '`{"run"}`, the run\'s name; without `--json` the name alone on standard output (and a '
        "hint on standard error)"
    ),
    "status": (
        '`{"run", "state", "progress", "message", "owner", "dataset", "epochs", "generations", '
        '"generation", "search", "evaluated", "best": CANDIDATE or null, "updated_at", '
        '"archived", "settings": {...}, "eta_s": X or null, "history": {"epochs": [{"epoch", '
        '"loss", "val_accuracy_largest", "val_accuracy_smallest", "seconds"}, ...], '
        '"generations": [{"generation", "best_fitness", "hypervolume", "hypervolume_normalized", '
        '"predictor_tau", "evaluated", "seconds"}, ...]}, "elapsed_s": X, "finished_at": T or '
        'null, "eta_basis": STR, "eta_complete": BOOL, "doing": STR or null}`; epochs and '
        "generations are counted from 1, the generations are those of the run's newest search, "
        "`hypervolume_normalized` is accuracy above chance x log10 energy in [0, 1] (unitless; "
        "`hypervolume` the raw one, µJ x accuracy), `predictor_tau` is Kendall's tau (-1 to 1) "
        "between the accuracy `--predictor` predicted for the generation's candidates and the "
        "accuracy they measured (null when the generation was not screened: no predictor, the "
        "first generation, or too few candidates yet), `settings` holds `predictor` (true or "
        "false; false for random), `state` is one of queued, training, "
        "searching, done, failed, cancelled, and `updated_at` and `finished_at` are Unix times. "
        "`elapsed_s` runs from the run's creation to its end (archiving never changes it), or to "
        "now while it is active; `eta_s` is null until the first batch is timed, and counts "
        "training only while `eta_complete` is false (the search not timed yet); `doing` says "
        "what its workers are doing now"
    ),
    "cancel": (
        "the run's status, as `status --json` prints it; a run that had already ended is left "
        'as it is (without `--json`: "run NAME is already done", exit status 0)'
    ),
    "delete": '`{"run", "deleted": true, "removed": [PATH, ...]}`',
    "profiles": (
        '`{"profiles": [{"name", "pj_per_mac", "pj_per_sop", "pj_per_neuron_update", '
        '"source"}, ...]}`'
    ),
    "share": (
        '`{"leaderboard": ID, "id": ID, "url": URL}`; `url` is absolute '
        "(`http://HOST:PORT/leaderboard?id=ID`) when the app's address is known "
        "(`AUTOSPIKFORMER_APP_URL`, else what `up` recorded), else `/leaderboard?id=ID`"
    ),
    "leaderboard": (
        '`{"id", "title", "run", "alpha", "energy_profile", "candidates": [CANDIDATE, ...], '
        '"search", "top", "notes", "author", "created_at", "edited_at"}`, the rows as they were '
        "frozen; `edited_at` is null until `--title` or `--notes` changed them"
    ),
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


def limits_section() -> str:
    """The documented maxima, generated from `engine.limits` and the store's `MAX_TOP`, so the
    page cannot drift from what the code refuses."""
    from engine import limits
    from storage.base import MAX_TOP

    def table(head: str, rows: list[tuple[str, str, str]]) -> str:
        lines = [f"| {head} | allowed | note |", "| --- | --- | --- |"]
        return "\n".join(lines + [f"| `{a}` | {b} | {c} |" for a, b, c in rows])

    top = ("top", f"a whole number from 1 to {MAX_TOP}", "`candidates --top`, `share --top`")
    settings = [*limits.settings_table(), top]

    def text(paragraph: str) -> str:
        return textwrap.fill(paragraph, WIDTH) + "\n"

    return "\n".join(
        [
            "## Limits\n",
            text(
                "A launch, a search or a search space beyond these is refused with one line "
                "before anything is created (the command line, the launch form, its link and "
                "YAML uploads check the same ranges, `engine/limits.py`)."
            ),
            text(
                "Run settings (the command line's `--epochs`, `--population`, ... and the launch "
                "form's fields):"
            ),
            table("setting", settings) + "\n",
            text(
                "Search spaces (presets, `--space FILE`, uploads) and ARCH files: every choice of "
                "a gene, and every value of an arch:"
            ),
            table("gene", limits.space_table()) + "\n",
        ]
    )


def render() -> str:
    helps = command_help()
    names = [n for n in helps if n]
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | {meaning} | {default} |" for name, meaning, default in ENVIRONMENT]
    index = " · ".join(f"[`{n}`](#{n})" for n in names)
    header = HEADER.replace("{environment}", "\n".join(rows))
    parts = [header, limits_section(), "## Commands\n", index + "\n"]
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
