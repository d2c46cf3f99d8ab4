"""Issue 24's search work wired into the pipeline: anchors and the normalized hypervolume's box
for every strategy, the box fixed with each search, each generation's normalized hypervolume
recorded and reported in the history (recomputed for generations recorded before it), and random
and NSGA-II searches recorded before anchors applied to them resumed and shown as they ran."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from engine.errors import AutoSpikformerError
from engine.pareto import FrontBox
from engine.results import EvalResult
from engine.search import RandomConfig, make_search
from engine.search.reference import dataset_front_box
from engine.space import Arch, SearchSpace
from engine.train_config import TrainConfig
from storage.duckdb_store import DuckDBStore
from storage.records import RunRecord, SearchRecord
from tasks import history, pipeline

RUN = "wired"
SPACE = SearchSpace.preset("digits-tiny")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> DuckDBStore:
    s = DuckDBStore(home / "store.duckdb")
    s.create_run(RunRecord(RUN, dataset="digits", space=SPACE.to_dict(), state="searching"))
    return s


def box(profile: str = "45nm-fp32") -> FrontBox:
    return dataset_front_box("digits", SPACE, profile)


def synthetic(b: FrontBox):
    """`evaluate` with accuracies in [0.1, 1] and energies inside the box, fixed per arch."""

    def evaluate(archs: list[Arch]) -> list[EvalResult]:
        out = []
        for arch in archs:
            rng = np.random.default_rng(int(arch.id[:8], 16))
            u, acc = rng.random(), 0.1 + 0.9 * rng.random()
            energy = b.energy_low_uj * (b.energy_high_uj / b.energy_low_uj) ** u
            rates = {"blocks.0.mlp.lif": 0.0 if u > 0.9 else 0.1}  # a few silent ones
            out.append(EvalResult(arch, acc, energy, 1000, 1.0, 0.1, firing_rates=rates))
        return out

    return evaluate


# ---- settings ----------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["evolution", "nsga2", "random"])
def test_every_strategy_takes_the_anchors_and_the_box(strategy: str) -> None:
    b = box().to_dict()
    spec = pipeline.SearchSpec(strategy=strategy, population=4, parents=2, front_box=b)
    assert spec.config().anchors is True and spec.config().front_box == FrontBox(**b)
    assert replace(spec, anchors=False).config().anchors is False


def test_a_bad_box_is_refused_in_one_line() -> None:
    bad = {"chance": 0.1, "energy_low_uj": 2, "energy_high_uj": 1}
    with pytest.raises(AutoSpikformerError, match="front box"):
        pipeline.SearchSpec(front_box=bad).config()


def test_the_box_is_set_even_when_the_reference_is_and_follows_the_profile(home: Path) -> None:
    fp32 = pipeline.SearchSpec(reference_energy_uj=5.0)
    got = pipeline.with_reference(fp32, RUN, f"{RUN}.evolution.1", "digits", SPACE)
    assert got.reference_energy_uj == 5.0 and got.front_box == box().to_dict()
    int8 = pipeline.with_reference(
        replace(fp32, energy_profile="45nm-int8"), RUN, f"{RUN}.evolution.1", "digits", SPACE
    )
    assert int8.front_box == box("45nm-int8").to_dict()
    assert int8.front_box["energy_high_uj"] < got.front_box["energy_high_uj"]
    assert not (home / "runs").exists()  # read-only: nothing created


def test_validate_search_returns_the_spec_with_its_box() -> None:
    config = TrainConfig(dataset="digits", space=SPACE.to_dict(), epochs=1)
    spec = pipeline.validate_search(pipeline.SearchSpec(strategy="random"), config)
    assert spec.front_box == box().to_dict()
    with pytest.raises(AutoSpikformerError, match="alpha"):
        pipeline.validate_search(pipeline.SearchSpec(alpha=2.0), config)


# ---- the normalized hypervolume in the history -------------------------------------------------
def record_search(
    store: DuckDBStore,
    search_id: str,
    settings: dict,
    strip: bool = False,
    generations: int = 3,
    population: int = 4,
):
    """Run a `generations` x `population` random search on the synthetic evaluator and record it
    as `search_id`; with `strip`, its generations as recorded before the normalized hypervolume
    was kept."""
    store.create_search(SearchRecord(search_id, RUN, "random", settings=settings))
    config = RandomConfig(population=population, generations=generations, seed=5, front_box=box())
    search = make_search("random", SPACE, config, synthetic(box()))
    summaries = []
    for summary in search.run():
        summaries.append(summary)
        if strip:
            summary = replace(summary, hypervolume_normalized=None)
        pipeline.record_generation(store, RUN, search_id, "random", summary)
    return summaries


def test_generations_record_and_report_their_normalized_hypervolume(store) -> None:
    spec = pipeline.with_box(pipeline.SearchSpec(strategy="random"), "digits", SPACE)
    summaries = record_search(store, f"{RUN}.random.1", asdict(spec))
    stored = [g.hypervolume_normalized for g in store.generations(f"{RUN}.random.1")]
    assert stored == [s.hypervolume_normalized for s in summaries]
    assert all(0 < v < 1 for v in stored) and stored == sorted(stored)
    generations = history.history(store, RUN)["generations"]
    assert [g["hypervolume_normalized"] for g in generations] == stored
    assert set(generations[0]) == {
        "generation", "best_fitness", "hypervolume", "hypervolume_normalized", "predictor_tau",
        "evaluated", "seconds",
    }  # fmt: skip
    assert [g["predictor_tau"] for g in generations] == [None] * 3  # random: never screened


def test_old_generations_are_recomputed_from_the_searchs_candidates(store) -> None:
    """A search recorded before the value was kept (no stored box either): each generation's
    value comes back from the candidates evaluated up to it, in the box of its profile."""
    summaries = record_search(store, f"{RUN}.random.1", {"alpha": 0.5}, strip=True)
    assert [g.hypervolume_normalized for g in store.generations(f"{RUN}.random.1")] == [None] * 3
    got = [g["hypervolume_normalized"] for g in history.history(store, RUN)["generations"]]
    assert got == pytest.approx([s.hypervolume_normalized for s in summaries], abs=1e-12)


def test_old_generations_recomputed_over_many_generations_match_the_search(store) -> None:
    """The recomputation carries the front from generation to generation: over 12 generations
    every value equals the one the search computed from everything it had evaluated so far."""
    summaries = record_search(
        store, f"{RUN}.random.1", {"alpha": 0.5}, strip=True, generations=12, population=6
    )
    got = [g["hypervolume_normalized"] for g in history.history(store, RUN)["generations"]]
    want = [s.hypervolume_normalized for s in summaries]
    assert len(got) == 12 and len(set(want)) > 3  # the front moved several times
    assert got == pytest.approx(want, abs=1e-12)


def test_candidates_are_recorded_with_the_engines_silent_flag(store) -> None:
    summaries = record_search(store, f"{RUN}.random.1", {})
    flags = {r.id: r.silent for s in summaries for r in s.evaluated}
    assert {c.id: c.silent for c in store.candidates(RUN)} == flags
    assert any(flags.values()) and not all(flags.values())
    # The search's best is ranked as `candidates` ranks by default: silent ones last.
    winner = store.rank(RUN, f"{RUN}.random.1", alpha=0.0, top=1)[0][0]
    with store.connect(write=True) as con:
        con.execute("UPDATE candidates SET silent = true WHERE id = $i", {"i": winner.id})
    out = pipeline.search_result(store, RUN, f"{RUN}.random.1", alpha=0.0)
    loud = store.rank(RUN, f"{RUN}.random.1", alpha=0.0, top=1, silent_last=True)[0][0]
    assert (out["best"]["id"], out["best"]["silent"]) == (loud.id, False) and loud.id != winner.id
    assert winner.id in out["pareto"]  # the front keeps every feasible candidate


# ---- random and NSGA-II searches recorded before they took anchors ------------------------------
def legacy_state(run: str, search_id: str, strategy: str = "random") -> None:
    """The saved state of a search created before anchors applied to its strategy: its
    settings have neither `anchors` nor `front_box`."""
    search = make_search(
        strategy, SPACE, RandomConfig(population=4, generations=2), synthetic(box())
    )
    state = search.state_dict()
    for key in ("anchors", "front_box"):
        state["config"].pop(key)
    path = pipeline.search_state_path(run, search_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state))


def test_a_legacy_random_search_resumes_without_anchors(home: Path) -> None:
    legacy_state(RUN, f"{RUN}.random.1")
    spec = pipeline.with_box(pipeline.SearchSpec(strategy="random", population=4, generations=2),
                             "digits", SPACE)  # fmt: skip
    assert spec.anchors is True  # what its stored settings say
    ends = {a.id for a in SPACE.anchors()}
    resumed = pipeline.search_from_state(
        RUN, f"{RUN}.random.1", spec, SPACE, synthetic(box()), dataset="digits"
    )
    assert not ends <= {r.id for r in resumed.step().evaluated}
    fresh = pipeline.search_from_state(
        RUN, f"{RUN}.random.2", spec, SPACE, synthetic(box()), dataset="digits"
    )
    assert ends <= {r.id for r in fresh.step().evaluated}  # a new random search takes them


def test_anchors_are_shown_as_each_search_ran(home: Path) -> None:
    legacy = {"strategy": "random", "anchors": True}
    legacy_state(RUN, f"{RUN}.random.1")
    assert history.anchors_applied(RUN, f"{RUN}.random.1", legacy) is False
    # Not started yet (no saved state): it will start with them.
    assert history.anchors_applied(RUN, f"{RUN}.random.9", legacy) is True
    new = {**legacy, "front_box": box().to_dict()}
    assert history.anchors_applied(RUN, f"{RUN}.random.1", new) is True
    assert history.anchors_applied(RUN, None, {**new, "anchors": False}) is False
    before_anchors = {"strategy": "evolution"}
    assert history.anchors_applied(RUN, f"{RUN}.evolution.1", before_anchors) is False
    assert history.anchors_applied(RUN, None, {}) is None


def test_the_run_settings_show_a_legacy_nsga2_search_without_anchors(store, home: Path) -> None:
    sid = f"{RUN}.nsga2.1"
    store.create_search(SearchRecord(sid, RUN, "nsga2", settings={"anchors": True}))
    legacy_state(RUN, sid, "random")  # only its settings are read
    assert history.settings(store, store.get_run(RUN))["anchors"] is False
