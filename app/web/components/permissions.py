"""Who may do what in the app: one rule, used by every callback that starts work or changes state
and by the buttons' `disabled` state (docs/architecture.md, "Who may do what", is its table).

- Without sign-in configured the app is in single-user mode: everyone may do everything.
- With sign-in configured, a visitor who is not signed in may do nothing (the navigation shows
  only the sign-in page), nor may a signed-in user who is not on the team: the team is
  `AUTOSPIKFORMER_USERS` (identities, verified emails, `@domain`s of verified emails, or `*` for
  everyone the provider signs in) plus the admins; unset, the admins alone. A provider such as
  Google signs in anyone with an account, so sign-in alone keeps nobody out.
- A member of the team may view, launch, export, evaluate on test and share;
  managing a run or a leaderboard (cancel, archive, restore, delete; a run's tags and notes;
  extending its search; a leaderboard's title and notes: edit) is for its owner and for the
  admins named in `AUTOSPIKFORMER_ADMINS`. A run or leaderboard without an owner (launched from
  the command line, or in single-user mode) is managed by admins only.

Identity is the OIDC issuer plus `sub` (`"https://issuer|sub"`): what the provider guarantees to
be unique and stable. It is shown by its email only when the provider says `email_verified`, else
by its `sub`; never by a display `name`, which the user controls.

Owners stored before identities were `ISSUER|SUB` are emails (or display names): such an owner
matches when it equals the signed-in user's verified email (compared case-insensitively). A name,
an unverified email or a bare `sub` never matches: those runs are left to the admins.

Nothing here imports Streamlit: the pages pass `st.user`'s claims to `identity`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.common.signin import USERS_ENV

ADMINS_ENV = "AUTOSPIKFORMER_ADMINS"
EVERYONE = "*"  # in AUTOSPIKFORMER_USERS: everyone the provider signs in is on the team

VIEW = "view run"
EXPLORE = "explorer"
LAUNCH = "launch"
CANCEL = "cancel"
ARCHIVE = "archive"
RESTORE = "restore"
DELETE = "delete"
EXPORT = "export"
EVALUATE = "evaluate on test"
SHARE = "share"
DELETE_LEADERBOARD = "delete leaderboard"
ANNOTATE = "edit tags and notes"
EXTEND = "extend search"
EDIT_LEADERBOARD = "edit leaderboard"
ACTIONS: tuple[str, ...] = (VIEW, EXPLORE, LAUNCH, CANCEL, ARCHIVE, RESTORE, DELETE, EXPORT)
ACTIONS += (EVALUATE, SHARE, DELETE_LEADERBOARD, EDIT_LEADERBOARD, ANNOTATE, EXTEND)
MANAGE = frozenset(
    {CANCEL, ARCHIVE, RESTORE, DELETE, DELETE_LEADERBOARD, EDIT_LEADERBOARD, ANNOTATE, EXTEND}
)
# How a refusal names the action: "Sign in to <verb>", "may <verb> it".
VERBS = {
    VIEW: "view runs",
    EXPLORE: "open the explorer",
    LAUNCH: "launch runs",
    CANCEL: "cancel",
    ARCHIVE: "archive",
    RESTORE: "restore",
    DELETE: "delete",
    EXPORT: "export subnets",
    EVALUATE: "evaluate subnets on the test split",
    SHARE: "share leaderboards",
    DELETE_LEADERBOARD: "delete",
    EDIT_LEADERBOARD: "edit",
    ANNOTATE: "tag and annotate",
    EXTEND: "extend",
}


@dataclass(frozen=True)
class Identity:
    """Who is using the app. `auth`: sign-in is configured; `user`: `"ISSUER|SUB"`, empty when
    nobody is signed in (always empty in single-user mode) or the one signed in is not on the
    team; `email`: the verified email, else empty; `admin`: named in `AUTOSPIKFORMER_ADMINS`;
    `outsider`: how a signed-in user who is not on the team is shown (they may do nothing)."""

    auth: bool = False
    user: str = ""
    email: str = ""
    admin: bool = False
    outsider: str = ""

    @property
    def can_write(self) -> bool:
        """Single-user mode, or someone signed in."""
        return not self.auth or bool(self.user)

    @property
    def label(self) -> str:
        """How the user is shown: the verified email, else the `sub`."""
        return self.email or self.user.partition("|")[2]


def email_verified(value: Any) -> bool:
    """The `email_verified` claim: `true` (some providers send the string `"true"`)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def parse_admins(text: str | None) -> frozenset[str]:
    """`AUTOSPIKFORMER_ADMINS` (or `_USERS`): comma-separated identities (`ISSUER|SUB`) or
    verified emails (for users also `@domain`s and `*`)."""
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())


def _listed(user: str, email: str, entries: Iterable[str], *, domains: bool = False) -> bool:
    """`user` is named in `entries` by identity or verified email (with `domains`, also by the
    verified email's `@domain`, or by `*`)."""
    for entry in entries:
        if entry == user or (domains and entry == EVERYONE):
            return True
        if not email or "|" in entry:
            continue
        if entry.casefold() == email.casefold():
            return True
        if domains and entry.startswith("@") and email.casefold().endswith(entry.casefold()):
            return True
    return False


def identity(
    claims: Mapping[str, Any] | None,
    *,
    auth: bool,
    admins: str | None = None,
    users: str | None = None,
) -> Identity:
    """The identity of `st.user`'s `claims` (an ID token's, plus `is_logged_in`). `admins` and
    `users` default to `AUTOSPIKFORMER_ADMINS` and `AUTOSPIKFORMER_USERS`. Without `iss` and
    `sub` nobody is signed in; off the team, the user is only an `outsider`."""
    if not auth:
        return Identity()
    claims = claims or {}
    issuer, sub = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    if not claims.get("is_logged_in") or not issuer or not sub:
        return Identity(auth=True)
    user = f"{issuer}|{sub}"
    email = str(claims.get("email") or "") if email_verified(claims.get("email_verified")) else ""
    admin = _listed(
        user, email, parse_admins(os.environ.get(ADMINS_ENV) if admins is None else admins)
    )
    team = parse_admins(os.environ.get(USERS_ENV) if users is None else users)
    if not admin and not _listed(user, email, team, domains=True):
        return Identity(auth=True, outsider=email or user)
    return Identity(auth=True, user=user, email=email, admin=admin)


def owns(who: Identity, owner: str | None) -> bool:
    """Whether `owner` (a run's owner, a leaderboard's author) is `who`: the same identity, or,
    for values stored before identities, `who`'s verified email."""
    if not owner or not who.user:
        return False
    return owner == who.user or bool(who.email and owner.casefold() == who.email.casefold())


def may(who: Identity, action: str, owner: str | None = "") -> bool:
    """Whether `who` may do `action` on a thing owned by `owner` (empty: nobody)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    if not who.auth:
        return True
    if not who.user:
        return False
    return action not in MANAGE or who.admin or owns(who, owner)


def refusal(who: Identity, action: str, owner: str | None = "", what: str = "it") -> str | None:
    """None when `may(who, action, owner)`, else the one line that says why not; `what` names
    the thing (`"run r1"`)."""
    if may(who, action, owner):
        return None
    if not who.user:
        return f"Sign in to {VERBS[action]}."
    held = f"its owner is {owner}" if owner else "it has no owner (launched without sign-in)"
    return f"Only the owner of {what} or an admin may {VERBS[action]} it; {held}."
