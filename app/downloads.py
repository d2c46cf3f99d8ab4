"""Files the app serves: a candidate's standalone subnet, its config JSON, leaderboards.

Every path is resolved inside the home folder (`storage.paths.resolve_inside`), so a download can
only ever read a file of the store. Nothing here imports Streamlit.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from app import frames
from storage import paths
from storage.base import Prices, Store
from storage.records import CandidateRecord


def subnet_path(run: str, candidate_id: str) -> Path:
    """Where the app exports a candidate: `runs/<run>/exports/<id>.safetensors` under home."""
    name = paths.validate_name(candidate_id, "candidate id")
    return paths.resolve_inside(paths.export_dir(run), f"{name}.safetensors")


def has_supernet(run: str) -> bool:
    """Whether the run has a supernet checkpoint to export subnets from."""
    from engine.train import latest_checkpoint

    folder = paths.run_dir(run, create=False)
    return folder.is_dir() and latest_checkpoint(folder) is not None


def subnet_file(store: Store, run: str, candidate_id: str) -> Path:
    """The candidate's standalone subnet file, exported on first request.

    An already exported file recorded in the store is served as is; otherwise the candidate is
    exported (recalibrated BN, see `tasks.pipeline.export_candidate`) into the run's export folder.
    `UnknownCandidate` if the run has no such candidate; `BadName` for a path outside home.
    """
    store.get_candidate(run, candidate_id)
    home = paths.home()
    for artefact in store.artefacts(run, "subnet"):
        if artefact.candidate_id == candidate_id:
            recorded = paths.resolve_inside(home, artefact.path)
            if recorded.is_file():
                return recorded
    out = subnet_path(run, candidate_id)
    if not out.is_file():
        from tasks import pipeline

        pipeline.export_candidate(store, run, candidate_id, out)
    return out


def subnet_bytes(store: Store, run: str, candidate_id: str) -> bytes:
    return subnet_file(store, run, candidate_id).read_bytes()


def config_json(record: CandidateRecord) -> str:
    """The candidate's ARCH (the contract's object), as `train --arch ARCH.json` reads it."""
    return json.dumps(record.arch, indent=2, sort_keys=True) + "\n"


def leaderboard(
    store: Store,
    run: str,
    search: str | None,
    alpha: float,
    *,
    profile: Prices | None = None,
) -> pd.DataFrame:
    """Every feasible candidate in scope (within its search's constraints: the default choice,
    as `Store.rank` makes it) ranked by F_AEB at `alpha` with energies under `profile`, best
    first, with its arch."""
    points = frames.load_points(store, run, search, with_arch=True, profile=profile)
    table = frames.with_fitness(points.drop(columns="feasible"), alpha)
    archs = [json.loads(a) for a in table["arch"]]
    table["time_steps"] = [a["time_steps"] for a in archs]
    table["embed_dim"] = [a["embed_dim"] for a in archs]
    table["depth"] = [a["depth"] for a in archs]
    table.insert(1, "alpha", alpha)
    return table


def to_csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode()


def to_parquet(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()
