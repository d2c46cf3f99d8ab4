"""Downloads: files only from inside the home folder; leaderboards in CSV and Parquet."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from app.web.components import downloads
from engine.space import Arch
from storage.errors import BadName, UnknownCandidate


def test_subnet_path_stays_inside_the_home_folder(filled) -> None:
    path = downloads.subnet_path(filled.run, "abcdef0123456789")
    assert path.resolve().is_relative_to(filled.home.resolve())
    with pytest.raises(BadName):
        downloads.subnet_path(filled.run, "../../etc/passwd")
    with pytest.raises(BadName):
        downloads.subnet_path("../outside", "abcdef0123456789")


def test_unknown_candidate_is_refused_before_any_export(filled) -> None:
    with pytest.raises(UnknownCandidate):
        downloads.subnet_file(filled.store, filled.run, "feedfacefeedface")
    assert not downloads.has_supernet(filled.run)


def test_a_recorded_export_outside_home_is_never_served(filled) -> None:
    from storage.records import ArtefactRecord

    record = filled.records[filled.evolution][0]
    link = filled.home / "runs" / filled.run / "exports"
    link.mkdir(parents=True)
    (link / "evil.safetensors").symlink_to("/etc/hostname")
    filled.store.add_artefact(
        ArtefactRecord(
            run=filled.run,
            kind="subnet",
            path=f"runs/{filled.run}/exports/evil.safetensors",
            candidate_id=record.id,
        )
    )
    with pytest.raises(BadName):
        downloads.subnet_file(filled.store, filled.run, record.id)


def test_config_json_is_the_arch(filled) -> None:
    record = filled.records[filled.random][0]
    arch = Arch.from_dict(json.loads(downloads.config_json(record)))
    assert arch.id == record.id


def test_leaderboard_exports_rank_like_the_store(filled) -> None:
    table = downloads.leaderboard(filled.store, filled.run, None, 0.8)
    ranked = filled.store.rank(filled.run, alpha=0.8)
    assert table["id"].tolist() == [r.id for r, _ in ranked]
    csv = pd.read_csv(io.BytesIO(downloads.to_csv(table)))
    parquet = pd.read_parquet(io.BytesIO(downloads.to_parquet(table)))
    assert csv["id"].tolist() == parquet["id"].tolist() == table["id"].tolist()
    assert {"rank", "alpha", "fitness", "accuracy", "energy_uj", "time_steps"} <= set(csv.columns)


def test_the_default_leaderboard_download_is_feasible_only(filled) -> None:
    """Issue 10: with a budget, no default download row is over it."""
    from dataclasses import replace

    from engine.profiles import PROFILES
    from storage.records import SearchRecord

    sid = f"{filled.run}.evolution.8"
    filled.store.create_search(SearchRecord(id=sid, run=filled.run, strategy="evolution"))
    records = filled.records[filled.evolution]
    budget = sorted(r.energy_uj for r in records)[20]
    filled.store.add_candidates(
        replace(r, search=sid, feasible=False, violation="energy_budget")
        if r.energy_uj > budget
        else replace(r, search=sid)
        for r in records
    )
    table = downloads.leaderboard(filled.store, filled.run, sid, 0.0)
    assert len(table) == 21 and (table["energy_uj"] <= budget).all()
    assert table["id"].tolist() == [r.id for r, _ in filled.store.rank(filled.run, sid, 0.0)]
    loihi = downloads.leaderboard(
        filled.store, filled.run, sid, 1.0, profile=PROFILES["loihi-2018"]
    )
    ranked = filled.store.rank(filled.run, sid, 1.0, profile=PROFILES["loihi-2018"])
    assert loihi["energy_uj"].tolist() == pytest.approx([r.energy_uj for r, _ in ranked])
