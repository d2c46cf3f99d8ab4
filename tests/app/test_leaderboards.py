"""Shared leaderboard pages: one snapshot at `/leaderboard?id=ID` and the list of all of them
(AppTest against a real DuckDB store in a temporary home)."""

from __future__ import annotations

from tests.app.signin import ANA, ANONYMOUS, AUTH, BOB, GATE, identity


def share(filled, **kw):
    return filled.store.share(filled.run, alpha=kw.pop("alpha", 0.4), top=kw.pop("top", 5), **kw)


def test_a_leaderboard_opens_with_its_frozen_rows(filled, open_app, make_records) -> None:
    from storage.records import SearchRecord

    board = share(filled, title="team picks", notes="for the **demo**")
    # Later candidates change the live ranking, never the snapshot.
    filled.store.create_search(
        SearchRecord(id="digits-demo.random.7", run=filled.run, strategy="random")
    )
    filled.store.add_candidates(make_records(filled.run, "digits-demo.random.7", 30, seed=9))
    at = open_app("leaderboard", {"id": board.id})
    assert not at.exception
    assert any(s.value == "team picks" for s in at.subheader)
    table = at.dataframe[0].value
    assert table["id"].tolist() == [c["id"] for c in board.candidates]
    assert table["energy"].tolist()[0] > 0  # a number, in the column's one unit (its header)
    assert table["params"].iloc[0].endswith((" k", " M")) or table["params"].iloc[0].isdigit()
    assert len(at.get("vega_lite_chart")) == 1
    assert [t.value for t in at.text] == ["for the **demo**"]  # notes are text, not Markdown
    labels = [b.label for b in at.get("download_button")]
    assert {"CSV", "Parquet"} <= set(labels)
    live = next(p for p in at.get("page_link") if "Open live" in p.proto.label)
    assert "alpha=0.4" in live.proto.page or live.proto.query_string.find("alpha=0.4") >= 0


def test_unknown_or_missing_id_is_a_clear_message(filled, open_app) -> None:
    at = open_app("leaderboard", {"id": "0123456789ab"})
    assert not at.exception
    assert any("Unknown leaderboard '0123456789ab'" in e.value for e in at.error)
    at = open_app("leaderboard", {})
    assert any("No leaderboard in the link" in i.value for i in at.info)


def test_the_list_is_newest_first(filled, open_app) -> None:
    from dataclasses import replace

    first = share(filled, title="first")
    old = filled.store.create_leaderboard(
        replace(first, id="aaaaaaaaaaaa", title="old", created_at=first.created_at - 60)
    )
    newer = share(filled, title="newer")
    at = open_app("leaderboards")
    assert not at.exception
    table = at.dataframe[0].value
    assert table["title"].tolist() == ["newer", "first", "old"]
    assert table["id"].tolist() == [newer.id, first.id, old.id]
    assert table["link"].iloc[0].endswith(f"leaderboard?id={newer.id}")


def test_an_empty_list_says_how_to_share(filled, open_app) -> None:
    at = open_app("leaderboards")
    assert any("Nothing shared yet" in i.value for i in at.info)


def test_anyone_may_delete_in_single_user_mode(filled, open_app) -> None:
    board = share(filled)
    at = open_app("leaderboard", {"id": board.id})
    at.checkbox(key="lb_sure").check().run()
    at.button(key="lb_delete").click().run()
    assert not at.exception
    assert filled.store.list_leaderboards() == []


def test_with_sign_in_only_the_author_may_delete(filled, open_app) -> None:
    from tests.app.conftest import shown

    board = share(filled, author=identity(ANA))
    at = open_app("leaderboard", {"id": board.id}, secrets=AUTH, user=BOB)
    assert not at.exception
    assert at.dataframe[0].value["id"].tolist() == [c["id"] for c in board.candidates]
    assert not [b for b in at.button if b.key == "lb_delete"]
    assert any(f"Only its author ({identity(ANA)})" in shown(c.value) for c in at.caption)
    at = open_app("leaderboard", {"id": board.id}, secrets=AUTH, user=ANA)
    at.checkbox(key="lb_sure").check().run()
    at.button(key="lb_delete").click().run()
    assert filled.store.list_leaderboards() == []


def test_with_sign_in_reading_needs_a_signed_in_user(filled, open_app) -> None:
    board = share(filled)
    at = open_app("leaderboard", {"id": board.id}, secrets=AUTH, user=ANONYMOUS)
    assert any(GATE in i.value for i in at.info)
    assert not at.dataframe


def test_the_author_edits_title_and_notes_and_the_rows_stay(filled, open_app) -> None:
    board = share(filled, title="half-typed ti", author=identity(ANA))
    at = open_app("leaderboard", {"id": board.id}, secrets=AUTH, user=ANA)
    assert not at.exception
    assert not any("edited" in m.value for m in at.markdown)
    at.text_input(key=f"lb_title_{board.id}").set_value("weekly picks")
    at.text_area(key=f"lb_notes_{board.id}").set_value("chosen at alpha 0.4")
    at.button(key="FormSubmitter:lb_edit_form-Save title and notes").click().run()
    assert not at.exception
    stored = filled.store.get_leaderboard(board.id)
    assert (stored.title, stored.notes) == ("weekly picks", "chosen at alpha 0.4")
    assert stored.candidates == board.candidates and stored.edited_at is not None
    assert any(s.value == "weekly picks" for s in at.subheader)
    assert any(" · edited " in m.value and "UTC" in m.value for m in at.markdown)
    assert at.dataframe[0].value["id"].tolist() == [c["id"] for c in board.candidates]
    listing = open_app("leaderboards", secrets=AUTH, user=ANA).dataframe[0].value
    assert listing["title"].tolist() == ["weekly picks"] and listing["edited"].notna().all()


def test_with_sign_in_another_user_sees_no_edit_form(filled, open_app) -> None:
    board = share(filled, author=identity(ANA))
    at = open_app("leaderboard", {"id": board.id}, secrets=AUTH, user=BOB)
    assert not at.exception
    assert not [e for e in at.expander if e.label == "Edit title and notes"]
