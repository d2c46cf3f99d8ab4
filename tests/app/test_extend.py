""" "N more generations" on a run's page (AppTest, real DuckDB store): the real `tasks.api.extend`
refuses what it cannot do with one line, shown as it is; an accepted extension says which
generations are queued; an active run has no such button. A real worker extending a real search
is tests/app/test_e2e_views.py's."""

from __future__ import annotations

from tests.app.conftest import shown


def test_what_extend_refuses_is_shown_as_its_one_line(filled, open_app) -> None:
    at = open_app("runs", {"run": filled.run})
    options = at.selectbox(key="run_extend_search").options
    assert options == [f"{s} (done, 3 generations)" for s in (filled.evolution, filled.random)]
    at.number_input(key="run_extend_n").set_value(2).run()
    at.selectbox(key="run_extend_search").set_value(filled.evolution).run()
    at.button(key="run_extend_go").click().run()
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    # The fixture's searches were never run by the engine: there is no saved state to go on from.
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith(f"search {filled.evolution} has no readable saved state")
    assert filled.store.get_run(filled.run).state == "done"  # nothing changed
    assert filled.store.get_search(filled.evolution).state == "done"


def test_an_accepted_extension_says_what_is_queued(filled, open_app, monkeypatch) -> None:
    from tasks import api

    asked = []

    def extend(run: str, search: str, generations: int) -> dict:
        asked.append((run, search, generations))
        return {"run": run, "search": search, "from": 3, "generations": 3 + generations}

    monkeypatch.setattr(api, "extend", extend)
    at = open_app("runs", {"run": filled.run})
    at.number_input(key="run_extend_n").set_value(4).run()
    assert at.button(key="run_extend_go").label == "4 more generations"
    at.button(key="run_extend_go").click().run()
    assert asked == [(filled.run, filled.random, 4)]  # the newest search by default
    assert any("generations 4 to 7 are queued" in s.value for s in at.success)


def test_an_active_run_has_no_extend_button(filled, open_app) -> None:
    at = open_app("runs", {"run": "digits-live"})
    assert not at.exception
    assert not [b for b in at.button if b.key == "run_extend_go"]
