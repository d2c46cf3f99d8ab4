"""Sign-in for the app tests: the secrets that configure OIDC and the `st.user` claims of two
users, an admin and an anonymous visitor (what `AppTest.user` hands the app)."""

from __future__ import annotations

from typing import Any

AUTH = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-secret",
        "client_id": "client",
        "client_secret": "secret",
        "server_metadata_url": "https://id.example.invalid/.well-known/openid-configuration",
    }
}
ISSUER = "https://id.example.invalid"


def claims(sub: str, email: str, *, verified: bool = True, **more: Any) -> dict[str, Any]:
    """A signed-in user's ID-token claims, as `st.user` shows them."""
    return {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": sub,
        "email": email,
        "email_verified": verified,
        **more,
    }


def identity(user: dict[str, Any]) -> str:
    """The identity the app stores as a run's owner: `ISSUER|SUB`."""
    return f"{user['iss']}|{user['sub']}"


ANA = claims("ana-1", "ana@example.org", name="Ana")  # user A, who owns the runs
BOB = claims("bob-2", "bob@example.org", name="ana@example.org")  # B; a misleading name
ADMIN = claims("root-3", "root@example.org")
ANONYMOUS = {"is_logged_in": False}
ADMINS = f"{identity(ADMIN)}, someone@example.org"  # AUTOSPIKFORMER_ADMINS
GATE = "Sign in to see and launch runs"  # the sign-in page's line
