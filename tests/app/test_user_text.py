"""User text is text: leaderboard titles and notes, run names, owners and echoed URL parameters
reach Streamlit's Markdown escaped (`app.web.components.text.plain`), so they show as typed, and
the leaderboard list and its permalink agree. How a browser really renders them is checked in
test_e2e_user_text.py."""

from __future__ import annotations

import re

import pytest

from app.web.components.text import JOINER, board_title, plain
from storage.records import RunRecord
from tests.app.conftest import shown

TITLE = "# x [link](https://e.com) $x^2$ ![i](a.png)"
NOTES = "**bold** [n](https://e.com)\n$y$ <b>html</b>\n- item"
EVIL = "[Sign in](https://evil)"
# A Markdown construct that survived: an unescaped opener, a bare URL, an e-mail, an icon.
LIVE = re.compile(r"(?<!\\)[\[\]`*_~<>#$|&]|://|\w@|(?<!\\):material/")


def inert(markdown: str) -> bool:
    return LIVE.search(markdown) is None


@pytest.mark.parametrize(
    "text",
    [
        TITLE,
        EVIL,
        NOTES,
        "- item",
        "+ item",
        "12. item",
        "3) item",
        "> quote",
        "---",
        "    code",
        ":red[red] :material/home: :smile:",
        "www.evil.com ana@example.org mailto:ana@example.org",
        "a \\*b\\ | c & d &amp; e",
        "https://issuer.example|sub|with_parts",
    ],
)
def test_plain_shows_the_characters_and_nothing_else(text) -> None:
    out = plain(text)
    assert inert(out), out
    assert "\n" not in out
    assert shown(out) == " ".join(text.split("\n")).strip()
    assert not re.match(r"[-+>]|\d+[.)]", out)  # no list or quote at the start of the line


def test_ordinary_text_is_left_as_it_is() -> None:
    for text in ("digits-demo", "run-20240101.evolution.1", "alpha='1.5' in the link", "3 of 4"):
        assert plain(text) == text


def test_a_title_is_the_same_text_in_the_list_and_its_permalink(filled, open_app) -> None:
    board = filled.store.share(filled.run, alpha=0.5, top=3, title=TITLE, notes=NOTES, author=EVIL)
    untitled = filled.store.share(filled.run, alpha=0.4, top=3, title="  ")
    listing = open_app("leaderboards").dataframe[0].value.set_index("id")["title"]
    assert listing[board.id] == TITLE and listing[untitled.id] == board_title("") == "(untitled)"
    at = open_app("leaderboard", {"id": board.id})
    assert not at.exception
    assert [shown(s.value) for s in at.subheader] == [TITLE]
    assert all(inert(s.value) for s in at.subheader)
    assert [t.value for t in at.text] == [NOTES]  # st.text: plain, line breaks kept
    line = next(m.value for m in at.markdown if m.value.startswith("Run "))
    assert line.endswith(f" by **{plain(EVIL)}**") and inert(plain(EVIL))
    at = open_app("leaderboard", {"id": untitled.id})
    assert [shown(s.value) for s in at.subheader] == ["(untitled)"]


@pytest.mark.parametrize(
    ("page", "key"),
    [("runs", "run"), ("explorer", "run"), ("compare", "run"), ("leaderboard", "id")],
)
def test_an_echoed_url_parameter_is_text(filled, open_app, page, key) -> None:
    at = open_app(page, {key: EVIL, "alpha": "$x$"})
    assert not at.exception
    echoed = [e.value for e in (*at.warning, *at.error) if "Sign in" in e.value]
    assert echoed, f"{page} did not say what was wrong with the link"
    for value in echoed:
        assert inert(value), value
        assert EVIL in shown(value) and JOINER in value


def test_launch_echoes_a_bad_link_as_text(filled, open_app) -> None:
    at = open_app("launch", {"epochs": EVIL})
    assert not at.exception
    assert any(EVIL in shown(w.value) and inert(w.value) for w in at.warning)


def test_run_names_and_owners_are_text(filled, open_app) -> None:
    owner = "**boss** [me](https://evil) $x$"
    filled.store.create_run(RunRecord(name="odd_name_", dataset="digits", owner=owner))
    at = open_app("runs")
    head = next(m.value for m in at.markdown if m.value.startswith("### odd"))
    assert head.startswith("### odd\\_name\\_\n") and f"owner **{plain(owner)}**" in head
    at = open_app("runs", {"run": "odd_name_"})
    assert [shown(t.value) for t in at.title] == ["Run odd_name_"]
    cell = at.table[1].value["value"].to_dict()["owner"]
    assert inert(cell) and shown(cell) == owner
