"""The launch page: bad values get an inline message and enqueue nothing; a good form launches
once and lands on the run's page."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    return [e.value for e in at.error]


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
    assert owner == ""
    assert at.title[0].value == "Runs"
    assert at.query_params["run"] == "digits-new"


AUTH = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-secret",
        "client_id": "client",
        "client_secret": "secret",
        "server_metadata_url": "https://id.example.invalid/.well-known/openid-configuration",
    }
}


def test_launching_needs_a_signed_in_user_when_auth_is_configured(
    filled, fake_tasks, open_app
) -> None:
    at = open_app("launch", secrets=AUTH, user={"is_logged_in": False})
    assert not at.exception
    assert any("Sign in to launch" in i.value for i in at.info)
    assert not any(b.label == "Launch" for b in at.button)
    assert any(b.label == "Sign in" for b in at.sidebar.button)


def test_a_signed_in_user_owns_the_run(filled, fake_tasks, open_app) -> None:
    user = {"is_logged_in": True, "email": "bob@example.com"}
    at = fill(open_app("launch", secrets=AUTH, user=user), name="bobs-run")
    assert not at.exception
    assert fake_tasks.launched[0][2] == "bob@example.com"
    assert fake_tasks.launched[0][0].owner == "bob@example.com"


def test_single_user_mode_is_announced(filled, open_app) -> None:
    at = open_app("launch")
    assert any("Single-user mode" in c.value for c in at.sidebar.caption)


def test_named_providers_each_get_a_sign_in_button(filled, open_app) -> None:
    secrets = {"auth": {"redirect_uri": AUTH["auth"]["redirect_uri"], "cookie_secret": "x"}}
    secrets["auth"]["google"] = {k: AUTH["auth"][k] for k in ("client_id", "client_secret")}
    secrets["auth"]["google"]["server_metadata_url"] = AUTH["auth"]["server_metadata_url"]
    at = open_app("launch", secrets=secrets, user={"is_logged_in": False})
    assert [b.label for b in at.sidebar.button] == ["Sign in with google"]
