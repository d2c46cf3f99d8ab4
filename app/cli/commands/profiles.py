"""`autospikformer profiles`: the hardware energy profiles candidates can be priced under."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "list the hardware energy profiles (pJ per MAC, per SOP, per neuron update, source)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    from engine.profiles import DEFAULT_PROFILE, PROFILES

    profiles = [p.to_dict() for p in PROFILES.values()]
    if args.json:
        return {"profiles": profiles}
    for p in profiles:
        default = " (default)" if p["name"] == DEFAULT_PROFILE else ""
        print(
            f"{p['name']}{default}: {p['pj_per_mac']:g} pJ/MAC, {p['pj_per_sop']:g} pJ/SOP, "
            f"{p['pj_per_neuron_update']:g} pJ/neuron update. {p['source']}"
        )
    return None
