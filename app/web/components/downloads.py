"""Files the app serves: a candidate's standalone subnet, its config JSON, leaderboards.

Subnets are exported by gpu workers (`tasks.remote`), never in the web process: the app asks for
one, shows the request's progress and serves the file once the recorder has stored its artefact.
Every path is resolved inside the artefact folder (`storage.paths.resolve_inside`), so a download
can only ever read a file a worker wrote there. Nothing here imports Streamlit.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from app.common import frames
from storage.base import Prices, Store
from storage.errors import UnknownCandidate
from storage.records import CandidateRecord
from tasks import remote


def subnet_path(run: str, candidate_id: str) -> Path:
    """Where a worker exports a candidate: `runs/<run>/exports/<id>.safetensors` under the
    artefact folder."""
    return remote.export_file(run, candidate_id)


def has_supernet(run: str) -> bool:
    """Whether the run has a supernet checkpoint to export subnets from (nothing is loaded)."""
    return remote.has_supernet(run)


def subnet_file(store: Store, run: str, candidate_id: str) -> Path | None:
    """The candidate's standalone subnet file if a worker exported it (recorded in the store),
    else None. The web process never exports: `request(...)` asks a gpu worker to.
    `UnknownCandidate` if the run has no such candidate; `BadName` for a record outside the
    artefact folder."""
    store.get_candidate(run, candidate_id)
    return remote.recorded_export(store, run, candidate_id)


def subnet_bytes(store: Store, run: str, candidate_id: str) -> bytes:
    path = subnet_file(store, run, candidate_id)
    if path is None:
        raise UnknownCandidate(f"candidate {candidate_id!r} has no exported subnet yet")
    return path.read_bytes()


def request(store: Store, run: str, candidate_id: str, kind: str) -> remote.Request:
    """Ask a gpu worker to export the candidate (`kind="export"`) or to export it and measure it
    on the test split (`"test"`); returns where the request stands."""
    return remote.request(store, run, candidate_id, kind)


def request_state(store: Store, run: str, candidate_id: str, kind: str) -> remote.Request:
    return remote.state(store, run, candidate_id, kind)


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
    silent_last: bool = False,
) -> pd.DataFrame:
    """Every feasible candidate in scope (within its search's constraints: the default choice,
    as `Store.rank` makes it) ranked by F_AEB at `alpha` with energies under `profile`, best
    first (silent candidates, flagged in `silent`, last with `silent_last`), with its arch."""
    points = frames.load_points(store, run, search, with_arch=True, profile=profile)
    table = frames.with_fitness(points.drop(columns="feasible"), alpha, silent_last=silent_last)
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
