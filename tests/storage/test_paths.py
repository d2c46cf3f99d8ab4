"""Names and paths under the home folder: nothing may escape it."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import paths
from storage.errors import BadName, StoreError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "home" / "nested"
    monkeypatch.setenv(paths.HOME_ENV, str(target))
    return target


def test_home_from_env_is_created(home: Path) -> None:
    assert not home.exists()
    assert paths.home() == home
    assert home.is_dir()


def test_home_defaults_to_dot_folder_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert paths.home() == tmp_path / ".autospikformer"
    assert (tmp_path / ".autospikformer").is_dir()


def test_layout_under_home(home: Path) -> None:
    assert paths.store_path() == home.resolve() / "store.duckdb"
    assert paths.run_dir("r1") == home.resolve() / "runs" / "r1"
    assert paths.checkpoint_dir("r1") == home.resolve() / "runs" / "r1" / "checkpoints"
    assert paths.export_dir("r1") == home.resolve() / "runs" / "r1" / "exports"
    assert paths.logs_dir() == home.resolve() / "logs"
    assert paths.checkpoint_dir("r1").is_dir() and paths.logs_dir().is_dir()


def test_dirs_can_be_computed_without_creating(home: Path) -> None:
    assert not paths.export_dir("r2", create=False).exists()
    assert not (home / "runs" / "r2").exists()


@pytest.mark.parametrize("name", ["r1", "A", "run-2.v3_final", "9lives", "x" * 64])
def test_validate_name_accepts(name: str) -> None:
    assert paths.validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "../x", "a/b", "a\\b", ".hidden", "-flag", "a..b", "x" * 65, "a b", "a\nb", "é", "/etc"],
)
def test_validate_name_rejects(name: str) -> None:
    with pytest.raises(BadName) as err:
        paths.validate_name(name, kind="search")
    assert "search" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", [None, 3, b"r1"])
def test_validate_name_rejects_non_strings(name: object) -> None:
    with pytest.raises(BadName):
        paths.validate_name(name)


def test_bad_name_is_a_store_error() -> None:
    assert issubclass(BadName, StoreError) and issubclass(StoreError, ValueError)


@pytest.mark.parametrize("parts", [("../x",), ("/etc/passwd",), ("a/../../b",), ("a", "..", "..")])
def test_resolve_inside_rejects_escapes(tmp_path: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(BadName):
        paths.resolve_inside(tmp_path, *parts)


def test_resolve_inside_rejects_nul(tmp_path: Path) -> None:
    with pytest.raises(BadName):
        paths.resolve_inside(tmp_path, "a\0b")


def test_resolve_inside_rejects_symlink_pointing_outside(tmp_path: Path) -> None:
    base, outside = tmp_path / "base", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "link").symlink_to(outside)
    with pytest.raises(BadName, match="escapes"):
        paths.resolve_inside(base, "link", "file.pt")


def test_resolve_inside_accepts_paths_that_stay_inside(tmp_path: Path) -> None:
    assert paths.resolve_inside(tmp_path, "a", "b.pt") == tmp_path.resolve() / "a" / "b.pt"
    assert paths.resolve_inside(tmp_path, "a/../c") == tmp_path.resolve() / "c"


def test_resolve_inside_accepts_symlink_that_stays_inside(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert paths.resolve_inside(tmp_path, "alias", "x") == tmp_path.resolve() / "real" / "x"


def test_run_dir_rejects_traversal_names(home: Path) -> None:
    for name in ("..", "../x", "a/../../b", "/etc/passwd"):
        with pytest.raises(BadName):
            paths.run_dir(name)
    assert not (home / "runs").exists()


def test_run_dir_rejects_a_run_folder_linked_outside(home: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (home / "runs").mkdir(parents=True)
    (home / "runs" / "evil").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BadName):
        paths.checkpoint_dir("evil")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_relative_to_home(home: Path) -> None:
    target = paths.export_dir("r1") / "c.safetensors"
    assert paths.relative_to_home(target) == "runs/r1/exports/c.safetensors"
    assert paths.relative_to_home("runs/r1/x.pt") == "runs/r1/x.pt"
    with pytest.raises(BadName):
        paths.relative_to_home("/etc/passwd")
    with pytest.raises(BadName):
        paths.relative_to_home("../outside.pt")
