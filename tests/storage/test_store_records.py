"""Records check their fields on construction and round-trip through rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from storage.errors import BadRecord
from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    GenerationRecord,
    RunRecord,
    SearchRecord,
)

ARCH = {
    "embed_dim": 192,
    "depth": 2,
    "mlp_ratios": [4, 3.5],
    "num_heads": [6, 12],
    "time_steps": 2,
    "thresholds": [1, 1.2],
    "taus": [2, 2.5],
}


def candidate(**kw) -> CandidateRecord:
    base = dict(run="r1", search="s1", id="0123abcd", arch=ARCH, accuracy=0.8, energy_uj=12.5)
    return CandidateRecord(**{**base, **kw})


@pytest.mark.parametrize(
    "record",
    [
        RunRecord("r1", "ana", "digits", {"depth": [2]}, {"epochs": 3}, "training", 0.5, "ok"),
        SearchRecord("s1", "r1", "evolution", {"population": 8}, "searching", 2),
        candidate(firing_rates={"l0": 0.1}, layer_energy_uj={"l0": 1.5}, generation=3),
        GenerationRecord("s1", 2, 0.31, "0123abcd", 0.77, 16),
        ArtefactRecord("r1", "subnet", "runs/r1/exports/x.safetensors", "0123abcd"),
    ],
    ids=lambda r: type(r).__name__,
)
def test_row_and_dict_round_trip(record) -> None:
    row = record.to_row()
    assert all(not isinstance(v, dict) for v in row.values())
    assert type(record).from_row(row) == record
    assert type(record).from_dict(record.to_dict()) == record
    json.dumps(record.to_dict())


def test_numbers_are_normalised() -> None:
    rec = candidate(accuracy=np.float32(0.5), params=np.int64(7), generation=2.0)
    assert type(rec.accuracy) is float and type(rec.params) is int and rec.generation == 2


def test_dict_fields_are_copied_and_tuples_become_lists() -> None:
    arch = dict(ARCH, mlp_ratios=(4, 3.5))
    rec = candidate(arch=arch)
    arch["depth"] = 99
    assert rec.arch["depth"] == 2 and rec.arch["mlp_ratios"] == [4, 3.5]


@pytest.mark.parametrize(
    "change",
    [
        {"accuracy": 1.5},
        {"accuracy": float("nan")},
        {"accuracy": "0.8"},
        {"accuracy": True},
        {"energy_uj": -1.0},
        {"energy_uj": float("inf")},
        {"params": 1.5},
        {"generation": -1},
        {"arch": {}},
        {"arch": [1, 2]},
        {"arch": {"x": float("nan")}},
        {"arch": {"x": object()}},
        {"firing_rates": {"l0": "high"}},
        {"firing_rates": {1: 0.1}},
        {"id": ""},
        {"id": "../x"},
        {"run": "a/b"},
    ],
)
def test_candidate_rejects_bad_fields(change: dict) -> None:
    with pytest.raises(BadRecord) as err:
        candidate(**change)
    assert "\n" not in str(err.value)


def test_run_rejects_bad_state_and_progress() -> None:
    with pytest.raises(BadRecord, match="queued"):
        RunRecord("r1", state="paused")
    with pytest.raises(BadRecord, match="progress"):
        RunRecord("r1", progress=-0.1)


def test_run_updated_at_defaults_to_created_at() -> None:
    rec = RunRecord("r1", created_at=5.0)
    assert rec.updated_at == 5.0


@pytest.mark.parametrize("path", ["/etc/passwd", "../x.pt", "runs/../../x", "", ".", "a\\b"])
def test_artefact_path_must_stay_relative(path: str) -> None:
    with pytest.raises(BadRecord):
        ArtefactRecord("r1", "supernet", path)


def test_artefact_path_is_normalised() -> None:
    assert ArtefactRecord("r1", "supernet", "runs//r1/./a.pt").path == "runs/r1/a.pt"


def test_artefact_subnet_needs_a_candidate_and_supernet_has_none() -> None:
    with pytest.raises(BadRecord):
        ArtefactRecord("r1", "subnet", "runs/r1/x.st")
    with pytest.raises(BadRecord):
        ArtefactRecord("r1", "supernet", "runs/r1/x.pt", candidate_id="abc")
    with pytest.raises(BadRecord):
        ArtefactRecord("r1", "weights", "runs/r1/x.pt")


def test_from_dict_rejects_unknown_and_missing_fields() -> None:
    with pytest.raises(BadRecord, match="colour"):
        RunRecord.from_dict({"name": "r1", "colour": "red"})
    with pytest.raises(BadRecord):
        SearchRecord.from_dict({"id": "s1"})


def test_to_contract_is_the_public_candidate() -> None:
    rec = candidate(params=10, firing_rate=0.2, generation=4)
    assert rec.to_contract(0.75) == {
        "id": "0123abcd",
        "arch": ARCH,
        "accuracy": 0.8,
        "energy_uj": 12.5,
        "params": 10,
        "firing_rate": 0.2,
        "fitness": 0.75,
        "generation": 4,
        "feasible": True,
        "ops": {"macs": None, "sops": 0.0, "neuron_updates": None},
        "silent": False,
    }


def test_from_eval_takes_an_engine_result_dict() -> None:
    result = {
        "arch": ARCH,
        "id": "0123abcd",
        "accuracy": 0.8,
        "energy_uj": 12.5,
        "params": 10,
        "sops": 3.0,
        "firing_rate": 0.2,
        "firing_rates": {"l0": 0.2},
        "layer_energy_uj": {"l0": 12.5},
        "extra": "ignored",
    }
    rec = CandidateRecord.from_eval(result, run="r1", search="s1", generation=2, worker="w")
    assert (rec.sops, rec.generation, rec.worker, rec.firing_rates) == (3.0, 2, "w", {"l0": 0.2})
    with pytest.raises(BadRecord, match="energy_uj"):
        CandidateRecord.from_eval({"id": "x", "arch": ARCH, "accuracy": 0.5}, run="r1", search="s")


def test_from_eval_keeps_the_engines_silent_flag() -> None:
    from engine.results import EvalResult
    from engine.space import Arch

    arch = Arch(192, 2, (4.0, 4.0), (2, 2), 4, (1.0, 1.0), (2.0, 2.0))
    rates = {"blocks.0.mlp.lif": 0.1, "blocks.1.mlp.lif": 0.0}
    result = EvalResult(arch, 0.5, 1.0, 10, 1.0, 0.05, firing_rates=rates)
    rec = CandidateRecord.from_eval(result.to_dict(), run="r1", search="s1")
    assert result.silent and rec.silent is True
    assert rec.to_contract(0.5)["silent"] is True


def test_records_are_frozen() -> None:
    rec = RunRecord("r1")
    with pytest.raises(AttributeError):
        rec.state = "done"  # type: ignore[misc]
