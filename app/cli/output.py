"""What the commands print for people (without `--json`): aligned tables and sentences, never a
Python dict or list, times as local dates and durations, energies in one unit per column
(`app.common.units`). Each command module may define `human(result, args) -> str` for its JSON
result; `app.cli.main` prints that instead of the JSON when `--json` is not given.

Generations are counted from 1 here, as `status` counts them (a candidate's JSON `generation`
counts from 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.common.units import (
    MISSING,
    format_duration,
    format_energy,
    format_energy_uj,
    format_ops,
    format_percent,
    format_time,
)

Column = tuple[str, Callable[[Mapping[str, Any]], str], str]  # header, cell, "<" or ">"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], indent: str = "") -> str:
    """`rows` as an aligned text table: a header line, then one line per row."""
    cells = [[cell(row) for _, cell, _ in columns] for row in rows]
    widths = [
        max([len(header), *(len(line[k]) for line in cells)])
        for k, (header, _, _) in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            f"{value:{align}{width}}"
            for value, width, (_, _, align) in zip(values, widths, columns, strict=True)
        ]
        return (indent + "  ".join(parts)).rstrip()

    return "\n".join([line([h for h, _, _ in columns]), *(line(c) for c in cells)])


def key_values(pairs: Sequence[tuple[str, str]], indent: str = "") -> str:
    """`label: value` lines with the values aligned."""
    width = max((len(label) for label, _ in pairs), default=0)
    return "\n".join(f"{indent}{label + ':':<{width + 1}} {value}" for label, value in pairs)


def yes_no(value: Any) -> str:
    return MISSING if value is None else ("yes" if value else "no")


def number(value: Any, digits: int = 4) -> str:
    """A plain number with `digits` significant digits (`-` when missing)."""
    if value is None or isinstance(value, bool):
        return MISSING
    try:
        return f"{float(value):.{digits}g}"
    except (TypeError, ValueError):
        return str(value)


def fixed(values: Sequence[Any], significant: int = 4) -> list[str]:
    """A column of numbers with one number of decimals, enough for `significant` digits of the
    largest (`103.0`, `128.8`; `0.792`, `0.630`); `-` where a value is missing."""
    numbers = [None if v is None or isinstance(v, bool) else float(v) for v in values]
    finite = [abs(v) for v in numbers if v is not None and math.isfinite(v)]
    largest = max(finite, default=0.0)
    digits = significant - 1 - (math.floor(math.log10(largest)) if largest > 0 else 0)
    decimals = min(max(digits, 0), 6)
    return [MISSING if v is None else f"{v:.{decimals}f}" for v in numbers]


def short_id(candidate_id: Any) -> str:
    """The first 8 characters of a candidate id (enough to tell candidates apart)."""
    return str(candidate_id)[:8]


def describe_arch(arch: Mapping[str, Any] | None) -> str:
    """`embed 32, depth 1, T=1; per block: MLP ratio 4, heads 4, threshold 1, tau 10`."""
    if not arch:
        return MISSING

    def each(key: str) -> str:
        return "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in arch.get(key, []))

    return (
        f"embed {arch.get('embed_dim')}, depth {arch.get('depth')}, T={arch.get('time_steps')}; "
        f"per block: MLP ratio {each('mlp_ratios')}, heads {each('num_heads')}, "
        f"threshold {each('thresholds')}, tau {each('taus')}"
    )


def candidate_table(candidates: Sequence[Mapping[str, Any]], indent: str = "") -> str:
    """Ranked candidates: rank, id, accuracy, energy (one unit), params, firing rate, F_AEB,
    generation, feasible, and silent where candidates report it."""
    if not candidates:
        return f"{indent}(no candidates)"
    unit, energies = format_energy_uj(c.get("energy_uj") for c in candidates)
    energy_text = fixed(energies)
    fitness_text = [
        MISSING if c.get("fitness") is None else f"{c['fitness']:.3f}" for c in candidates
    ]
    rows = [
        {**c, "_rank": k + 1, "_energy": energy_text[k], "_fitness": fitness_text[k]}
        for k, c in enumerate(candidates)
    ]
    columns: list[Column] = [
        ("#", lambda c: str(c["_rank"]), ">"),
        ("id", lambda c: short_id(c.get("id")), "<"),
        ("accuracy", lambda c: format_percent(c.get("accuracy")), ">"),
        (f"energy ({unit})", lambda c: c["_energy"], ">"),
        ("params", lambda c: format_ops(c.get("params")), ">"),
        ("firing rate", lambda c: format_percent(c.get("firing_rate"), 2), ">"),
        ("F_AEB", lambda c: c["_fitness"], ">"),
        ("generation", lambda c: generation(c.get("generation")), ">"),
        ("feasible", lambda c: yes_no(c.get("feasible")), "<"),
    ]
    if any("silent" in c for c in candidates):
        columns.append(("silent", lambda c: yes_no(c.get("silent")), "<"))
    return table(rows, columns, indent)


def generation(zero_based: Any) -> str:
    return MISSING if zero_based is None else str(int(zero_based) + 1)


def candidate_sentence(c: Mapping[str, Any]) -> str:
    """One candidate in a line: id, accuracy, energy, ops, params, firing rate, F_AEB."""
    ops = c.get("ops") or {}
    parts = [
        f"accuracy {format_percent(c.get('accuracy'))}",
        f"energy {format_energy(c.get('energy_uj'))}",
    ]
    if ops:
        parts.append(
            f"{format_ops(ops.get('sops'), 'SOPs')}, {format_ops(ops.get('macs'), 'MACs')}"
        )
    parts.append(f"{format_ops(c.get('params'))} params")
    parts.append(f"firing rate {format_percent(c.get('firing_rate'), 2)}")
    if c.get("fitness") is not None:
        parts.append(f"F_AEB {number(c.get('fitness'), 3)}")
    return f"{c.get('id')} ({', '.join(parts)})"


__all__ = [
    "candidate_sentence",
    "candidate_table",
    "describe_arch",
    "format_duration",
    "format_energy",
    "format_ops",
    "format_percent",
    "format_time",
    "key_values",
    "number",
    "short_id",
    "table",
    "yes_no",
]
