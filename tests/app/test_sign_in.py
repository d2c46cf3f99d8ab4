"""Sign-in and what the sidebar says: with sign-in configured a visitor sees the sign-in page at
every address and nothing else; a signed-in user is shown by the verified email (else the
`sub`), never by a display name; single-user mode says who can reach the app from the address
it really listens on (Streamlit's `server.address`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.web.components import permissions, ui
from tests.app.conftest import shown
from tests.app.signin import ADMIN, ADMINS, ANA, ANONYMOUS, AUTH, BOB, GATE, claims

PAGE_PARAMS = {
    "runs": {"run": "digits-demo"},
    "launch": {},
    "explorer": {"run": "digits-demo"},
    "compare": {"run": "digits-demo"},
    "leaderboards": {},
    "leaderboard": {"id": "0123456789ab"},
    "help": {},
}


@pytest.mark.parametrize("page", list(ui.PAGES))
def test_a_visitor_sees_only_the_sign_in_page(filled, open_app, page) -> None:
    filled.store.share(filled.run, alpha=0.5, top=3, title="secret picks")
    at = open_app(page, PAGE_PARAMS[page], secrets=AUTH, user=ANONYMOUS)
    assert not at.exception
    assert [t.value for t in at.title] == ["Auto-Spikformer"]
    assert [i.value for i in at.info] == [
        "Sign in to see and launch runs, the explorer and the shared leaderboards."
    ]
    assert GATE in at.info[0].value
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.get("vega_lite_chart") and not at.table
    assert not at.markdown and not at.caption and not at.sidebar.children
    for element in (*at.warning, *at.error, *at.subheader):
        assert filled.run not in element.value and "secret" not in element.value


def test_a_sign_in_without_issuer_and_sub_names_nobody(filled, open_app) -> None:
    user = {"is_logged_in": True, "email": "ana@example.org", "email_verified": True}
    at = open_app("runs", {"run": filled.run}, secrets=AUTH, user=user)
    assert [t.value for t in at.title] == ["Auto-Spikformer"]
    assert "names nobody" in at.error[0].value
    assert [b.label for b in at.button] == ["Sign out"]


def test_the_same_visitor_signed_in_sees_the_app(filled, open_app) -> None:
    at = open_app("runs", {"run": filled.run}, secrets=AUTH, user=ANA)
    assert not at.exception
    assert at.title[0].value == f"Run {filled.run}"


def sidebar(at) -> list[str]:
    return [shown(c.value) for c in (*at.sidebar.caption, *at.sidebar.warning)]


@pytest.mark.parametrize(
    ("user", "label"),
    [
        (ANA, "Signed in as **ana@example.org**."),
        (claims("ana-1", "ana@example.org", verified=False, name="Ana"), "Signed in as **ana-1**."),
        (BOB, "Signed in as **bob@example.org**."),  # whose display name is ana@example.org
        (ADMIN, "Signed in as **root@example.org** (admin)."),
    ],
)
def test_a_user_is_shown_by_the_verified_email_else_the_sub(
    filled, open_app, monkeypatch, user, label
) -> None:
    monkeypatch.setenv(permissions.ADMINS_ENV, ADMINS)
    at = open_app("help", secrets=AUTH, user=user)
    assert sidebar(at) == [label]
    assert [b.label for b in at.sidebar.button] == ["Sign out"]


@pytest.fixture
def address() -> Iterator[callable]:
    """Set Streamlit's `server.address` (what `up --address` passes) for one test."""
    from streamlit import config

    before = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", before)


@pytest.mark.parametrize("where", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_single_user_mode_on_loopback_says_localhost_only(filled, open_app, address, where):
    address(where)
    at = open_app("help")
    assert sidebar(at)[1] == f"The app listens on localhost only ({where})."
    assert not at.sidebar.warning


@pytest.mark.parametrize(
    ("where", "said"),
    [("0.0.0.0", "0.0.0.0"), ("192.168.1.20", "192.168.1.20"), ("", "every network interface")],
)
def test_single_user_mode_on_the_network_warns(filled, open_app, address, where, said) -> None:
    address(where)
    at = open_app("help")
    assert "localhost only" not in " ".join(sidebar(at))
    warning = shown(at.sidebar.warning[0].value)
    assert warning.startswith(f"The app listens on {said}, port ")
    assert "anyone who reaches that port can launch, cancel and delete runs" in warning


def test_loopback_addresses() -> None:
    assert ui.is_loopback("127.0.0.1") and ui.is_loopback("[::1]") and ui.is_loopback("LOCALHOST")
    assert not ui.is_loopback("0.0.0.0") and not ui.is_loopback("") and not ui.is_loopback("::")
    assert not ui.is_loopback("example.org")
