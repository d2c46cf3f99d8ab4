"""The predictor in the app: the launch form's checkbox (off for random, filled from a link and by
a clone) reaches the launch, and a run whose search screened its children shows the predictor's
Kendall tau per generation next to the normalized hypervolume."""

from __future__ import annotations

import json

import pytest

from engine.search import PREDICTOR_DEFAULT
from storage.records import GenerationRecord, RunRecord, SearchRecord
from tests.app.test_launch import fill


# ---- the launch form ---------------------------------------------------------------------------
def test_a_link_ticks_the_predictor_and_the_launch_takes_it(filled, fake_tasks, open_app) -> None:
    at = open_app("launch", {"predictor": "1", "strategy": "nsga2"})
    box = at.checkbox(key="ln_predictor")
    assert box.label == "Predictor" and box.value is True and not box.disabled
    assert any("predictor screening" in m.value for m in at.markdown)  # the summary
    at = fill(at, name="screened")
    assert not at.exception, at.exception
    _, search_spec, _ = fake_tasks.launched[0]
    assert search_spec.predictor is True and search_spec.config().predictor is True


def test_the_predictor_is_ticked_by_default_and_a_link_unticks_it(
    filled, fake_tasks, open_app
) -> None:
    """On by default (`PREDICTOR_DEFAULT`); `predictor=0` in a link turns it off for the launch."""
    assert open_app("launch").checkbox(key="ln_predictor").value is PREDICTOR_DEFAULT is True
    at = open_app("launch", {"predictor": "0", "strategy": "evolution"})
    assert at.checkbox(key="ln_predictor").value is False
    assert not any("predictor screening" in m.value for m in at.markdown)
    at = fill(at, name="plain")
    assert not at.exception, at.exception
    _, search_spec, _ = fake_tasks.launched[0]
    assert search_spec.predictor is False and search_spec.config().predictor is False


def test_random_search_disables_and_ignores_the_predictor(filled, fake_tasks, open_app) -> None:
    at = open_app("launch", {"predictor": "true", "strategy": "random"})
    assert at.checkbox(key="ln_predictor").disabled
    assert not any("predictor screening" in m.value for m in at.markdown)
    at = fill(at, name="baseline")
    assert not at.exception, at.exception
    _, search_spec, _ = fake_tasks.launched[0]
    assert search_spec.strategy == "random" and search_spec.predictor is False


def test_the_predictor_in_a_link_and_a_bad_value_named() -> None:
    from app.web.components import forms

    base = forms.LaunchForm("x", "digits", "digits-tiny", 1)
    assert base.predictor is PREDICTOR_DEFAULT
    on, problems = forms.from_params({"predictor": "1"}, base)
    assert on.predictor is True and problems == []
    assert forms.to_params(on)["predictor"] == "true"
    assert forms.from_params(forms.to_params(on), base)[0] == on
    assert forms.from_params({"predictor": "0"}, on)[0].predictor is False
    kept, problems = forms.from_params({"predictor": "maybe"}, base)
    assert kept.predictor is PREDICTOR_DEFAULT
    assert problems == ["predictor='maybe' in the link: not true or false; ignored"]


@pytest.mark.parametrize(
    ("search", "state", "predictor"),
    [
        ({"predictor": True}, None, "true"),
        ({"predictor": False}, None, "false"),
        ({}, {"population": 4}, "false"),  # recorded before the predictor: it ran without
    ],
)
def test_a_clone_carries_the_predictor_as_the_source_search_ran(
    filled, home, search, state, predictor
) -> None:
    from app.web.components import forms

    settings = {
        "train": {"epochs": 1},
        "search": {"strategy": "nsga2", "generations": 2, "population": 4, **search},
    }
    space = filled.store.get_run(filled.run).space
    filled.store.create_run(RunRecord(name="src", dataset="digits", space=space, settings=settings))
    if state is not None:
        path = home / "runs" / "src" / "searches" / "src.nsga2.1.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"config": state}))
    assert forms.to_params(forms.clone(filled.store, "src"))["predictor"] == predictor


# ---- the run page ------------------------------------------------------------------------------
TAUS = [None, 0.42, -0.1]


@pytest.fixture
def screened(filled):
    """digits-demo's newest search screened its children: a tau for generations 2 and 3."""
    sid = "digits-demo.evolution.2"
    settings = {"strategy": "evolution", "generations": 3, "population": 20, "predictor": True}
    filled.store.create_search(SearchRecord(sid, filled.run, "evolution", settings, "done", 3))
    for g, tau in enumerate(TAUS):
        filled.store.add_generation(
            GenerationRecord(sid, g, 1.0 + g / 10, best_fitness=0.8, evaluated=20 * (g + 1),
                             hypervolume_normalized=0.3 + g / 10, predictor_tau=tau)
        )  # fmt: skip
    return filled


def test_the_run_page_plots_the_predictor_tau_next_to_the_hypervolume(screened, open_app):
    import pyarrow as pa

    at = open_app("runs", {"run": screened.run})
    assert not at.exception
    charts = at.get("vega_lite_chart")
    titles = [json.loads(c.proto.spec)["encoding"]["y"]["title"] for c in charts]
    at_hv = titles.index("normalized hypervolume")
    assert titles[at_hv + 1] == "predictor tau (Kendall, −1–1)"
    tau = charts[at_hv + 1].proto
    assert json.loads(tau.spec)["encoding"]["y"]["scale"]["domain"] == [-1.0, 1.0]
    (data,) = tau.datasets
    frame = pa.ipc.open_stream(data.data.data).read_all().to_pandas()
    got = [None if v != v else v for v in frame["predictor_tau"]]
    assert got == TAUS  # generation 1 not screened: no point
    assert any(c.value.startswith("The predictor tau (Kendall, −1–1): Kendall's tau")
               for c in at.caption)  # fmt: skip
    assert at.table[1].value["value"].to_dict()["predictor"] == "on"


def test_a_search_without_the_predictor_has_no_tau_chart(filled, open_app) -> None:
    at = open_app("runs", {"run": filled.run})
    titles = [json.loads(c.proto.spec)["encoding"]["y"]["title"] for c in at.get("vega_lite_chart")]
    assert "normalized hypervolume" in titles
    assert not any(t.startswith("predictor tau") for t in titles)
    assert not any("Kendall" in c.value for c in at.caption)
