"""The energy budget holds in everything a user reads (issue 10), checked through the CLI.

A digits-tiny supernet is trained for one epoch. A random search without a budget gives the
candidates' energies; the same search (same seed, same archs) then runs in a copy of that home
with the median energy as `--energy-budget-uj`, so the budget splits its candidates. Every
consumer of the capped search is read from the command line and its over-budget rows counted:
`search --json`'s best and Pareto front, `candidates` (default) at alpha 0, 0.5 and 1, a shared
leaderboard, the report's Pareto table, and the default export (the search's best, written and
reloaded standalone). `candidates --include-infeasible` shows that the over-budget candidates
are recorded. Any over-budget row fails the check (exit 1).

    OMP_NUM_THREADS=1 python bench/budget_check.py
"""

from __future__ import annotations

import csv
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import cli

RUN = "supernet"


def search(home: Path, *extra: str) -> dict:
    return cli(home, "search", "--run", RUN, "--strategy", "random", "--generations", "2",
               "--population", "8", "--seed", "0", *extra)  # fmt: skip


def candidates(home: Path, search_id: str, *extra: str) -> list[dict]:
    return cli(home, "candidates", "--run", RUN, "--search", search_id, *extra)["candidates"]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="budget-check-"))
    free_home, capped_home = root / "free", root / "capped"
    cli(free_home, "train", "--run", RUN, "--dataset", "digits", "--space", "digits-tiny",
        "--epochs", "1", "--seed", "0", "--device", "cpu")  # fmt: skip
    shutil.copytree(free_home, capped_home)
    free = search(free_home)
    energies = [c["energy_uj"] for c in candidates(free_home, free["search"])]
    budget = statistics.median(energies)
    capped = search(capped_home, "--energy-budget-uj", repr(budget))
    sid = capped["search"]
    every = candidates(capped_home, sid, "--include-infeasible", "--top", "100")
    energy = {c["id"]: c["energy_uj"] for c in every}
    print(
        f"# budget {budget:.4f} uJ (median of {len(energies)} candidates, "
        f"{min(energies):.4f}-{max(energies):.4f} uJ); capped search {sid}: {len(every)} recorded, "
        f"{sum(not c['feasible'] for c in every)} over budget (`candidates --include-infeasible`)"
    )
    share = cli(capped_home, "share", "--run", RUN, "--search", sid, "--alpha", "0.5",
                "--top", "100", "--title", "budget check")  # fmt: skip
    board = cli(capped_home, "leaderboard", "--id", str(share["leaderboard"]))
    report = cli(capped_home, "report", "--run", RUN, "--out", str(root / "report"))
    table = next(Path(f) for f in report["files"] if f.endswith("pareto.csv"))
    with table.open() as f:
        report_ids = [row["id"] for row in csv.DictReader(f)]
    out = root / "best.safetensors"
    cli(capped_home, "export", "--run", RUN, "--candidate", capped["best"]["id"], "--out", str(out))
    exported = cli(capped_home, "evaluate", "--checkpoint", str(out), "--dataset", "digits",
                   "--split", "val")  # fmt: skip
    rows = {
        "`search --json` best": [capped["best"]["id"]],
        "`search --json` pareto": capped["pareto"],
        **{
            f"`candidates` (default), alpha {a}": [
                c["id"] for c in candidates(capped_home, sid, "--alpha", a, "--top", "100")
            ]  # fmt: skip
            for a in ("0", "0.5", "1")
        },
        "`share` -> `leaderboard --id`": [c["id"] for c in board["candidates"]],
        "`report` Pareto table": [i for i in report_ids if i in energy],
    }
    print("| consumer | rows | over budget |")
    print("|---|---|---|")
    over_total = 0
    for name, ids in rows.items():
        over = sum(energy[i] > budget for i in ids)
        over_total += over
        print(f"| {name} | {len(ids)} | {over} |")
    over = exported["energy_uj"] > budget * 1.000001
    over_total += over
    print(
        f"| `export` of the best, reloaded by `evaluate --split val` | 1 "
        f"({exported['energy_uj']:.4f} uJ) | {int(over)} |"
    )
    print(f"\nover-budget rows in all consumers: {over_total}")
    shutil.rmtree(root)
    sys.exit(1 if over_total else 0)


if __name__ == "__main__":
    main()
