"""The paper's figures and tables for one run, written as files (`autospikformer report`).

- `energy_accuracy.{html,png}`: every candidate of every search, energy against accuracy, with each
  search's Pareto front (the paper's Fig. 5/6: evolution against the random baseline).
- `hypervolume.{html,png,csv}`: the normalized hypervolume of each search's front after every
  generation (accuracy above chance x log10 energy, in [0, 1]; `engine.pareto`), all in one box
  computed for the report's profile, so the curves compare; the CSV also holds the raw
  hypervolume (uJ x accuracy, reference: the space's energy bound under the report's profile,
  accuracy 0) that the paper's comparison uses, and the value each search recorded under its own
  profile's reference.
- `pareto.{csv,html}`: the run's Pareto candidates with T, embed dim, depth and the per-block MLP
  ratios, heads, thresholds and taus (the paper's Tables 2/3), lowest energy first.

Only feasible candidates (within their search's energy budget and parameter limit) are drawn,
compared and tabled, with energies under one hardware profile (the paper's `45nm-fp32` unless
asked otherwise). Files for machines (the CSVs) keep numbers under machine names, the unit in the
name (`energy_uj`: microjoules); what people read (the figures' axes, `pareto.html`) writes every
energy of one figure or table in one unit (`energy per sample (nJ)`, `app.common.units`) and
counts with SI suffixes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from app.common import charts, frames, units
from engine.pareto import hypervolume
from engine.profiles import DEFAULT_PROFILE, get_profile
from storage.base import Prices, Store
from storage.errors import BadArgument, one_line


@dataclass(frozen=True)
class Report:
    run: str
    out: Path
    files: tuple[Path, ...]
    candidates: int
    pareto: int
    # Each search's final normalized hypervolume under the report's profile (None: no box).
    hypervolume_normalized: dict[str, float | None]

    def to_dict(self) -> dict[str, object]:
        return {
            "run": self.run,
            "out": str(self.out),
            "files": [str(f) for f in self.files],
            "candidates": self.candidates,
            "pareto": self.pareto,
            "hypervolume_normalized": dict(self.hypervolume_normalized),
        }


def search_points(store: Store, run: str, profile: Prices | None = None) -> pd.DataFrame:
    """Every feasible candidate of every search of the run (not deduplicated: each search keeps
    its own), energies under `profile`, with a `group` column naming the search by strategy."""
    parts = []
    for search in store.list_searches(run):
        points = frames.load_points(store, run, search.id, profile=profile)
        if not points.empty:
            parts.append(points.assign(group=f"{search.strategy} ({search.id})"))
    if not parts:
        return pd.DataFrame(columns=[*frames.POINT_COLUMNS, "group"])
    return pd.concat(parts, ignore_index=True)


def hypervolume_frame(
    store: Store, run: str, points: pd.DataFrame, profile: Prices | str = DEFAULT_PROFILE
) -> pd.DataFrame:
    """Per search and generation, over the candidates so far (`points`, energies under
    `profile`): the normalized hypervolume in the box of the run's space computed for `profile`
    (`frames.front_box`), the raw hypervolume at that box's energy bound (`reference_energy_uj`,
    the space's energy bound under `profile`) and accuracy 0, and the raw value the search
    recorded under its own profile's reference (`recorded_hypervolume`: equal when the search
    priced energy under `profile`). A box is never taken from a search or maxed across
    searches: their profiles may differ from `profile` (issue 24's unit mix)."""
    box = frames.front_box(store.get_run(run), profile)
    ref = box.energy_high_uj if box is not None else np.nan
    rows = []
    for search in store.list_searches(run):
        recorded = {g.generation: g.hypervolume for g in store.generations(search.id)}
        mine = points[points["search"] == search.id]
        generations = sorted(set(recorded) | set(mine["generation"].tolist()))
        for g in generations:
            so_far = mine[mine["generation"] <= g]
            raw = (
                hypervolume(so_far["accuracy"].to_numpy(), so_far["energy_uj"].to_numpy(), ref, 0)
                if box is not None and len(so_far)
                else (0.0 if box is not None else np.nan)
            )
            normalized = frames.normalized(so_far, box)
            rows.append(
                {
                    "search": search.id,
                    "strategy": search.strategy,
                    "generation": int(g),
                    "hypervolume_normalized": np.nan if normalized is None else normalized,
                    "hypervolume": raw,
                    "reference_energy_uj": ref,
                    "recorded_hypervolume": recorded.get(g, np.nan),
                    "evaluated": len(so_far),
                }
            )
    columns = ["search", "strategy", "generation", "hypervolume_normalized", "hypervolume"]
    columns += ["reference_energy_uj", "recorded_hypervolume", "evaluated"]
    return pd.DataFrame(rows, columns=columns)


def pareto_table(
    store: Store, run: str, alpha: float, profile: Prices | None = None
) -> pd.DataFrame:
    """The run's feasible Pareto candidates (run scope), lowest energy first, with their genes;
    energies under `profile` (`energy_uj`, microjoules)."""
    points = frames.load_points(store, run, with_arch=True, profile=profile)
    scored = frames.with_fitness(points, alpha)
    front = frames.front(scored)
    archs = [json.loads(a) for a in front["arch"]]

    def per_block(key: str) -> list[str]:
        return [" ".join(f"{v:g}" for v in a[key]) for a in archs]

    table = pd.DataFrame(
        {
            "id": front["id"],
            "strategy": front["strategy"],
            "search": front["search"],
            "generation": front["generation"],
            "accuracy": front["accuracy"],
            "energy_uj": front["energy_uj"],
            "params": front["params"],
            "sops": front["sops"],
            "firing_rate": front["firing_rate"],
            "fitness": front["fitness"],
            "rank_at_alpha": front["rank"],
            "time_steps": [a["time_steps"] for a in archs],
            "embed_dim": [a["embed_dim"] for a in archs],
            "depth": [a["depth"] for a in archs],
            "mlp_ratios": per_block("mlp_ratios"),
            "num_heads": per_block("num_heads"),
            "thresholds": per_block("thresholds"),
            "taus": per_block("taus"),
        }
    )
    return table


def pareto_for_people(table: pd.DataFrame) -> pd.DataFrame:
    """`pareto_table` as `pareto.html` shows it: accuracy in %, energy in the table's one unit
    (`energy (nJ)`), params and SOPs with SI suffixes."""
    unit, energies = units.format_energy_uj(table["energy_uj"])
    out = table.rename(columns={"energy_uj": units.energy_title(unit)})
    out[units.energy_title(unit)] = [f"{e:.4g}" for e in energies]
    out["accuracy"] = table["accuracy"].map(lambda a: f"{a:.2%}")
    out["params"] = table["params"].map(units.format_ops)
    out["sops"] = table["sops"].map(units.format_ops)
    return out.rename(columns={"sops": "SOPs"})


def _save(chart: alt.TopLevelMixin, out: Path, stem: str) -> list[Path]:
    html, png = out / f"{stem}.html", out / f"{stem}.png"
    chart.save(str(html), inline=True)
    chart.save(str(png), scale_factor=2)
    return [html, png]


def write_report(
    store: Store, run: str, out: Path, *, alpha: float = 0.5, profile: str = DEFAULT_PROFILE
) -> Report:
    """Write the figures and tables of `run` into `out` (created if missing), energies under the
    hardware `profile`.

    `UnknownRun` for a run that does not exist; `BadArgument` when it has no feasible candidates
    yet or `out` is not a folder.
    """
    store.get_run(run)
    prices = get_profile(profile)
    points = search_points(store, run, prices)
    if points.empty:
        why = "feasible candidates" if store.count_candidates(run) else "candidates yet"
        raise BadArgument(f"run {run!r} has no {why}; nothing to report")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadArgument(f"--out {one_line(str(out), 120)} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    fronts = pd.concat(
        [frames.front(group) for _, group in points.groupby("group", sort=True)],
        ignore_index=True,
    )
    energy = charts.fronts_chart(
        points,
        fronts,
        group="group",
        title=f"{run}: energy ({profile}) vs accuracy, each search with its Pareto front",
    )
    files += _save(energy, out, "energy_accuracy")
    volumes = hypervolume_frame(store, run, points, prices)
    files += _save(
        charts.hypervolume_chart(
            volumes, title=f"{run}: {frames.NORMALIZED_HV_LABEL} per generation ({profile})"
        ),
        out,
        "hypervolume",
    )
    volumes.to_csv(out / "hypervolume.csv", index=False)
    files.append(out / "hypervolume.csv")
    table = pareto_table(store, run, alpha, prices)
    table.to_csv(out / "pareto.csv", index=False)
    (out / "pareto.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>{run}: Pareto candidates</title>"
        f"<h1>{run}: Pareto candidates (F_AEB at alpha={alpha:g}, energy under {profile})</h1>"
        + pareto_for_people(table).to_html(index=False, float_format=lambda v: f"{v:.4g}")
    )
    files += [out / "pareto.csv", out / "pareto.html"]
    return Report(
        run=run,
        out=out,
        files=tuple(files),
        candidates=int(points["id"].nunique()),
        pareto=len(table),
        hypervolume_normalized={
            search: (None if pd.isna(value) else float(value))
            for search, value in volumes.groupby("search")["hypervolume_normalized"].last().items()
        },
    )
