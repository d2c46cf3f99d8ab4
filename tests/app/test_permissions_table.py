"""docs/architecture.md's permission table, row by row, against the real app (`AppTest`, a real
DuckDB file, a private redis-server for the export and test requests).

Each cell is checked server-side: the page is drawn for someone who may act (user A, the owner,
or anybody in single-user mode), so the button is enabled; then the click arrives as the
column's user (`AppTest.user` changed in between, as a forged or stale click would), and the
callback must decide again. An allowed action changes the store (or queues the request, or
launches); a refused one changes nothing and shows one line: the refusal, or, for a visitor who
is not signed in, the sign-in page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.web.components import permissions
from storage.errors import StoreError
from storage.records import RunRecord, SearchRecord
from tests.app.conftest import Filled, app_at, shown
from tests.app.signin import ADMIN, ADMINS, ANA, ANONYMOUS, AUTH, BOB, GATE, identity
from tests.tasks.conftest import RedisServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
SINGLE = "single-user mode"
USERS: dict[str, dict[str, Any] | None] = {
    "owner (user A)": ANA,
    "other user (B)": BOB,
    "admin": ADMIN,
    "anonymous (with sign-in)": ANONYMOUS,
    SINGLE: None,
}


def doc_table() -> dict[str, dict[str, bool]]:
    """The table under "Who may do what": {action: {column: allowed}}."""
    text = DOC.read_text()
    section = text[text.index("## Who may do what") :]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    out: dict[str, dict[str, bool]] = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert set(cells[1:]) <= {"yes", "no"}, line
        row = zip(header[1:], cells[1:], strict=True)
        out[cells[0]] = {column: cell == "yes" for column, cell in row}
    return out


CELLS = [(a, c, ok) for a, row in doc_table().items() for c, ok in row.items()]


def test_the_table_names_every_action_and_user_and_matches_the_rule() -> None:
    table = doc_table()
    assert list(table) == list(permissions.ACTIONS)
    for action, row in table.items():
        assert list(row) == list(USERS)
        for column, allowed in row.items():
            user = USERS[column]
            who = permissions.identity(user, auth=user is not None, admins=ADMINS)
            assert permissions.may(who, action, identity(ANA)) is allowed, (action, column)


# ---- the world: runs and a leaderboard of user A, a candidate with a supernet ------------------
@dataclass
class World:
    filled: Filled
    board: str
    candidate: str
    published: list[tuple[str, list]] = field(default_factory=list)
    launched: list[tuple[str, str]] = field(default_factory=list)
    extended: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def store(self):
        return self.filled.store


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def world(filled: Filled, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> World:
    import redis

    from tasks import api, remote
    from tasks.plumbing.coordination import Coordinator
    from tasks.plumbing.settings import settings

    monkeypatch.setenv(permissions.ADMINS_ENV, ADMINS)
    ana = identity(ANA)
    store = filled.store
    store.create_run(RunRecord(name="ana-live", dataset="digits", owner=ana, state="training"))
    store.create_run(RunRecord(name="ana-done", dataset="digits", owner=ana, state="done"))
    store.create_search(SearchRecord("ana-done.evolution.1", "ana-done", "evolution", state="done"))
    store.create_run(RunRecord(name="ana-old", dataset="digits", owner=ana, state="done"))
    store.update_run("ana-old", archived=True)
    board = store.share(filled.run, alpha=0.5, top=3, title="A's picks", author=ana)
    checkpoints = filled.home / "runs" / filled.run / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "epoch-0001.safetensors").write_bytes(b"a supernet")
    out = World(filled, board.id, filled.records[filled.evolution][0].id)

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()

    def publish(name: str, args: list, task_id: str) -> None:  # no gpu worker: kept here
        out.published.append((name, args))

    # The request's bookkeeping is the real Coordinator on a real Redis; only the Celery message
    # to a gpu worker is kept instead of sent.
    monkeypatch.setattr(remote, "_coordinator", lambda: Coordinator(client, settings(), publish))

    def launch(run_spec, search_spec, *, owner: str = "", device: str = "auto") -> str:
        out.launched.append((run_spec.name, owner))  # the queue itself is tested in tasks/
        return run_spec.name

    def extend(run: str, search: str, generations: int) -> dict:
        out.extended.append((run, search, generations))  # the real one: tests/tasks, e2e
        return {"run": run, "search": search, "from": 3, "generations": 3 + generations}

    monkeypatch.setattr(api, "launch", launch)
    monkeypatch.setattr(api, "extend", extend)
    return out


# ---- one driver per action: (whether it happened, the app after the click) ----------------------
def drawn_for_a(column: str, page: str, params: dict[str, str] | None = None):
    """The page as someone who may act sees it: user A, or anyone in single-user mode."""
    if USERS[column] is None:
        return app_at(page, params)
    return app_at(page, params, secrets=AUTH, user=ANA)


def as_column(at, column: str):
    """From now on the clicks arrive as the column's user."""
    if USERS[column] is not None:
        at.user = dict(USERS[column])
    return at


def opened_by(column: str, page: str, params: dict[str, str]):
    user = USERS[column]
    return app_at(page, params) if user is None else app_at(page, params, secrets=AUTH, user=user)


def view_run(w: World, column: str):
    at = opened_by(column, "runs", {"run": "ana-done"})
    return [t.value for t in at.title] == ["Run ana-done"], at


def explorer(w: World, column: str):
    at = opened_by(column, "explorer", {"run": w.filled.run})
    return bool(at.get("vega_lite_chart")), at


def launch(w: World, column: str):
    at = drawn_for_a(column, "launch")
    at.text_input(key="ln_name").set_value("perm-run")
    as_column(at, column)
    next(b for b in at.button if b.label == "Launch").click().run()
    if w.launched:
        user = USERS[column]
        assert w.launched == [("perm-run", identity(user) if user else "")]  # the clicker owns it
    return bool(w.launched), at


def run_button(run: str, label: str, check: Callable[[World], bool]):
    def drive(w: World, column: str):
        at = drawn_for_a(column, "runs", {"run": run})
        button = next(b for b in at.button if b.label == label)
        assert not button.disabled
        as_column(at, column)
        button.click().run()
        return check(w), at

    return drive


def cancelled(w: World) -> bool:
    return w.store.get_run("ana-live").state == "cancelled"


def archived(w: World) -> bool:
    return w.store.get_run("ana-done").archived


def restored(w: World) -> bool:
    return not w.store.get_run("ana-old").archived


def delete(w: World, column: str):
    at = drawn_for_a(column, "runs", {"run": "ana-done"})
    next(b for b in at.button if b.label == "Delete").click().run()
    as_column(at, column)
    next(b for b in at.button if b.label == "Yes, delete it").click().run()
    try:
        w.store.get_run("ana-done")
    except StoreError:
        return True, at
    return False, at


def subnet(kind: str):
    def drive(w: World, column: str):
        from tasks import remote

        params = {"run": w.filled.run, "selection": w.candidate}
        at = drawn_for_a(column, "explorer", params)
        button = at.button(key=f"ex_panel_{kind}")
        assert not button.disabled
        as_column(at, column)
        button.click().run()
        state = remote.state(w.store, w.filled.run, w.candidate, kind).state
        assert (state == "queued") is bool(w.published)
        return state == "queued", at

    return drive


def share(w: World, column: str):
    at = drawn_for_a(column, "explorer", {"run": w.filled.run})
    at.text_input(key="ex_share_title").set_value("shared by the clicker")
    as_column(at, column)
    at.button(key="FormSubmitter:ex_share_form-Share leaderboard").click().run()
    boards = [b for b in w.store.list_leaderboards() if b.title == "shared by the clicker"]
    if boards:
        user = USERS[column]
        assert boards[0].author == (identity(user) if user else "")
    return bool(boards), at


def delete_leaderboard(w: World, column: str):
    at = drawn_for_a(column, "leaderboard", {"id": w.board})
    at.checkbox(key="lb_sure").check().run()
    as_column(at, column)
    at.button(key="lb_delete").click().run()
    return not any(b.id == w.board for b in w.store.list_leaderboards()), at


def annotate(w: World, column: str):
    at = drawn_for_a(column, "runs", {"run": "ana-done"})
    at.multiselect(key="rt_tags").set_value(["by-the-clicker"])
    as_column(at, column)
    at.button(key="FormSubmitter:rt_form-Save tags and notes").click().run()
    return w.store.get_run("ana-done").tags == ["by-the-clicker"], at


def extend(w: World, column: str):
    at = drawn_for_a(column, "runs", {"run": "ana-done"})
    button = at.button(key="run_extend_go")
    assert not button.disabled
    as_column(at, column)
    button.click().run()
    if w.extended:
        assert w.extended == [("ana-done", "ana-done.evolution.1", 1)]
    return bool(w.extended), at


def edit_leaderboard(w: World, column: str):
    at = drawn_for_a(column, "leaderboard", {"id": w.board})
    at.text_input(key=f"lb_title_{w.board}").set_value("edited by the clicker")
    as_column(at, column)
    at.button(key="FormSubmitter:lb_edit_form-Save title and notes").click().run()
    board = w.store.get_leaderboard(w.board)
    assert board.candidates and (board.edited_at is not None) is (board.title != "A's picks")
    return board.title == "edited by the clicker", at


DRIVERS = {
    permissions.VIEW: view_run,
    permissions.EXPLORE: explorer,
    permissions.LAUNCH: launch,
    permissions.CANCEL: run_button("ana-live", "Cancel", cancelled),
    permissions.ARCHIVE: run_button("ana-done", "Archive", archived),
    permissions.RESTORE: run_button("ana-old", "Restore", restored),
    permissions.DELETE: delete,
    permissions.EXPORT: subnet("export"),
    permissions.EVALUATE: subnet("test"),
    permissions.SHARE: share,
    permissions.DELETE_LEADERBOARD: delete_leaderboard,
    permissions.ANNOTATE: annotate,
    permissions.EXTEND: extend,
    permissions.EDIT_LEADERBOARD: edit_leaderboard,
}


def refusal_lines(at, column: str) -> list[str]:
    """What the app says after a refused action: the sign-in page for a visitor, else the
    refusal as one error line."""
    if USERS[column] == ANONYMOUS:
        assert [t.value for t in at.title] == ["Auto-Spikformer"]  # the sign-in page, no other
        return [i.value for i in at.info if GATE in i.value]
    return [shown(e.value) for e in at.error if re.match(r"Only the owner of", shown(e.value))]


@pytest.mark.parametrize(
    ("action", "column", "allowed"),
    CELLS,
    ids=[f"{a}|{c}|{'yes' if ok else 'no'}".replace(" ", "_") for a, c, ok in CELLS],
)
def test_the_app_enforces_the_table(world: World, action: str, column: str, allowed: bool) -> None:
    done, at = DRIVERS[action](world, column)
    assert not at.exception, at.exception
    assert done is allowed, f"{action} as {column}: {'refused' if allowed else 'allowed'}"
    if not allowed:
        lines = refusal_lines(at, column)
        assert len(lines) == 1 and "\n" not in lines[0], lines
