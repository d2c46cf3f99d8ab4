"""The predictor wired into the pipeline: `SearchSpec.predictor` reaches the engine's settings
(never for random), a search's prior is the run's other candidates stored before it was created,
each generation's predictor tau is recorded and reported, and the workers' reconciler steps and
replays a screened search with the same prior."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from engine.errors import AutoSpikformerError
from engine.results import EvalResult
from engine.search import PREDICTOR_DEFAULT, EvolutionConfig, NSGA2Config, make_search
from engine.search.reference import dataset_front_box
from engine.space import Arch, SearchSpace
from storage.duckdb_store import DuckDBStore
from storage.memory_store import MemoryStore
from storage.records import CandidateRecord, RunRecord, SearchRecord
from tasks import history, pipeline
from tasks.plumbing.result_cache import ResultCache
from tasks.reconciler import Reconciler
from tests.tasks.test_reconciler import ListQueue

RUN = "screened"
SPACE = SearchSpace.preset("digits-tiny")
BOX = dataset_front_box("digits", SPACE, "45nm-fp32")


def measure(arch: Arch) -> EvalResult:
    """A fixed result per arch that a model can learn: bigger archs more accurate and costlier."""
    noise = np.random.default_rng(int(arch.id[:8], 16)).random()
    size = arch.embed_dim / 64 * arch.depth / 2 * arch.time_steps / 4
    accuracy = float(np.clip(0.3 + 0.5 * size + 0.1 * noise, 0.1, 1.0))
    energy = BOX.energy_low_uj * (BOX.energy_high_uj / BOX.energy_low_uj) ** (0.8 * size)
    ops = {"macs": {"head": 1e3}, "sops": {"blocks.0.mlp.fc1_linear": energy * 1e6 / 0.9}}
    return EvalResult(arch, accuracy, energy, 1000, energy * 1e6 / 0.9, 0.1, macs=1e3,
                      neuron_updates=0.0, layer_ops=ops)  # fmt: skip


def evaluate(archs: list[Arch]) -> list[EvalResult]:
    return [measure(a) for a in archs]


def spec(**kw) -> pipeline.SearchSpec:
    base = dict(strategy="evolution", generations=3, population=8, parents=4, seed=2)
    return pipeline.with_box(pipeline.SearchSpec(**{**base, **kw}), "digits", SPACE)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> DuckDBStore:
    s = DuckDBStore(home / "store.duckdb")
    s.create_run(RunRecord(RUN, dataset="digits", space=SPACE.to_dict(), state="searching"))
    return s


# ---- settings ----------------------------------------------------------------------------------
def test_the_setting_reaches_the_evolution_and_nsga2() -> None:
    assert pipeline.SearchSpec().predictor is PREDICTOR_DEFAULT
    assert pipeline.SearchSpec(strategy="random").predictor is False  # random has none
    evolution = pipeline.SearchSpec(predictor=True).config()
    assert isinstance(evolution, EvolutionConfig) and evolution.predictor is True
    nsga2 = pipeline.SearchSpec(strategy="nsga2", predictor=True).config()
    assert isinstance(nsga2, NSGA2Config) and nsga2.predictor is True
    assert pipeline.SearchSpec(predictor=False).config().predictor is False
    assert asdict(pipeline.SearchSpec(predictor=True))["predictor"] is True  # stored with it


def test_searches_recorded_before_the_predictor_run_as_the_default() -> None:
    legacy = {k: v for k, v in asdict(pipeline.SearchSpec()).items() if k != "predictor"}
    assert pipeline.SearchSpec(**legacy).config().predictor is PREDICTOR_DEFAULT


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"strategy": "random", "predictor": True}, "random search has no predictor"),
        ({"predictor": "yes"}, "predictor must be true or false"),
    ],
)
def test_a_bad_predictor_setting_is_one_line(changes: dict, match: str) -> None:
    with pytest.raises(AutoSpikformerError, match=match) as err:
        pipeline.SearchSpec(**changes).validate()
    assert "\n" not in str(err.value)


def test_the_settings_show_whether_each_search_screens(store, home: Path) -> None:
    assert history.predictor_applied(RUN, None, {}) is None
    assert history.predictor_applied(RUN, None, {"strategy": "random"}) is False
    assert history.predictor_applied(RUN, None, {"strategy": "nsga2", "predictor": True}) is True
    # Recorded before the predictor: as its saved state says, the default before it starts.
    sid = f"{RUN}.evolution.1"
    assert history.predictor_applied(RUN, sid, {"strategy": "evolution"}) is PREDICTOR_DEFAULT
    path = pipeline.search_state_path(RUN, sid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"config": {"population": 8}}))
    assert history.predictor_applied(RUN, sid, {"strategy": "evolution"}) is False
    store.create_search(SearchRecord(sid, RUN, "evolution", settings=asdict(spec(predictor=True))))
    assert history.settings(store, store.get_run(RUN))["predictor"] is True


# ---- the prior ---------------------------------------------------------------------------------
def stored(search_id: str, archs: list[Arch], created_at: float, **kw) -> list[CandidateRecord]:
    return [
        CandidateRecord.from_eval(measure(a).to_dict(), run=RUN, search=search_id,
                                  created_at=created_at + i, **kw)
        for i, a in enumerate(archs)
    ]  # fmt: skip


def draw(n: int, seed: int) -> list[Arch]:
    rng = np.random.default_rng(seed)
    out: dict[str, Arch] = {}
    while len(out) < n:
        arch = SPACE.sample(rng)
        out[arch.id] = arch
    return list(out.values())


def test_the_prior_is_the_runs_other_candidates_stored_before_the_search(store) -> None:
    archs = draw(12, seed=0)
    store.create_search(SearchRecord(f"{RUN}.random.1", RUN, "random", created_at=100.0))
    store.create_search(SearchRecord(f"{RUN}.evolution.2", RUN, "evolution", created_at=200.0))
    store.create_search(SearchRecord(f"{RUN}.random.3", RUN, "random", created_at=300.0))
    store.add_candidates(stored(f"{RUN}.random.1", archs[:4], 110.0))
    store.add_candidates(stored(f"{RUN}.evolution.2", archs[4:6], 210.0))  # its own
    store.add_candidates(stored(f"{RUN}.random.1", archs[6:8], 190.0))  # before it: in
    store.add_candidates(stored(f"{RUN}.random.3", archs[8:], 310.0))  # after it: out
    on = spec(predictor=True)
    prior = pipeline.search_prior(store, RUN, f"{RUN}.evolution.2", on)
    assert sorted(r.id for r in prior) == sorted(a.id for a in archs[:4] + archs[6:8])
    assert prior == pipeline.search_prior(store, RUN, f"{RUN}.evolution.2", on)  # stable
    assert prior[0] == measure(prior[0].arch)  # the engine's result, as it was evaluated
    # Priced under the search's profile; none without the predictor.
    int8 = pipeline.search_prior(
        store, RUN, f"{RUN}.evolution.2", replace(on, energy_profile="45nm-int8")
    )
    assert {r.energy_profile for r in int8} == {"45nm-int8"} and len(int8) == len(prior)
    assert pipeline.search_prior(store, RUN, f"{RUN}.evolution.2", spec(predictor=False)) == []
    # A search not recorded yet: what was stored before the time given.
    early = pipeline.search_prior(store, RUN, f"{RUN}.evolution.9", on, created_at=150.0)
    assert sorted(r.id for r in early) == sorted(a.id for a in archs[:4])


# ---- recorded and reported ---------------------------------------------------------------------
def test_each_screened_generation_records_and_reports_its_tau(store) -> None:
    """Population 8: generation 0 fits the predictor, so every later generation is screened."""
    on = spec(predictor=True)
    sid = f"{RUN}.evolution.1"
    store.create_search(SearchRecord(sid, RUN, "evolution", settings=asdict(on)))
    search = pipeline.search_from_state(RUN, sid, on, SPACE, evaluate, dataset="digits")
    for summary in search.run():
        pipeline.record_generation(store, RUN, sid, "evolution", summary, spec=on)
    taus = [g.predictor_tau for g in store.generations(sid)]
    assert taus[0] is None and all(t is not None and -1 <= t <= 1 for t in taus[1:])
    generations = history.history(store, RUN)["generations"]
    assert [g["predictor_tau"] for g in generations] == taus
    off = spec(predictor=False)
    plain = make_search("evolution", SPACE, off.config(), evaluate).run()
    assert all(s.predictor_tau is None for s in plain)


def test_a_prior_screens_a_small_population_and_a_resume_repeats_it(store) -> None:
    """Population 4 alone is too few to fit; with the run's earlier candidates it is screened
    from generation 1 on, and the search resumed with the same prior proposes the same archs."""
    on = spec(predictor=True, population=4, parents=2)
    sid = f"{RUN}.evolution.2"
    store.create_search(SearchRecord(f"{RUN}.random.1", RUN, "random", created_at=100.0))
    store.add_candidates(stored(f"{RUN}.random.1", draw(10, seed=1), 110.0))
    store.create_search(SearchRecord(sid, RUN, "evolution", settings=asdict(on), created_at=200.0))
    prior = pipeline.search_prior(store, RUN, sid, on)
    whole = pipeline.search_from_state(RUN, sid, on, SPACE, evaluate, dataset="digits", prior=prior)
    summaries = whole.run()
    assert summaries[0].predictor_tau is None and summaries[1].predictor_tau is not None
    cold = make_search("evolution", SPACE, on.config(), evaluate).run()
    assert cold[1].predictor_tau is None  # without the prior: too few to fit
    first = pipeline.search_from_state(RUN, sid, on, SPACE, evaluate, dataset="digits", prior=prior)
    first.step()
    pipeline.save_search_state(RUN, sid, first)
    resumed = pipeline.search_from_state(
        RUN, sid, on, SPACE, evaluate, dataset="digits", prior=prior
    )
    rest = resumed.run()
    assert [r.id for s in rest for r in s.evaluated] == [
        r.id for s in summaries[1:] for r in s.evaluated
    ]


# ---- the workers: a launched search with a prior ------------------------------------------------
def test_the_reconciler_screens_a_launched_search_and_replays_it(home: Path) -> None:
    """The launched search's prior is the run's candidates stored before its record: the same at
    every advance and in the final replay (which would find results missing otherwise)."""
    on = spec(predictor=True, population=4, parents=2)
    store = MemoryStore()
    settings = {"train": {"epochs": 1}, "search": asdict(on), "launch": {"device": "cpu"}}
    store.create_run(RunRecord(RUN, dataset="digits", space=SPACE.to_dict(), settings=settings))
    store.create_search(SearchRecord(f"{RUN}.random.9", RUN, "random", created_at=1.0))
    store.add_candidates(stored(f"{RUN}.random.9", draw(10, seed=4), 2.0))
    queue = ListQueue()
    reconciler = Reconciler(
        store, queue, store.apply, trained_epochs=lambda run: 1, slice_size=4, worker="t"
    )
    sid = pipeline.launched_search_id(RUN, "evolution")
    cache = ResultCache(RUN, sid)
    for _ in range(10):
        if reconciler.advance(RUN).get("done"):
            break
        for step in queue.take("eval:"):
            for d in step.args[4]:
                cache.put(measure(Arch.from_dict(d)))
    assert store.get_search(sid).state == "done"
    taus = [g.predictor_tau for g in store.generations(sid)]
    assert len(taus) == 3 and taus[0] is None and all(t is not None for t in taus[1:])
