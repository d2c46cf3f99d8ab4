"""The runs page: state, owner, progress, elapsed time, current best; cancel; live fragment."""

from __future__ import annotations

AUTH = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-secret",
        "client_id": "client",
        "client_secret": "secret",
        "server_metadata_url": "https://id.example.invalid/.well-known/openid-configuration",
    }
}


def heading(at, run: str) -> str:
    return next(m.value for m in at.markdown if m.value.startswith(f"### {run}\n"))


def test_every_run_with_state_owner_progress_and_best(filled, open_app) -> None:
    at = open_app("runs")
    assert not at.exception
    done = heading(at, filled.run)
    assert "done" in done and "alice" in done and "elapsed 12:34" in done
    assert "training" in heading(at, "digits-live")
    assert [p.value for p in at.get("progress")] == [40, 100]  # newest first
    best = next(m.value for m in at.markdown if m.value.startswith("generation 2 of"))
    record = filled.records[filled.random][2]
    assert f"`{record.id}`" in best and f"{record.accuracy:.2%}" in best


def test_the_linked_run_comes_first(filled, open_app) -> None:
    at = open_app("runs", {"run": filled.run})
    assert "just launched" in heading(at, filled.run)
    assert at.markdown[0].value.startswith(f"### {filled.run}")
    assert at.query_params["run"] == filled.run


def test_unknown_run_in_the_link(filled, open_app) -> None:
    at = open_app("runs", {"run": "ghost"})
    assert any("Unknown run 'ghost'" in e.value for e in at.error)


def test_cancel_only_for_live_runs_and_it_calls_the_queue(filled, fake_tasks, open_app) -> None:
    at = open_app("runs")
    buttons = [b for b in at.button if b.label == "Cancel"]
    assert [b.key for b in buttons] == ["cancel_digits-live"]
    buttons[0].click().run()
    assert fake_tasks.cancelled == ["digits-live"]
    assert any("Cancel requested for digits-live" in i.value for i in at.info)


def test_viewers_cannot_cancel_when_auth_is_configured(filled, fake_tasks, open_app) -> None:
    at = open_app("runs", secrets=AUTH, user={"is_logged_in": False})
    assert not at.exception
    cancel = next(b for b in at.button if b.label == "Cancel")
    assert cancel.disabled
    assert heading(at, filled.run)  # reading is still allowed


def test_a_new_run_appears_on_the_next_refresh(filled, open_app) -> None:
    from storage.records import RunRecord

    at = open_app("runs")
    filled.store.create_run(RunRecord(name="late-run", dataset="digits", owner="carol"))
    at.run()  # what the fragment's timer does every few seconds, without reloading the page
    assert "carol" in heading(at, "late-run")


def test_the_list_updates_itself_in_a_fragment() -> None:
    from pathlib import Path

    import app

    source = (Path(app.__file__).parent / "views" / "runs.py").read_text()
    assert "@st.fragment(run_every=ui.LIVE_EVERY_S)" in source
