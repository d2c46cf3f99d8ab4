"""The launch page: bad values get an inline message and enqueue nothing; a good form launches
once and lands on the run's page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.conftest import shown
from tests.app.signin import AUTH, BOB, GATE, identity

TINY_YAML = b"""\
embed_dim: [16, 32]
depth: [1]
mlp_ratio: [2, 4]
num_heads: [2]
time_steps: [1, 2]
threshold: [0.6, 1.0]
tau: [1.5, 2]
"""


def fill(at, **values):
    """Set form fields by key suffix (`name`, `parents`, ...) and press Launch."""
    for key, value in values.items():
        widget = next(w for w in at.main if getattr(w, "key", None) == f"ln_{key}")
        widget.set_value(value)
    submit = next(b for b in at.button if b.label == "Launch")
    return submit.click().run()


def errors(at) -> list[str]:
    return [shown(e.value) for e in at.error]


def test_the_form_shows_the_preset_space(filled, fake_tasks, open_app) -> None:
    at = open_app("launch")
    assert not at.exception
    assert at.selectbox(key="ln_preset").value == "digits-tiny"
    genes = at.dataframe[0].value["gene"].tolist()
    assert genes == [
        "embed_dim",
        "depth",
        "mlp_ratio",
        "num_heads",
        "time_steps",
        "threshold",
        "tau",
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": "bad name!"}, "bad run name"),
        ({"name": "digits-demo"}, "already exists"),
        ({"name": "ok-run", "parents": 9, "pop": 4}, "must not exceed the population"),
    ],
)
def test_bad_values_enqueue_nothing(filled, fake_tasks, open_app, values, message) -> None:
    at = fill(open_app("launch"), **values)
    assert not at.exception
    assert any(message in e for e in errors(at)), errors(at)
    assert fake_tasks.launched == []
    assert at.title[0].value == "Launch a run"


def test_a_missing_dataset_names_its_folder(
    filled, fake_tasks, open_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOSPIKFORMER_DATA", str(tmp_path / "nodata"))
    at = fill(open_app("launch"), name="c10", dataset="cifar10")
    assert any("nodata" in e for e in errors(at)), errors(at)
    assert fake_tasks.launched == []


def test_a_malformed_upload_is_refused(filled, fake_tasks, open_app) -> None:
    at = open_app("launch")
    at.radio(key="ln_space_source").set_value("upload YAML").run()
    at.file_uploader(key="ln_upload").set_value(("space.yaml", b"embed_dim: [16\n", "text/yaml"))
    at.run()
    assert any("malformed YAML" in e for e in errors(at)), errors(at)
    at = fill(at, name="up-1")
    assert fake_tasks.launched == []
    assert any("Choose a search space" in e for e in errors(at))


def test_an_upload_with_an_unknown_gene_is_refused(filled, fake_tasks, open_app) -> None:
    at = open_app("launch")
    at.radio(key="ln_space_source").set_value("upload YAML").run()
    at.file_uploader(key="ln_upload").set_value(
        ("s.yaml", TINY_YAML + b"width: [3]\n", "text/yaml")
    )
    at.run()
    assert any("unknown key" in e for e in errors(at)), errors(at)


def test_a_valid_upload_is_shown_then_accepted_and_launched(filled, fake_tasks, open_app) -> None:
    at = open_app("launch")
    at.radio(key="ln_space_source").set_value("upload YAML").run()
    at.file_uploader(key="ln_upload").set_value(("tiny.yaml", TINY_YAML, "text/yaml"))
    at.run()
    assert any("valid search space" in s.value for s in at.success)
    assert at.dataframe[0].value.set_index("gene").loc["embed_dim", "choices"] == "16, 32"
    at = fill(at, name="up-2")  # not accepted yet
    assert fake_tasks.launched == []
    at.checkbox(key="ln_accept").check().run()
    at = fill(at, name="up-2", epochs=1, gens=2, pop=4, parents=2)
    assert not at.exception
    assert len(fake_tasks.launched) == 1
    run_spec, search_spec, owner = fake_tasks.launched[0]
    assert run_spec.name == "up-2" and Path(run_spec.space).is_file()
    assert Path(run_spec.space).resolve().is_relative_to(filled.home.resolve())
    assert (search_spec.generations, search_spec.population, search_spec.parents) == (2, 4, 2)


def test_a_good_form_launches_once_and_opens_the_run(filled, fake_tasks, open_app) -> None:
    at = fill(
        open_app("launch"),
        name="digits-new",
        epochs=2,
        gens=3,
        pop=6,
        parents=3,
        alpha=0.7,
        budget=1.5,
        seed=4,
        profile="loihi-2018",
    )
    assert not at.exception, at.exception
    assert len(fake_tasks.launched) == 1
    run_spec, search_spec, owner = fake_tasks.launched[0]
    assert (run_spec.name, run_spec.dataset, run_spec.space, run_spec.epochs) == (
        "digits-new",
        "digits",
        "digits-tiny",
        2,
    )
    assert (search_spec.alpha, search_spec.energy_budget_uj, search_spec.seed) == (0.7, 1.5, 4)
    assert search_spec.energy_profile == "loihi-2018"  # the budget is in its microjoules
    assert search_spec.anchors and search_spec.config().anchors  # the default
    assert owner == ""
    assert at.title[0].value == "Runs"
    assert at.query_params["run"] == "digits-new"


def test_launching_needs_a_signed_in_user_when_auth_is_configured(
    filled, fake_tasks, open_app
) -> None:
    at = open_app("launch", secrets=AUTH, user={"is_logged_in": False})
    assert not at.exception
    assert any(GATE in i.value for i in at.info)
    assert not any(b.label == "Launch" for b in at.button)
    assert any(b.label == "Sign in" for b in at.button)


def test_a_signed_in_user_owns_the_run(filled, fake_tasks, open_app) -> None:
    at = fill(open_app("launch", secrets=AUTH, user=BOB), name="bobs-run")
    assert not at.exception
    assert fake_tasks.launched[0][2] == identity(BOB)  # issuer|sub, never the email or name


def test_single_user_mode_is_announced(filled, open_app) -> None:
    at = open_app("launch")
    assert any("Single-user mode" in c.value for c in at.sidebar.caption)


def test_named_providers_each_get_a_sign_in_button(filled, open_app) -> None:
    secrets = {"auth": {"redirect_uri": AUTH["auth"]["redirect_uri"], "cookie_secret": "x"}}
    secrets["auth"]["google"] = {k: AUTH["auth"][k] for k in ("client_id", "client_secret")}
    secrets["auth"]["google"]["server_metadata_url"] = AUTH["auth"]["server_metadata_url"]
    at = open_app("launch", secrets=secrets, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in with google"]


# ---- deliberate launching: summary, estimate, values kept, links and clones ----------------------
def summary_box(at) -> tuple[str, str]:
    line = next(m.value for m in at.markdown if m.value.startswith("digits · space"))
    estimate = next(c.value for c in at.caption if c.value.startswith("Estimated run time"))
    return line, estimate


def test_the_summary_and_the_estimate_follow_the_fields(home, fake_tasks, open_app) -> None:
    at = open_app("launch")
    line, estimate = summary_box(at)
    assert line == (
        "digits · space digits-tiny · 1 epoch (uniform) · evolution, 4 generations x 8, parents "
        "4, predictor screening · alpha 0.5 · no budget · seed 0 · 4 recalibration batches · "
        "energy profile 45nm-fp32"
    )
    assert "no earlier runs of digits on this space to estimate from" in estimate
    at.number_input(key="ln_epochs").set_value(3).run()
    assert "3 epochs (uniform)" in summary_box(at)[0]
    assert fake_tasks.launched == []  # changing a field launches nothing


def test_the_estimate_uses_earlier_runs_on_the_same_dataset_and_space(
    home, fake_tasks, open_app
) -> None:
    from engine.space import SearchSpace
    from storage.duckdb_store import DuckDBStore
    from storage.records import EpochRecord, GenerationRecord, RunRecord, SearchRecord

    store = DuckDBStore(home / "store.duckdb")
    space = SearchSpace.preset("digits-tiny").to_dict()
    store.create_run(RunRecord(name="old", dataset="digits", space=space, state="done"))
    store.create_search(
        SearchRecord(id="old.evolution.1", run="old", strategy="evolution", created_at=100.0)
    )
    store.add_generation(
        GenerationRecord(search="old.evolution.1", generation=0, evaluated=10, created_at=120.0)
    )
    other = {**space, "depth": [1]}
    store.create_run(RunRecord(name="other-space", dataset="digits", space=other, state="done"))
    store.add_epochs([EpochRecord("other-space", 1, loss=1.0, seconds=500.0)])
    at = open_app("launch")
    assert "recorded no training epochs" in summary_box(at)[1]
    store.add_epochs(EpochRecord("old", e, loss=1.0, seconds=30.0) for e in (1, 2))
    at.number_input(key="ln_epochs").set_value(2).run()
    # 2 epochs x 30 s + 4 x 8 candidates x 2 s
    assert "about 2 min 04 s" in summary_box(at)[1]
    assert "measured on 1 earlier run of digits" in summary_box(at)[1]


def test_the_form_keeps_its_values_after_a_launch(filled, fake_tasks, open_app) -> None:
    at = fill(open_app("launch"), name="keep-me", epochs=3, gens=5, alpha=0.25, seed=7)
    assert len(fake_tasks.launched) == 1 and at.title[0].value == "Runs"
    at.query_params.clear()
    at.switch_page("web/pages/launch.py").run()
    assert at.number_input(key="ln_epochs").value == 3
    assert at.number_input(key="ln_gens").value == 5
    assert at.number_input(key="ln_alpha").value == 0.25
    assert at.number_input(key="ln_seed").value == 7
    assert at.text_input(key="ln_name").value == "keep-me"  # fake queue: the name is still free


def test_a_link_fills_the_form_and_bad_values_are_named(filled, fake_tasks, open_app) -> None:
    params = {"epochs": "4", "strategy": "random", "sampling": "sandwich", "alpha": "1.5"}
    params |= {"profile": "45nm-int8"}
    at = open_app("launch", {**params, "recalib": "2", "space": "cifar-snn", "name": "linked"})
    assert at.selectbox(key="ln_profile").value == "45nm-int8"
    assert at.number_input(key="ln_epochs").value == 4
    assert at.selectbox(key="ln_strategy").value == "random"
    assert at.selectbox(key="ln_sampling").value == "sandwich"
    assert at.number_input(key="ln_recalib").value == 2
    assert at.selectbox(key="ln_preset").value == "cifar-snn"
    assert at.text_input(key="ln_name").value == "linked"
    assert any("alpha='1.5' in the link" in w.value for w in at.warning)
    assert at.number_input(key="ln_alpha").value == 0.5
    at = open_app("launch", {"profile": "7nm-dreams", "name": "linked"})
    assert any("profile='7nm-dreams' in the link" in w.value for w in at.warning)
    assert at.selectbox(key="ln_profile").value == "45nm-fp32"


def test_unticked_anchors_and_sandwich_dsps_reach_the_launch(filled, fake_tasks, open_app):
    at = fill(open_app("launch"), name="paper-start", anchors=False, sampling="sandwich-dsps")
    assert not at.exception, at.exception
    run_spec, search_spec, _ = fake_tasks.launched[0]
    assert run_spec.sampling == "sandwich-dsps"
    assert search_spec.anchors is False and search_spec.config().anchors is False


def test_anchors_in_a_link_and_a_bad_value_named() -> None:
    from app.web.components import forms

    base = forms.LaunchForm("x", "digits", "digits-tiny", 1)
    assert forms.to_params(base)["anchors"] == "true"
    form, problems = forms.from_params({"anchors": "false"}, base)
    assert form.anchors is False and problems == []
    assert "generation 0 all random" in forms.summary(form)
    assert "generation 0" not in forms.summary(base)
    form, problems = forms.from_params({"anchors": "2"}, base)
    assert form.anchors is True
    assert problems == ["anchors='2' in the link: not true or false; ignored"]


def test_a_clone_of_an_uploaded_space_refills_every_setting(filled, home) -> None:
    from app.web.components import forms
    from storage.records import RunRecord

    space = {**forms.parse_space_yaml(TINY_YAML).to_dict()}
    settings = {
        "train": {"epochs": 3, "seed": 5, "sampling": "sandwich"},
        "search": {"strategy": "random", "generations": 6, "population": 7, "parents": 2},
        "launch": {"device": "cpu"},
    }
    settings["search"] |= {"alpha": 0.3, "energy_budget_uj": 2.5, "recalib_batches": 3, "seed": 5}
    settings["search"] |= {"energy_profile": "45nm-fp16"}
    filled.store.create_run(
        RunRecord(name="src", dataset="digits", space=space, settings=settings, state="done")
    )
    params = forms.to_params(forms.clone(filled.store, "src"))
    assert params["space"].startswith("space-") and params["name"] == "src-2"
    assert {k: params[k] for k in ("epochs", "seed", "sampling", "strategy", "recalib")} == {
        "epochs": "3",
        "seed": "5",
        "sampling": "sandwich",
        "strategy": "random",
        "recalib": "3",
    }
    assert (params["generations"], params["population"], params["alpha"]) == ("6", "7", "0.3")
    assert params["budget"] == "2.5" and params["profile"] == "45nm-fp16"
    assert params["anchors"] == "false"  # recorded before anchors: generation 0 was random
    form, problems = forms.from_params(params, forms.LaunchForm("x", "digits", "digits-tiny", 1))
    assert problems == [] and forms.resolve_space(form.space).to_dict() == space


@pytest.mark.parametrize(
    ("search", "state", "anchors"),
    [
        ({"anchors": True}, {"population": 4}, "false"),  # random before it took anchors
        ({"anchors": True, "front_box": {}}, None, "true"),  # recorded with them
        ({"anchors": True}, None, "true"),  # launched, not started: it starts with them
    ],
)
def test_a_clone_draws_generation_0_as_the_source_search_did(filled, home, search, state, anchors):
    import json

    from app.web.components import forms
    from storage.records import RunRecord

    settings = {
        "train": {"epochs": 1},
        "search": {"strategy": "random", "generations": 2, "population": 4, **search},
    }
    space = filled.store.get_run(filled.run).space
    filled.store.create_run(RunRecord(name="old", dataset="digits", space=space, settings=settings))
    if state is not None:
        path = home / "runs" / "old" / "searches" / "old.random.1.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"config": state}))
    assert forms.to_params(forms.clone(filled.store, "old"))["anchors"] == anchors


# ---- limits: a field out of range disables Launch (engine.limits) -------------------------------
def launch_button(at):
    return next(b for b in at.button if b.label == "Launch")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("epochs", -5, "Supernet epochs must be a whole number from 1 to 5000, got -5"),
        ("pop", 10**9, "Population must be a whole number from 1 to 5000, got 1000000000"),
        ("gens", 5001, "Generations must be a whole number from 1 to 5000, got 5001"),
        ("parents", 9, "parents (9) must not exceed the population (8)"),
        ("recalib", 1001, "Recalibration batches must be a whole number from 1 to 1000"),
        ("alpha", 1.5, "alpha must be a number from 0 to 1, got 1.5"),
        ("budget", -1.0, "Energy budget (µJ) must be a finite number > 0, got -1"),
        ("seed", -1, "Seed must be a whole number from 0 to 4294967295, got -1"),
    ],
)
def test_a_value_out_of_range_disables_launch_and_shows_no_estimate(
    filled, fake_tasks, open_app, key, value, message
) -> None:
    """The page holds the value the field shows (no min/max in the browser to keep it back),
    names it, shows no summary or estimate for it, and Launch stays disabled."""
    at = open_app("launch")
    assert not launch_button(at).disabled
    at.number_input(key=f"ln_{key}").set_value(value).run()
    assert not at.exception
    assert [e for e in errors(at) if message in e] == errors(at) != [], errors(at)
    assert launch_button(at).disabled
    assert not any(c.value.startswith("Estimated run time") for c in at.caption)
    assert not any(m.value.startswith("digits · space") for m in at.markdown)
    assert fake_tasks.launched == []
    assert at.title[0].value == "Launch a run"


def test_a_click_that_races_the_rerun_is_refused_by_the_server_too(filled) -> None:
    """A browser click can reach the server with a value the page has not rerun for yet: the
    launch itself checks the same limits before anything is enqueued."""
    from app.web.components import forms

    form = forms.LaunchForm("raced", "digits", "digits-tiny", epochs=-5)
    with pytest.raises(forms.FormError, match="Supernet epochs must be a whole number"):
        forms.build_specs(form, filled.store)


def test_a_name_the_brokers_own_keys_use_is_refused_before_the_launch(filled) -> None:
    from app.web.components import forms
    from storage.errors import BadName

    form = forms.LaunchForm("worker", "digits", "digits-tiny", epochs=1)
    with pytest.raises(BadName, match="run name 'worker' is reserved by the broker"):
        forms.build_specs(form, filled.store)
    forms.build_specs(forms.LaunchForm("Worker", "digits", "digits-tiny", epochs=1), filled.store)


def test_fixing_the_value_enables_launch_with_the_value_shown(filled, fake_tasks, open_app):
    at = open_app("launch")
    for key in ("epochs", "seed", "recalib", "gens", "pop", "parents"):  # whole, as shown
        widget = at.number_input(key=f"ln_{key}")
        assert widget.proto.data_type == widget.proto.INT, key  # "2", never "2.00" in the page
        assert widget.min is None and widget.max is None  # the browser keeps no value back
    at.number_input(key="ln_epochs").set_value(-5).run()
    assert launch_button(at).disabled
    at.number_input(key="ln_epochs").set_value(3).run()
    assert not launch_button(at).disabled
    at = fill(at, name="fixed")
    assert [spec.epochs for spec, _, _ in fake_tasks.launched] == [3]


def test_a_link_beyond_the_limits_is_named_and_ignored(filled, fake_tasks, open_app) -> None:
    at = open_app("launch", {"population": "1000000000", "epochs": "1e400", "budget": "nan"})
    warnings = [shown(w.value) for w in at.warning]
    assert any(
        "population='1000000000' in the link: Population must be a whole number from 1 to 5000" in w
        for w in warnings
    ), warnings
    assert any("epochs='1e400' in the link" in w for w in warnings), warnings
    assert any("budget='nan' in the link" in w for w in warnings), warnings
    assert at.number_input(key="ln_pop").value == 8  # the default
    assert not launch_button(at).disabled


def upload(at, name: str, content: bytes):
    at.radio(key="ln_space_source").set_value("upload YAML").run()
    at.file_uploader(key="ln_upload").set_value((name, content, "text/yaml"))
    return at.run()


def test_an_upload_with_twenty_thousand_choices_is_refused(filled, fake_tasks, open_app) -> None:
    """20,000 choices took 12 s to parse and 27 s to validate in the web process; the count is
    now refused before a choice is read."""
    many = ", ".join(["1"] * 20_000).encode()  # under the 64 KB a space file may take
    text = TINY_YAML.replace(b"threshold: [0.6, 1.0]", b"threshold: [" + many + b"]")
    assert 60_000 < len(text) < 64 * 1024 and b"threshold: [0.6" not in text
    at = upload(open_app("launch"), "many.yaml", text)
    assert not at.exception
    assert any("threshold has 20,000 choices; at most 64" in e for e in errors(at)), errors(at)
    assert not any("valid search space" in s.value for s in at.success)


def test_an_upload_beyond_the_size_limit_is_refused_in_one_line(filled, open_app) -> None:
    big = TINY_YAML + b"# " + b"x" * (70 * 1024) + b"\n"
    at = upload(open_app("launch"), "big.yaml", big)
    assert errors(at) == ["big.yaml is 70 KB; a search-space file may be at most 64 KB"]


def test_an_upload_beyond_the_gene_limits_is_refused(filled, open_app) -> None:
    text = TINY_YAML.replace(b"embed_dim: [16, 32]", b"embed_dim: [16, 8000000]")
    at = upload(open_app("launch"), "wide.yaml", text)
    assert any("embed_dim choice must be a whole number from 8 to 1024" in e for e in errors(at))


def test_a_rerun_with_the_url_before_the_last_keeps_the_typed_values(filled, fake_tasks, open_app):
    """A browser sends each rerun with the URL it holds. A click right after an edit, on a loaded
    server, can leave before the edit's new URL arrives, so the click's rerun carries the URL
    before the last: an echo of this page's own past, not a link. The page keeps what it shows,
    and the click launches nothing here (epochs -5). The old page took the echo for a new link and
    re-seeded the form from it: the click launched epochs 1 under a fresh default name (a browser
    test saw it under load)."""
    at = open_app("launch")
    at = at.text_input(key="ln_name").set_value("typed-name").run()
    echo = dict(at.query_params)
    at = at.number_input(key="ln_seed").set_value(3).run()
    assert at.query_params["seed"] == "3" and echo["seed"] == "0"  # the page published a new URL
    at.query_params.clear()
    at.query_params.update(echo)  # ... which the browser had not applied when it sent the click
    at = fill(at, epochs=-5)
    assert fake_tasks.launched == []
    assert at.text_input(key="ln_name").value == "typed-name"
    assert at.number_input(key="ln_epochs").value == -5
    assert at.number_input(key="ln_seed").value == 3
    assert any("Supernet epochs must be a whole number" in e for e in errors(at))
