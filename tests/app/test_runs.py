"""The runs page: state, owner, progress, elapsed time, current best; cancel; archive; live
fragment. A run's own page is tested in test_run_page.py."""

from __future__ import annotations

from tests.app.signin import ANONYMOUS, AUTH, BOB, GATE


def heading(at, run: str) -> str:
    return next(m.value for m in at.markdown if m.value.startswith(f"### {run}\n"))


def test_every_run_with_state_owner_progress_and_best(filled, open_app) -> None:
    at = open_app("runs")
    assert not at.exception
    done = heading(at, filled.run)
    assert "done" in done and "owner **alice**" in done and "elapsed 12:34" in done
    assert "training" in heading(at, "digits-live")
    assert [p.value for p in at.get("progress")] == [40, 100]  # newest first
    # The last generation recorded is generation 2 counting from 0: the CLI's "3 of 3".
    best = next(m.value for m in at.markdown if m.value.startswith("generation 3 of 3"))
    record = filled.records[filled.random][2]
    assert f"`{record.id}`" in best and f"{record.accuracy:.2%}" in best


def test_a_finished_runs_best_line_follows_its_next_search(filled, open_app) -> None:
    """A finished run's best line is kept between redraws (`run.generation_line`) until the run
    changes: another search ends with a state update, and the line then shows that search."""
    from storage.records import GenerationRecord, SearchRecord
    from tests.app.conftest import make_candidates

    def line(at) -> str:
        return next(m.value for m in at.markdown if m.value.startswith("generation "))

    at = open_app("runs")
    assert line(at).startswith(f"generation 3 of 3 of {filled.random}:")
    assert line(at.run()).startswith(f"generation 3 of 3 of {filled.random}:")  # kept
    new = f"{filled.run}.random.9"
    store = filled.store
    settings = {"generations": 2, "population": 4}
    store.create_search(
        SearchRecord(id=new, run=filled.run, strategy="random", state="done", settings=settings)
    )
    records = make_candidates(filled.run, new, 4, strategy="random", seed=9)
    store.add_candidates(records)
    store.add_generation(
        GenerationRecord(search=new, generation=0, best_id=records[1].id, best_fitness=0.5)
    )
    store.update_run(filled.run, state="done")  # what the end of every search does
    assert line(at.run()).startswith(f"generation 1 of 2 of {new}: best `{records[1].id}`")


def test_no_owner_is_shown_when_there_is_none(filled, open_app) -> None:
    at = open_app("runs")
    live = heading(at, "digits-live")
    assert "owner" not in live and " - " not in live


def test_a_live_run_shows_its_epoch_progress_and_eta(filled, open_app) -> None:
    from engine.space import SearchSpace
    from storage.records import EpochRecord, RunRecord

    settings = {"train": {"epochs": 3}, "search": {"generations": 2, "population": 4}}
    space = SearchSpace.preset("digits-tiny").to_dict()
    filled.store.create_run(
        RunRecord(name="live-2", dataset="digits", space=space, settings=settings, state="training")
    )
    filled.store.add_epochs([EpochRecord("live-2", 1, loss=1.0, seconds=60.0)])
    at = open_app("runs")
    assert "ETA estimating…" in heading(at, "digits-live")  # nothing planned or measured
    # Own epochs: 60 s each; candidates: as in digits-demo's searches (well under a second).
    assert "ETA 1 min" in heading(at, "live-2") or "ETA 2 min" in heading(at, "live-2")
    assert any(p.text.endswith("epoch 1 of 3 done") for p in at.get("progress"))


def test_unknown_run_in_the_link(filled, open_app) -> None:
    at = open_app("runs", {"run": "ghost"})
    assert any("Unknown run 'ghost'" in e.value for e in at.error)
    assert heading(at, filled.run)  # the list is shown instead


def test_cancel_only_for_live_runs_and_it_calls_the_queue(filled, fake_tasks, open_app) -> None:
    at = open_app("runs")
    buttons = [b for b in at.button if b.label == "Cancel"]
    assert [b.key for b in buttons] == ["cancel_digits-live"]
    buttons[0].click().run()
    assert fake_tasks.cancelled == ["digits-live"]
    assert any("Cancel requested for digits-live" in i.value for i in at.info)


def test_visitors_see_the_sign_in_page_only_when_auth_is_configured(filled, open_app) -> None:
    at = open_app("runs", secrets=AUTH, user=ANONYMOUS)
    assert not at.exception
    assert any(GATE in i.value for i in at.info)
    assert not [m for m in at.markdown if filled.run in m.value]
    assert [b.label for b in at.button] == ["Sign in"]


def test_others_cannot_cancel_a_run_they_do_not_own(filled, fake_tasks, open_app) -> None:
    at = open_app("runs", secrets=AUTH, user=BOB)  # digits-live has no owner: admins only
    assert not at.exception
    cancel = next(b for b in at.button if b.label == "Cancel")
    assert cancel.disabled and "has no owner" in cancel.help
    assert heading(at, filled.run)


def test_a_new_run_appears_on_the_next_refresh(filled, open_app) -> None:
    from storage.records import RunRecord

    at = open_app("runs")
    filled.store.create_run(RunRecord(name="late-run", dataset="digits", owner="carol"))
    at.run()  # what the fragment's timer does every few seconds, without reloading the page
    assert "carol" in heading(at, "late-run")


def test_archived_runs_are_hidden_unless_asked_for(filled, open_app) -> None:
    filled.store.update_run(filled.run, archived=True)
    at = open_app("runs")
    assert [m for m in at.markdown if m.value.startswith(f"### {filled.run}\n")] == []
    assert any("1 archived (hidden)" in c.value for c in at.caption)
    at.toggle(key="runs_show_archived").set_value(True).run()
    assert "archived" in heading(at, filled.run)


def test_the_list_refreshes_every_2_s_while_a_run_is_live_else_every_15_s(filled, open_app):
    """An idle tab left open on the runs page redraws at the slow pace (each redraw of a 400-run
    store cost the server 22% of a core at 2 s); a run in progress brings the fast pace back."""
    from app.web.components import ui

    def pace(at) -> str:
        (line,) = [c.value for c in at.caption if "This list updates every" in c.value]
        return line.split("This list updates ", 1)[1]

    assert (ui.LIVE_EVERY_S, ui.IDLE_EVERY_S) == (2.0, 15.0)
    at = open_app("runs")
    assert pace(at) == "every 2 s while a run is in progress."  # digits-live is training
    filled.store.update_run("digits-live", state="done", progress=1.0)
    assert pace(at.run()) == "every 15 s."
    filled.store.update_run("digits-live", state="searching")
    assert pace(at.run()) == "every 2 s while a run is in progress."
    assert not at.exception


def test_cards_stop_at_max_cards_but_every_run_stays_in_the_table(filled, open_app) -> None:
    """Each card reads the store every few seconds: with many runs, only the newest and the
    running ones get one (an old run in progress included); the table lists them all."""
    from app.web.pages import run as runs
    from storage.records import RunRecord

    extra = runs.MAX_CARDS + 5
    for k in range(extra):
        filled.store.create_run(
            RunRecord(name=f"old-{k:02d}", dataset="digits", state="done", created_at=1e9 + k)
        )
    at = open_app("runs")
    assert not at.exception
    cards = [m.value.split("\n")[0] for m in at.markdown if m.value.startswith("### ")]
    assert len(cards) == runs.MAX_CARDS
    # digits-live (created now, running) and digits-demo are the newest; old-00 is the oldest.
    assert "### digits-live" in cards and "### digits-demo" in cards and "### old-00" not in cards
    total = extra + 2
    rest = f"the other {total - runs.MAX_CARDS} runs are in the table"
    assert any(rest in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == total


def test_an_old_run_in_progress_keeps_its_card() -> None:
    from app.web.pages import run as runs
    from storage.records import RunRecord

    newest = [RunRecord(name=f"r{k:02d}", state="done", created_at=100.0 - k) for k in range(30)]
    newest.append(RunRecord(name="slow", state="searching", created_at=1.0))
    drawn = runs.carded(newest, just=None)
    assert len(drawn) == runs.MAX_CARDS and "slow" in drawn and "r00" in drawn
    assert runs.carded(newest[:3], just=None) == {"r00", "r01", "r02"}
