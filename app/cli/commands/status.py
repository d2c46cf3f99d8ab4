"""`autospikformer status`: a launched run's state and progress, from the store."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "show a run's state (queued|training|searching|done|failed|cancelled) and progress"
ACTIVE = ("queued", "training", "searching")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks import api

    return api.status(args.run)


def settings_summary(s: dict[str, Any]) -> list[str]:
    """The run's settings as one or two sentences: training, then search."""
    from app.cli.output import format_energy, format_ops

    lines = []
    if s.get("epochs") is not None:
        details = [f"batch {s['batch_size']}" if s.get("batch_size") else None]
        details.append(f"lr {s['lr']:g}" if s.get("lr") is not None else None)
        details.append(f"{s['sampling']} sampling" if s.get("sampling") else None)
        details.append(f"seed {s['seed']}" if s.get("seed") is not None else None)
        lines.append(
            f"{s.get('dataset')}, space {s.get('space')}, {s['epochs']} epochs ("
            + ", ".join(d for d in details if d)
            + ")"
        )
    if s.get("strategy"):
        plural = "" if s.get("generations") == 1 else "s"
        search = (
            f"{s['strategy']}, {s.get('generations')} generation{plural} x {s.get('population')}"
        )
        if s["strategy"] == "evolution" and s.get("parents"):
            search += f" (parents {s['parents']})"
        search += f", alpha {s.get('alpha')}, energy under {s.get('energy_profile')}"
        if s.get("energy_budget_uj") is not None:
            search += f", budget {format_energy(s['energy_budget_uj'])}"
        if s.get("param_limit") is not None:
            search += f", at most {format_ops(s['param_limit'])} params"
        if s.get("anchors") is not None:
            search += ", anchors" if s["anchors"] else ", no anchors"
        if s.get("predictor") is not None and s["strategy"] != "random":
            search += ", predictor" if s["predictor"] else ", no predictor"
        lines.append(search)
    extra = [f"device {s['device']}" if s.get("device") else None]
    extra.append(f"owner {s['owner']}" if s.get("owner") else None)
    if any(extra) and lines:
        lines[-1] += "; " + ", ".join(e for e in extra if e)
    return lines or ["-"]


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    from app.cli.output import (
        candidate_sentence,
        format_duration,
        format_percent,
        number,
    )

    settings = result.get("settings") or {}
    epochs = result.get("epochs") or settings.get("epochs")
    generations = result.get("generations") or settings.get("generations")
    history = result.get("history") or {}
    done_epochs = len(history.get("epochs") or [])
    where = []
    if epochs:
        where.append(f"epoch {done_epochs} of {epochs}")
    if result.get("search"):
        where.append(f"generation {result.get('generation', 0)} of {generations or '-'}")
    progress = format_percent(result.get("progress"), 0)
    pairs = [("state", result["state"] + (" (archived)" if result.get("archived") else ""))]
    pairs.append(("progress", progress + (f" ({', '.join(where)})" if where else "")))
    pairs.append(("elapsed", format_duration(result.get("elapsed_s"))))
    if result["state"] in ACTIVE:
        eta = result.get("eta_s")
        if eta is None:
            shown = "estimating…"
        elif result.get("eta_complete") is False:  # the search is not timed yet
            shown = f"at least {format_duration(eta)}"
        else:
            shown = format_duration(eta)
        pairs.append(("ETA", shown))
        if result.get("doing"):
            pairs.append(("now", result["doing"]))
    if result.get("message"):
        pairs.append(("message", result["message"]))
    summary = settings_summary(settings)
    pairs.append(("settings", summary[0]))
    pairs += [("", line) for line in summary[1:]]
    last_epoch = (history.get("epochs") or [None])[-1]
    if last_epoch:
        largest = format_percent(last_epoch.get("val_accuracy_largest"))
        smallest = format_percent(last_epoch.get("val_accuracy_smallest"))
        pairs.append(
            (
                "last epoch",
                f"{last_epoch['epoch']} of {epochs or '-'}: loss {number(last_epoch.get('loss'))}, "
                f"validation accuracy {largest} (largest arch), {smallest} (smallest arch), "
                f"took {format_duration(last_epoch.get('seconds'))}",
            )
        )
    if result.get("search"):
        pairs.append(("search", f"{result['search']}, {result.get('evaluated', 0)} evaluated"))
    last_generation = (history.get("generations") or [None])[-1]
    if last_generation:
        hv = f"hypervolume {number(last_generation.get('hypervolume'))}"
        if last_generation.get("hypervolume_normalized") is not None:
            hv += f" (normalized {number(last_generation['hypervolume_normalized'], 3)})"
        if last_generation.get("predictor_tau") is not None:
            hv += f", predictor tau {number(last_generation['predictor_tau'], 3)}"
        pairs.append(
            (
                "last generation",
                f"{last_generation['generation']} of {generations or '-'}: best F_AEB "
                f"{number(last_generation.get('best_fitness'), 3)}, {hv}, "
                f"{last_generation.get('evaluated')} evaluated so far, "
                f"took {format_duration(last_generation.get('seconds'))}",
            )
        )
    if result.get("best"):
        pairs.append(("best", candidate_sentence(result["best"])))
    width = max(len(label) for label, _ in pairs)
    lines = [f"run {result['run']}"]
    for label, value in pairs:
        lines.append(f"  {(label + ':') if label else '':<{width + 1}} {value}")
    return "\n".join(lines)
