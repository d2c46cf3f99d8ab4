"""Who is on the team of a server with sign-in: a provider such as Google signs in anyone with an
account, so sign-in alone keeps nobody out. `AUTOSPIKFORMER_USERS` lists the team (identities,
verified emails, `@domain`s of verified emails, or `*`), the admins are on it, and a signed-in
user off it may do nothing: the sign-in page says so, and every action is refused server-side."""

from __future__ import annotations

import pytest

from app.common import signin
from app.web.components import permissions as p
from tests.app.conftest import shown
from tests.app.signin import ADMIN, ADMINS, ANA, AUTH, BOB, claims, identity

EVE = claims("eve-9", "eve@evil-example.org")  # a stranger with an account at the provider


def who(user: dict, users: str | None) -> p.Identity:
    return p.identity(user, auth=True, admins=ADMINS, users=users or "")


@pytest.mark.parametrize(
    ("users", "ana", "bob", "eve"),
    [
        ("", False, False, False),  # unset: the admins alone
        ("*", True, True, True),
        ("ana@example.org", True, False, False),
        ("ANA@Example.org", True, False, False),  # emails compare without case
        ("@example.org", True, True, False),  # not eve@evil-example.org
        ("@EXAMPLE.ORG, eve@evil-example.org", True, True, True),
        (identity(BOB), False, True, False),
        ("example.org", False, False, False),  # a domain needs its @
    ],
)
def test_the_team_is_who_the_list_names(users: str, ana: bool, bob: bool, eve: bool) -> None:
    assert [bool(who(u, users).user) for u in (ANA, BOB, EVE)] == [ana, bob, eve]
    assert who(ADMIN, users).user == identity(ADMIN) and who(ADMIN, users).admin


def test_an_unverified_email_matches_neither_email_nor_domain() -> None:
    unverified = claims("ana-1", "ana@example.org", verified=False)
    assert who(unverified, "ana@example.org, @example.org").user == ""
    assert who(unverified, identity(unverified)).user == identity(unverified)


def test_off_the_team_every_action_is_refused() -> None:
    outsider = who(EVE, "@example.org")
    assert outsider.outsider == "eve@evil-example.org" and not outsider.can_write
    assert not any(p.may(outsider, action) for action in p.ACTIONS)
    assert not p.may(outsider, p.CANCEL, identity(EVE))  # not even on a run stored as theirs


def test_the_list_is_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(signin.USERS_ENV, "@example.org")
    assert p.identity(BOB, auth=True, admins="").user == identity(BOB)
    monkeypatch.delenv(signin.USERS_ENV)
    assert p.identity(BOB, auth=True, admins="").user == ""


def test_an_outsider_sees_only_why_and_a_sign_out(filled, open_app, monkeypatch) -> None:
    monkeypatch.setenv(signin.USERS_ENV, "@example.org")
    filled.store.share(filled.run, alpha=0.5, top=3, title="secret picks")
    at = open_app("launch", secrets=AUTH, user=EVE)
    assert not at.exception
    assert [t.value for t in at.title] == ["Auto-Spikformer"]
    assert [shown(e.value) for e in at.error] == [
        "You are signed in as eve@evil-example.org, who is not on this server's team. "
        "Ask an admin to add you to AUTOSPIKFORMER_USERS."
    ]
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.dataframe and not at.get("vega_lite_chart") and not at.text_input
    at = open_app("launch", secrets=AUTH, user=BOB)  # on the team by domain
    assert at.title[0].value == "Launch a run"


def test_with_no_team_listed_only_the_admins_get_in(filled, open_app, monkeypatch) -> None:
    monkeypatch.delenv(signin.USERS_ENV)
    monkeypatch.setenv(p.ADMINS_ENV, ADMINS)
    assert open_app("runs", {"run": filled.run}, secrets=AUTH, user=ANA).error
    at = open_app("runs", {"run": filled.run}, secrets=AUTH, user=ADMIN)
    assert at.title[0].value == f"Run {filled.run}"


def test_a_server_with_sign_in_and_no_team_says_so_when_it_starts(monkeypatch) -> None:
    monkeypatch.delenv(signin.USERS_ENV)
    warning = signin.binding(signed_in=True).warning
    assert warning.startswith("warning: sign-in is configured but AUTOSPIKFORMER_USERS is unset")
    assert "\n" not in warning
    monkeypatch.setenv(signin.USERS_ENV, "*")
    assert signin.binding(signed_in=True).warning == ""
    assert signin.binding(signed_in=False).warning == ""  # 127.0.0.1: no warning either
