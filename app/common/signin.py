"""Is sign-in configured, and so where may the app listen? One answer for `up`, the Procfile, the
Dockerfile and the app's pages.

Sign-in is configured when Streamlit's secrets have an `[auth]` table. Streamlit reads the
secrets from `~/.streamlit/secrets.toml`, `./.streamlit/secrets.toml` (the folder the app is
started from) and `.streamlit/secrets.toml` next to the app's script, later files overriding
earlier ones; `configured()` reads the same files (or, inside the app, `st.secrets` itself). A
file that does not parse counts as no sign-in, as it does for Streamlit.

Without sign-in, whoever reaches the app can launch, cancel and delete runs, so it listens on
127.0.0.1 only, unless `--public` (or `AUTOSPIKFORMER_PUBLIC=1`, or an `--address` that is not
loopback) says otherwise, and then with a one-line warning. With sign-in it listens on every
interface (0.0.0.0) unless `--address` says otherwise.

`python -m app.common.signin [--public] [--address A] [--app SCRIPT]` prints the address to listen
on (the warning, if any, goes to stderr): the Procfile's `web` uses it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib  # type: ignore[no-redef]

LOOPBACK = "127.0.0.1"
EVERYWHERE = "0.0.0.0"  # noqa: S104 - only with sign-in, or when asked for
PUBLIC_ENV = "AUTOSPIKFORMER_PUBLIC"
# Who of those the sign-in provider vouches for is on this server's team (app.web.components.
# permissions reads it): unset, only the admins are. `*` lets in everyone the provider signs in.
USERS_ENV = "AUTOSPIKFORMER_USERS"
APP_SCRIPT = Path(__file__).resolve().parents[1] / "streamlit_app.py"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def secrets_files(script: str | os.PathLike[str] | None = None) -> list[Path]:
    """The secrets files Streamlit reads for `script` started from this folder, in order."""
    found = [
        Path.home() / ".streamlit" / "secrets.toml",
        Path.cwd() / ".streamlit" / "secrets.toml",
    ]
    beside = Path(script or APP_SCRIPT).resolve().parent / ".streamlit" / "secrets.toml"
    if beside not in found:
        found.append(beside)
    return found


def _read(path: Path) -> dict[str, Any] | None:
    """A secrets file's tables; None if it is missing or does not parse."""
    try:
        return tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def configured(
    secrets: Mapping[str, Any] | None = None, *, script: str | os.PathLike[str] | None = None
) -> bool:
    """True if sign-in (Streamlit's OIDC, an `[auth]` table in the secrets) is configured.

    `secrets`: the app's `st.secrets`; without it, the files Streamlit would read for `script`.
    """
    if secrets is not None:
        try:
            return isinstance(secrets.get("auth"), Mapping)
        except Exception:  # noqa: BLE001 - Streamlit raises when there is no secrets file at all
            return False
    merged: dict[str, Any] = {}
    for path in secrets_files(script):
        tables = _read(path)
        if tables is None and path.exists():
            return False  # Streamlit fails to load secrets it cannot parse: no sign-in
        merged.update(tables or {})
    return isinstance(merged.get("auth"), Mapping)


def is_loopback(address: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def public_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """`AUTOSPIKFORMER_PUBLIC` as a yes/no; `ValueError` (one line) for anything else."""
    raw = (os.environ if environ is None else environ).get(PUBLIC_ENV, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{PUBLIC_ENV} must be 1 or 0, got {raw!r}")


@dataclass(frozen=True)
class Binding:
    """Where the app listens, whether sign-in guards it, and the warning to print (if any)."""

    address: str
    signed_in: bool
    warning: str = ""

    @property
    def local_only(self) -> bool:
        return is_loopback(self.address)


def binding(
    address: str | None = None,
    *,
    public: bool = False,
    script: str | os.PathLike[str] | None = None,
    signed_in: bool | None = None,
) -> Binding:
    """The address to listen on: `address` if given, else 0.0.0.0 with sign-in or `public`, else
    127.0.0.1. Without sign-in, a non-loopback address comes with a one-line warning; with
    sign-in and no team (`AUTOSPIKFORMER_USERS` unset), a line saying only the admins get in."""
    signed = configured(script=script) if signed_in is None else signed_in
    chosen = address or (EVERYWHERE if signed or public else LOOPBACK)
    warning = ""
    if not signed and not is_loopback(chosen):
        warning = (
            f"warning: no sign-in is configured and the app listens on {chosen}: anyone who "
            "reaches it can launch, cancel and delete runs (configure [auth] in "
            ".streamlit/secrets.toml to require sign-in)"
        )
    elif signed and not os.environ.get(USERS_ENV, "").strip():
        warning = (
            f"warning: sign-in is configured but {USERS_ENV} is unset: only the admins "
            "(AUTOSPIKFORMER_ADMINS) may use the app; list the team's identities, verified "
            "emails or @domains, or * for everyone the provider signs in"
        )
    return Binding(chosen, signed, warning)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.common.signin", description="print the address the app listens on"
    )
    parser.add_argument("--public", action="store_true", help=f"as {PUBLIC_ENV}=1")
    parser.add_argument("--address", default=None)
    parser.add_argument("--app", default=str(APP_SCRIPT), help="the Streamlit script")
    args = parser.parse_args(argv)
    try:
        public = args.public or public_from_env()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    chosen = binding(args.address, public=public, script=args.app)
    if chosen.warning:
        print(chosen.warning, file=sys.stderr)
    print(chosen.address)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
