"""The permission rule itself (`app.web.components.permissions`): who a signed-in user is, who is
an admin, which old owners match, and the one-line refusals. The app is driven against the
documented table in test_permissions_table.py."""

from __future__ import annotations

import pytest

from app.web.components import permissions as p
from tests.app.signin import ADMIN, ADMINS, ANA, ANONYMOUS, BOB, ISSUER, claims, identity


def who(user: dict, admins: str = ADMINS) -> p.Identity:
    return p.identity(user, auth=True, admins=admins)


def test_identity_is_issuer_and_sub_shown_by_the_verified_email() -> None:
    ana = who(ANA)
    assert (ana.user, ana.email, ana.label) == (f"{ISSUER}|ana-1", "ana@example.org", ana.email)
    assert not ana.admin
    unverified = who(claims("ana-1", "ana@example.org", verified=False))
    assert (unverified.user, unverified.email, unverified.label) == (ana.user, "", "ana-1")
    as_text = who(claims("ana-1", "ana@example.org", verified="true"))  # e.g. AWS Cognito
    assert as_text.email == "ana@example.org"


@pytest.mark.parametrize(
    "user",
    [
        ANONYMOUS,
        {"is_logged_in": True, "email": "ana@example.org", "email_verified": True},  # no iss/sub
        {"is_logged_in": True, "iss": ISSUER, "name": "Ana"},  # a display name is nobody
        {"iss": ISSUER, "sub": "ana-1"},  # not logged in
    ],
)
def test_without_issuer_and_sub_nobody_is_signed_in(user) -> None:
    assert who(user) == p.Identity(auth=True)
    assert not p.may(who(user), p.VIEW)


def test_single_user_mode_may_do_everything() -> None:
    nobody = p.identity(ANONYMOUS, auth=False)
    assert nobody == p.Identity()
    assert all(p.may(nobody, action, "someone") for action in p.ACTIONS)


def test_admins_are_named_by_identity_or_verified_email() -> None:
    assert who(ADMIN).admin  # by identity
    assert who(claims("x-7", "someone@example.org")).admin  # by verified email
    assert who(claims("x-7", "SomeOne@Example.org")).admin  # emails compare case-insensitively
    assert not who(claims("x-7", "someone@example.org", verified=False)).admin
    assert not who(claims("x-7", "x@example.org", name="someone@example.org")).admin
    assert not who(ADMIN, admins="").admin
    assert p.parse_admins(" a@b.c ,, https://i|s ") == {"a@b.c", "https://i|s"}


def test_admins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(p.ADMINS_ENV, identity(BOB))
    assert p.identity(BOB, auth=True).admin
    monkeypatch.delenv(p.ADMINS_ENV)
    assert not p.identity(BOB, auth=True).admin


def test_old_owners_match_by_verified_email_only() -> None:
    assert p.owns(who(ANA), identity(ANA))
    assert p.owns(who(ANA), "Ana@Example.org")  # a run launched before identities
    assert not p.owns(who(claims("ana-1", "ana@example.org", verified=False)), "ana@example.org")
    assert not p.owns(who(BOB), "ana@example.org")  # BOB's display name is ana@example.org
    assert not p.owns(who(ANA), "ana-1")  # a bare sub: other issuers may reuse it
    assert not p.owns(who(ANA), "")
    assert not p.owns(p.Identity(auth=True), "")


def test_managing_is_for_the_owner_and_the_admins() -> None:
    owner = identity(ANA)
    for action in p.MANAGE:
        assert p.may(who(ANA), action, owner)
        assert not p.may(who(BOB), action, owner)
        assert p.may(who(ADMIN), action, owner)
        assert not p.may(who(BOB), action, "")  # nobody's: admins only
        assert p.may(who(ADMIN), action, "")
    for action in set(p.ACTIONS) - p.MANAGE:
        assert p.may(who(BOB), action, owner)
        assert not p.may(who(ANONYMOUS), action, owner)


def test_refusals_are_one_line_and_say_why() -> None:
    owner = identity(ANA)
    assert p.refusal(who(ANA), p.CANCEL, owner, "run r1") is None
    line = p.refusal(who(BOB), p.CANCEL, owner, "run r1")
    assert line == f"Only the owner of run r1 or an admin may cancel it; its owner is {owner}."
    assert "has no owner" in p.refusal(who(BOB), p.DELETE, "", "run r1")
    assert p.refusal(who(ANONYMOUS), p.EXPORT) == "Sign in to export subnets."
    for action in p.ACTIONS:
        assert "\n" not in (p.refusal(who(ANONYMOUS), action, owner) or "")
    with pytest.raises(ValueError, match="unknown action 'fly'"):
        p.may(who(ANA), "fly")
