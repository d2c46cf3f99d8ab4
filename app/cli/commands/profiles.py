"""`autospikformer profiles`: the hardware energy profiles candidates can be priced under."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "list the hardware energy profiles (pJ per MAC, per SOP, per neuron update, source)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.profiles import PROFILES

    return {"profiles": [p.to_dict() for p in PROFILES.values()]}


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    import textwrap

    from app.cli.output import table
    from engine.profiles import DEFAULT_PROFILE

    profiles = result["profiles"]
    listed = table(
        profiles,
        [
            ("profile", lambda p: p["name"], "<"),
            ("pJ/MAC", lambda p: f"{p['pj_per_mac']:g}", ">"),
            ("pJ/SOP", lambda p: f"{p['pj_per_sop']:g}", ">"),
            ("pJ/neuron update", lambda p: f"{p['pj_per_neuron_update']:g}", ">"),
            ("", lambda p: "default" if p["name"] == DEFAULT_PROFILE else "", "<"),
        ],
    )
    sources = [
        textwrap.fill(
            p["source"], width=100, initial_indent=f"  {p['name']}: ", subsequent_indent="    "
        )
        for p in profiles
    ]
    return "\n".join([listed, "", "sources:", *sources])
