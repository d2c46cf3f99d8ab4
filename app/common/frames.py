"""Candidates as pandas frames for the app: loading, the Pareto front, thinning, the knee.

Nothing here imports Streamlit, so every function is tested on its own. A "scope" is a run, or one
search of it; in run scope an architecture evaluated by several searches counts once, as its
first stored record, exactly as `Store.rank` counts it. Frames hold the candidates `Store.rank`
ranks: feasible ones (unless asked for all), energies priced under the requested profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from app.common import units
from engine.pareto import FrontBox, f_aeb, normalized_hypervolume, pareto_front
from storage.base import Prices, Store
from storage.records import RunRecord

# How the front metric is named wherever it is shown.
NORMALIZED_HV_LABEL = units.HV_NORMALIZED_LABEL  # one label on every face

POINT_COLUMNS: tuple[str, ...] = (
    "id",
    "search",
    "strategy",
    "generation",
    "accuracy",
    "energy_uj",
    "params",
    "sops",
    "firing_rate",
    "silent",
)
# Drawing more points than this makes the browser sluggish; dominated ones are aggregated.
MAX_DRAWN = 4000
# Grid used to aggregate dominated points: (energy bins, accuracy bins).
THIN_BINS = (80, 50)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, "object")) for c in columns})


_DTYPES = {
    "feasible": "bool",
    "generation": "int64",
    "accuracy": "float64",
    "energy_uj": "float64",
    "params": "int64",
    "sops": "float64",
    "firing_rate": "float64",
    "silent": "bool",
}


def load_points(
    store: Store,
    run: str,
    search: str | None = None,
    *,
    with_arch: bool = False,
    profile: Prices | None = None,
    include_infeasible: bool = False,
) -> pd.DataFrame:
    """One row per candidate in scope, sorted by id: the feasible ones (all of them, and the
    constraint each breaks in `violation`, when `include_infeasible`), energies under `profile`
    (the stored ones when None; candidates it cannot price are left out). `UnknownRun` and
    `UnknownSearch` as the store.

    One columnar read (`Store.candidate_table`): 100,000 rows in tens of milliseconds on DuckDB.
    """
    columns = POINT_COLUMNS + (("arch",) if with_arch else ()) + ("feasible",)
    columns += ("violation",) if include_infeasible else ()
    table = store.candidate_table(
        run, search, columns=columns, profile=profile, include_infeasible=include_infeasible
    )
    frame = table.to_pandas() if table.num_rows else _empty(columns)
    frame = frame.reset_index(drop=True)
    return frame.astype({c: t for c, t in _DTYPES.items() if c in frame.columns})


def front_box(run: RunRecord, profile: Prices | str) -> FrontBox | None:
    """The box of `run`'s fronts as they are displayed under `profile`: chance accuracy and the
    analytic energy floor and bound of the run's space on its dataset, priced under that same
    profile (`engine.search.reference.dataset_front_box`), never a search's stored box or
    reference, which are in the search's own profile. None when this install does not know the
    run's dataset or space. Its `energy_high_uj` is the raw hypervolume's reference."""
    from engine.errors import AutoSpikformerError
    from engine.search.reference import dataset_front_box  # imports torch: not at the top
    from engine.space import SearchSpace

    name = profile if isinstance(profile, str) else profile.name
    try:
        return dataset_front_box(run.dataset, SearchSpace.from_dict(run.space), name)
    except (AutoSpikformerError, ValueError, KeyError, TypeError):
        return None


def normalized(frame: pd.DataFrame, box: FrontBox | None) -> float | None:
    """The normalized hypervolume of `frame`'s candidates (accuracy, energy_uj in the box's
    profile) in `box`; 0 for no candidates, None without a box."""
    if box is None:
        return None
    if frame.empty:
        return 0.0
    # At or below the floor is full credit either way; the log axis cannot place a zero.
    energy = np.maximum(frame["energy_uj"].to_numpy(), box.energy_low_uj)
    return normalized_hypervolume(frame["accuracy"].to_numpy(), energy, box)


def front(frame: pd.DataFrame) -> pd.DataFrame:
    """The exact Pareto front (max accuracy, min energy), lowest energy first."""
    if frame.empty:
        return frame.copy()
    idx = pareto_front(frame["accuracy"].to_numpy(), frame["energy_uj"].to_numpy())
    return frame.iloc[idx].reset_index(drop=True)


# Ties in F_AEB go to the other objective, as `Store.rank` breaks them: higher accuracy, then lower
# energy, then the id. So the winner at every alpha lies on the Pareto front.
TIE_ORDER = (["fitness", "accuracy", "energy_uj", "id"], [False, False, True, True])


def with_fitness(frame: pd.DataFrame, alpha: float, *, silent_last: bool = False) -> pd.DataFrame:
    """`frame` with F_AEB at `alpha` (min-max over exactly `frame`), best first, ties broken as
    `Store.rank` breaks them (`TIE_ORDER`); with `silent_last`, silent candidates after the
    others, as `Store.rank(silent_last=True)` orders them."""
    out = frame.copy()
    if out.empty:
        out["fitness"] = pd.Series(dtype="float64")
        return out
    out["fitness"] = f_aeb(out["accuracy"].to_numpy(), out["energy_uj"].to_numpy(), alpha)
    out = out.sort_values(TIE_ORDER[0], ascending=TIE_ORDER[1], kind="stable")
    if silent_last and "silent" in out:
        out = out.sort_values("silent", kind="stable")  # False first, each group in order
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


def thin(
    frame: pd.DataFrame,
    keep: Iterable[str] = (),
    *,
    max_points: int = MAX_DRAWN,
    log_energy: bool = False,
    bins: tuple[int, int] = THIN_BINS,
) -> pd.DataFrame:
    """The points to draw, each with a `count` of the candidates it stands for.

    Up to `max_points` candidates are drawn as they are. Beyond that, candidates in `keep` (the
    front, the top-ranked, the selection) are drawn exactly and the rest are aggregated on an
    energy x accuracy grid (log-spaced in energy when the axis is): one point per occupied cell,
    the cell's most accurate candidate, standing for all of them.
    """
    out = frame.copy()
    out["count"] = 1
    if len(out) <= max_points:
        return out
    keep_mask = out["id"].isin(set(keep)).to_numpy()
    rest = out[~keep_mask]
    energy = rest["energy_uj"].to_numpy()
    if log_energy:
        energy = np.log10(np.maximum(energy, 1e-12))
    cells = _cell(energy, bins[0]) * bins[1] + _cell(rest["accuracy"].to_numpy(), bins[1])
    rest = rest.assign(_cell=cells)
    counts = rest.groupby("_cell")["id"].transform("size")
    rest = rest.assign(count=counts)
    reps = rest.sort_values(["_cell", "accuracy", "id"], ascending=[True, False, True])
    reps = reps.drop_duplicates("_cell").drop(columns="_cell")
    return pd.concat([out[keep_mask], reps], ignore_index=True)


def _cell(values: np.ndarray, n: int) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.zeros(values.shape, dtype=np.int64)
    return np.minimum(((values - lo) / (hi - lo) * n).astype(np.int64), n - 1)


def in_box(frame: pd.DataFrame, energy: Sequence[float], accuracy: Sequence[float]) -> list[str]:
    """Ids of every candidate (not only the drawn ones) inside an energy x accuracy box."""
    e_lo, e_hi = sorted(float(v) for v in energy)
    a_lo, a_hi = sorted(float(v) for v in accuracy)
    mask = frame["energy_uj"].between(e_lo, e_hi) & frame["accuracy"].between(a_lo, a_hi)
    return frame.loc[mask, "id"].tolist()


def knee(frame: pd.DataFrame, steps: int = 101) -> pd.DataFrame:
    """The F_AEB winner at `steps` alphas from 0 to 1 (same ranking as `Store.rank`).

    Columns: alpha, id, accuracy, energy_uj, fitness, changed (True where the winner differs from
    the one at the previous alpha).
    """
    columns = ["alpha", "id", "accuracy", "energy_uj", "fitness", "changed"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    # The first maximum in this order is the one `Store.rank` puts first among equal fitness.
    order = frame.sort_values(TIE_ORDER[0][1:], ascending=TIE_ORDER[1][1:], kind="stable")
    by_tie = order.reset_index(drop=True)
    acc = by_tie["accuracy"].to_numpy()
    energy = by_tie["energy_uj"].to_numpy()
    rows = []
    for alpha in np.linspace(0.0, 1.0, steps):
        scores = f_aeb(acc, energy, float(alpha))
        i = int(np.argmax(scores))
        rows.append((float(alpha), by_tie.at[i, "id"], acc[i], energy[i], float(scores[i])))
    out = pd.DataFrame(rows, columns=columns[:-1])
    out["changed"] = out["id"] != out["id"].shift()
    out.loc[0, "changed"] = False
    return out


def knee_segments(curve: pd.DataFrame) -> pd.DataFrame:
    """Runs of alpha with the same winner: alpha_from, alpha_to, id, accuracy, energy_uj."""
    if curve.empty:
        return pd.DataFrame(columns=["alpha_from", "alpha_to", "id", "accuracy", "energy_uj"])
    group = (curve["id"] != curve["id"].shift()).cumsum()
    segments = curve.groupby(group).agg(
        alpha_from=("alpha", "min"),
        alpha_to=("alpha", "max"),
        id=("id", "first"),
        accuracy=("accuracy", "first"),
        energy_uj=("energy_uj", "first"),
    )
    return segments.reset_index(drop=True)


def alpha_coverage(
    search_points: pd.DataFrame, run_points: pd.DataFrame, steps: int = 101
) -> list[tuple[float, float]]:
    """The alpha ranges a search's candidates cover: where the search's own F_AEB winner (the
    `knee` sweep over its candidates) lies on the Pareto front of the whole run (every search's
    candidates). A scalarised search crowds around its alpha's winner; away from it, its winner
    is dominated by what other searches found. Ranges are (alpha_from, alpha_to) on the sweep's
    grid of `steps` alphas; empty when the search has no candidates."""
    return covered_ranges(knee(search_points, steps), front(run_points)["id"])


def covered_ranges(curve: pd.DataFrame, front_ids: Iterable[str]) -> list[tuple[float, float]]:
    """Runs of alpha in a `knee` sweep whose winner is one of `front_ids`."""
    if curve.empty:
        return []
    covered = curve["id"].isin(set(front_ids)).to_numpy()
    alphas = curve["alpha"].to_numpy()
    ranges: list[tuple[float, float]] = []
    start = None
    for k, alpha in enumerate(alphas):
        if covered[k] and start is None:
            start = float(alpha)
        if start is not None and (k == len(alphas) - 1 or not covered[k + 1]):
            ranges.append((start, float(alpha)))
            start = None
    return ranges


def format_ranges(ranges: Sequence[tuple[float, float]]) -> str:
    """`0.31-0.74, 0.9-1` (or `none`)."""
    if not ranges:
        return "none"
    return ", ".join(f"{a:.2g}" if a == b else f"{a:.2g}-{b:.2g}" for a, b in ranges)


def energy_unit(uj: float) -> tuple[str, float]:
    """The unit `app.common.units` writes an energy of `uj` microjoules in: (name, factor)."""
    return units.energy_unit_uj([uj])


def format_energy(uj: float | None, digits: int = 4) -> str:
    """An energy in microjoules in its own unit: `172 nJ`, `1.25 µJ`, `3.4 mJ` (`-` when
    missing). A table or chart writes all its energies in one unit instead (`app.common.units`)."""
    return units.format_energy(uj, digits)


def block_table(arch: dict) -> pd.DataFrame:
    """The arch as one row per block: MLP ratio, heads, threshold, tau."""
    depth = int(arch["depth"])
    return pd.DataFrame(
        {
            "block": list(range(1, depth + 1)),
            "MLP ratio": [float(x) for x in arch["mlp_ratios"]],
            "heads": [int(x) for x in arch["num_heads"]],
            "threshold": [float(x) for x in arch["thresholds"]],
            "tau": [float(x) for x in arch["taus"]],
        }
    )


def _layer_key(name: str) -> tuple[int, int, str]:
    """Network order for layer names: the SPS stem, the blocks by number, then the rest."""
    parts = name.split(".")
    if parts[0] == "sps":
        return (0, 0, name)
    if parts[0] == "blocks" and len(parts) > 1 and parts[1].isdigit():
        return (1, int(parts[1]), name)
    return (2, 0, name)


def layer_frame(values: dict[str, float], value_name: str) -> pd.DataFrame:
    """A per-layer dict (`layer_energy_uj`, `firing_rates`) as rows in network order.

    The store keeps these dicts with sorted keys, so the order is rebuilt from the names.
    """
    names = sorted(values, key=_layer_key)
    return pd.DataFrame(
        {"layer": names, value_name: [float(values[n]) for n in names]},
        columns=["layer", value_name],
    )
