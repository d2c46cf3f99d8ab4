"""Reproducible installs: pyproject.toml's ranges, the two lock files and the installers agree.

Every dependency has a ceiling; every one is pinned, with hashes, in the lock that installs it, at
a version inside its range; `make` and the Dockerfile install from the locks, hash-checked."""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]
APP_LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"

# One pinned entry: `name==version [; marker] \` then one `--hash=sha256:...` line or more.
ENTRY = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)[^\\\n]*"
    r"(?P<hashes>(?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)",
    re.M,
)


def _pyproject() -> dict:
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _requirements() -> dict[str, list[Requirement]]:
    project = _pyproject()
    return {
        "app": [Requirement(r) for r in project["dependencies"]],
        "dev": [Requirement(r) for r in project["optional-dependencies"]["dev"]],
    }


def parse_lock(text: str) -> dict[str, str]:
    """{normalized name: pinned version}; raises on any requirement line that is not pinned with
    hashes."""
    pins: dict[str, str] = {}
    for m in ENTRY.finditer(text):
        pins[canonicalize_name(m["name"])] = m["version"]
    starts = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith((" ", "#", "\t", "-"))
    ]
    if len(starts) != len(pins):
        loose = [s for s in starts if canonicalize_name(re.split(r"[=<>!~; \[]", s)[0]) not in pins]
        raise ValueError(f"entries without an exact pin and hashes: {loose}")
    return pins


@pytest.fixture(scope="module")
def app_pins() -> dict[str, str]:
    return parse_lock(APP_LOCK.read_text())


@pytest.fixture(scope="module")
def dev_pins() -> dict[str, str]:
    return parse_lock(DEV_LOCK.read_text())


def test_every_dependency_has_a_floor_and_a_ceiling() -> None:
    for group, reqs in _requirements().items():
        for req in reqs:
            ops = {spec.operator for spec in req.specifier}
            assert ops & {"<", "<=", "==", "~=", "==="}, f"{group}: {req} has no upper bound"
            assert ops & {">", ">=", "==", "~=", "==="}, f"{group}: {req} has no lower bound"


@pytest.mark.parametrize(
    ("lock", "groups"), [(APP_LOCK, ("app",)), (DEV_LOCK, ("app", "dev"))], ids=["app", "dev"]
)
def test_every_dependency_is_pinned_with_hashes_inside_its_range(
    lock: Path, groups: tuple[str, ...]
) -> None:
    pins = parse_lock(lock.read_text())
    reqs = _requirements()
    for group in groups:
        for req in reqs[group]:
            name = canonicalize_name(req.name)
            assert name in pins, f"{lock.name} has no pin for {req} (run `make lock`)"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"{lock.name} pins {name}=={pins[name]}, outside pyproject's {req} "
                "(run `make lock`)"
            )


def test_the_app_lock_is_the_dev_lock_without_the_dev_tools(
    app_pins: dict[str, str], dev_pins: dict[str, str]
) -> None:
    assert app_pins.items() <= dev_pins.items(), {
        n: (v, dev_pins.get(n)) for n, v in app_pins.items() if dev_pins.get(n) != v
    }
    # The build backend is pinned too: the project installs with --no-build-isolation.
    assert "setuptools" in app_pins


def test_torch_stays_on_the_release_this_machine_keeps_on_disk(dev_pins: dict[str, str]) -> None:
    assert dev_pins["torch"] == "2.14.1"
    assert dev_pins["torchvision"] == "0.29.1"


def test_parse_lock_refuses_an_entry_without_hashes() -> None:
    good = "numpy==2.4.6 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\n"
    assert parse_lock(good) == {"numpy": "2.4.6"}
    with pytest.raises(ValueError, match="pandas"):
        parse_lock(good + "pandas==3.1.1\n")
    with pytest.raises(ValueError, match="scipy"):
        parse_lock(good + "scipy>=1.11 \\\n    --hash=sha256:" + "b" * 64 + "\n")


def test_this_environment_is_the_dev_lock(dev_pins: dict[str, str]) -> None:
    """The suite runs on exactly the locked versions (`make test` installs them)."""
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in md.distributions()}
    drift = {n: (v, installed.get(n)) for n, v in dev_pins.items() if installed.get(n) != v}
    assert not drift, f"pinned vs installed: {drift} (run `make venv`)"


def test_make_installs_the_dev_lock_hash_checked(tmp_path: Path) -> None:
    done = subprocess.run(
        ["make", "-n", "-B", "venv", f"VENV={tmp_path / 'venv'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    pip = [line for line in done.stdout.splitlines() if "pip install" in line]
    assert len(pip) == 2, done.stdout
    assert "--require-hashes -r requirements-dev.lock" in pip[0], pip
    assert "--no-deps" in pip[1] and "-e ." in pip[1], pip
    assert "pip check" in done.stdout, done.stdout
    # The stamp is rebuilt when the lock changes.
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): .*\$\(LOCK\)", makefile, re.M)
    assert re.search(r"^LOCK := requirements-dev\.lock$", makefile, re.M)


def test_dockerfile_pins_its_base_and_installs_the_app_lock() -> None:
    text = (REPO / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert bases and all(re.search(r"@sha256:[0-9a-f]{64}$", b) for b in bases), bases
    assert re.search(r"pip install --require-hashes -r requirements\.lock", text)
    assert "COPY requirements.lock" in text


def test_make_refuses_a_lock_that_no_longer_satisfies_pyproject(tmp_path: Path) -> None:
    """A stand-in venv whose pip installs nothing and whose `pip check` finds a missing package:
    the install step stops with one line, and the stamp is not written."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 0\n")
    (venv / "bin" / "pip").write_text(
        '#!/bin/sh\nif [ "$1" = check ]; then\n'
        '  echo "autospikformer 0.1.0 requires hypothesis, which is not installed."; exit 1\n'
        "fi\nexit 0\n"
    )
    for tool in ("python", "pip"):
        (venv / "bin" / tool).chmod(0o755)
    done = subprocess.run(
        ["make", "-s", "venv", f"VENV={venv}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert ours == [
        "error: requirements-dev.lock does not satisfy pyproject.toml; run 'make lock'"
    ], done.stderr
    assert "requires hypothesis" in done.stderr
    assert not (venv / ".installed").exists()
