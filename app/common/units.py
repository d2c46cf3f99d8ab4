"""Numbers for people, the same on both faces (the command line and the web app).

* energies: one unit per column or axis (`format_energy_uj`), chosen from pJ, nJ, µJ, mJ and J so
  the column's largest value reads between 1 and 1000; a view (a page's chart and table
  together) picks it once (`energy_unit_uj` over everything it shows) and writes every energy in
  it (`format_energy(uj, unit=...)`, `energy_title(unit)`: `energy (nJ)`). Files keep machine
  column names with the unit in the name (`energy_uj`, microjoules, full precision);
* the hypervolume: the normalized one (`HV_NORMALIZED_LABEL`, in [0, 1], the same under every
  energy profile) and the raw one in µJ × accuracy (`HV_RAW_LABEL`);
* operation counts and parameters with SI suffixes (`format_ops`: `520.4 k SOPs`);
* durations (`format_duration`: `4 min 45 s`) and times (`format_time`: local `2026-12-04 16:20`).

Pure functions of plain numbers: no Streamlit, pandas or numpy needed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

# (name, factor from microjoules), smallest unit first.
ENERGY_UNITS: tuple[tuple[str, float], ...] = (
    ("pJ", 1e6),
    ("nJ", 1e3),
    ("µJ", 1.0),
    ("mJ", 1e-3),
    ("J", 1e-6),
)
SI_PREFIXES: tuple[str, ...] = ("", "k", "M", "G", "T", "P")
MISSING = "-"


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def energy_unit_uj(values: Iterable[float | None]) -> tuple[str, float]:
    """The unit for a column of energies in µJ: (name, factor from µJ), the largest unit in
    which the column's largest magnitude is at least 1 (µJ for an empty or all-zero column)."""
    largest = max((abs(v) for v in map(_finite, values) if v), default=0.0)
    if largest == 0.0:
        return "µJ", 1.0
    chosen = ENERGY_UNITS[0]
    for name, factor in ENERGY_UNITS:
        if largest * factor >= 1.0 - 1e-12:
            chosen = (name, factor)
    return chosen


def format_energy_uj(values: Iterable[float | None]) -> tuple[str, list[float | None]]:
    """One unit for a whole column of energies in µJ: `(unit, scaled)`, with `scaled[i]` the
    i-th value in that unit (None where a value is missing or not finite).

    >>> format_energy_uj([0.1030, 0.0563])
    ('nJ', [103.0, 56.3])
    """
    values = list(values)
    unit, factor = energy_unit_uj(values)
    scaled = [None if (v := _finite(x)) is None else v * factor for x in values]
    return unit, scaled


# The search-value metric (contract: `hypervolume_normalized`): accuracy above chance x log10
# energy, in [0, 1], the same whatever the energy profile; and the raw area, in µJ x accuracy.
HV_NORMALIZED_LABEL = "normalized hypervolume (accuracy above chance × log energy, 0–1)"
HV_NORMALIZED_HELP = (
    "The area the Pareto front dominates, with accuracy measured above chance and energy on a "
    "log10 scale, scaled to [0, 1]: the same under every energy profile; larger is better."
)
HV_RAW_LABEL = "hypervolume (µJ × accuracy)"
# The predictor's ranking quality per generation (contract: `predictor_tau`).
PREDICTOR_TAU_LABEL = "predictor tau (Kendall, −1–1)"
PREDICTOR_TAU_HELP = (
    "Kendall's tau between the accuracy the predictor gave a screened generation's candidates "
    "before they were evaluated and the accuracy they measured: 1 the same order, 0 no better "
    "than chance, −1 the reverse."
)


def unit_factor(unit: str) -> float:
    """The factor from µJ to `unit` (`nJ` -> 1000); `ValueError` for an unknown unit."""
    for name, factor in ENERGY_UNITS:
        if name == unit:
            return factor
    raise ValueError(
        f"unknown energy unit {unit!r}: one of {', '.join(n for n, _ in ENERGY_UNITS)}"
    )


def energy_title(unit: str, what: str = "energy") -> str:
    """An axis or column title with its unit: `energy (nJ)`."""
    return f"{what} ({unit})"


def format_energy(uj: float | None, digits: int = 4, *, unit: str | None = None) -> str:
    """One energy, in `unit` when given (the view's unit), else in its own: `103 nJ`,
    `4.754 µJ`, `0.103 µJ` with `unit="µJ"` (`-` when missing)."""
    value = _finite(uj)
    if value is None:
        return MISSING
    if unit is None:
        unit, _ = energy_unit_uj([value])
    return f"{value * unit_factor(unit):.{digits}g} {unit}"


def format_hv_normalized(value: float | None) -> str:
    """A normalized hypervolume in [0, 1]: `0.412` (`-` when missing)."""
    number = _finite(value)
    return MISSING if number is None else f"{number:.3f}"


def format_ops(n: float | None, unit: str = "") -> str:
    """A count with an SI suffix, one decimal from a thousand up: `952`, `19.1 k`, `3.4 M`,
    `520.4 k SOPs` (with `unit="SOPs"`); `-` when missing."""
    value = _finite(n)
    if value is None:
        return MISSING
    tail = f" {unit}" if unit else ""
    magnitude = abs(value)
    if round(magnitude) < 1000:
        text = f"{value:.0f}" if magnitude >= 10 or value == int(value) else f"{value:.2g}"
        return f"{text}{tail}"
    index = max(1, min(int(math.log10(magnitude) // 3), len(SI_PREFIXES) - 1))
    scaled = value / 1000**index
    if round(abs(scaled), 1) >= 1000 and index < len(SI_PREFIXES) - 1:  # 999,960 -> 1.0 M
        index += 1
        scaled = value / 1000**index
    return f"{scaled:.1f} {SI_PREFIXES[index]}{tail}"


def format_duration(seconds: float | None) -> str:
    """`0.5 s`, `42 s`, `4 min 45 s`, `2 h 7 min`, `3 d 4 h`; `-` when missing."""
    value = _finite(seconds)
    if value is None or value < 0:
        return MISSING
    if value < 10:
        return f"{value:.1f} s"
    s = int(round(value))
    if s < 60:
        return f"{s} s"
    minutes, secs = divmod(s, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_time(ts: float | None) -> str:
    """A Unix time as local ISO date and minute, `2026-12-04 16:20`; `-` when missing."""
    value = _finite(ts)
    if value is None:
        return MISSING
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(value))


def format_percent(fraction: float | None, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage: `21.1 %`; `-` when missing."""
    value = _finite(fraction)
    return MISSING if value is None else f"{100 * value:.{digits}f} %"
