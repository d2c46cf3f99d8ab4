"""Bad input to launch, status and cancel: one-line errors, exit code 2, nothing stored."""

from __future__ import annotations

import pytest

from tests.tasks.conftest import RUN_ARGS, Service


def _rows(service: Service) -> dict[str, int]:
    if not (service.home / "store.duckdb").exists():
        return {"runs": 0, "searches": 0, "candidates": 0}
    with service.store().connect() as con:
        return {
            t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("runs", "searches", "candidates")
        }


def _fails(service: Service, *args: str, says: str) -> None:
    done = service.cli(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert says in lines[0], lines[0]


@pytest.mark.parametrize("command", ["status", "cancel"])
def test_unknown_run(service: Service, command: str) -> None:
    _fails(service, command, "--run", "nope", says="unknown run 'nope'")


@pytest.mark.parametrize("command", ["status", "cancel", "launch"])
def test_path_traversal_run_name(service: Service, command: str) -> None:
    before = _rows(service)
    extra = ("--space", str(service.space), *RUN_ARGS) if command == "launch" else ()
    _fails(service, command, "--run", "../x", *extra, says="bad run name '../x'")
    assert _rows(service) == before
    assert not (service.home.parent / "x").exists()
    assert not (service.home / "runs").exists() or not any((service.home / "runs").iterdir())


def test_invalid_space_file(service: Service) -> None:
    bad = service.home / "bad-space.yaml"
    bad.write_text("embed_dim: [16]\ndepth: [1]\nwings: [2]\n")
    before = _rows(service)
    done = service.cli("launch", "--run", "badspace", "--space", str(bad), *RUN_ARGS)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "wings" in done.stderr
    assert _rows(service) == before


@pytest.mark.parametrize("alpha", ["1.5", "-0.1", "nan"])
def test_alpha_out_of_range(service: Service, alpha: str) -> None:
    before = _rows(service)
    args = ("launch", "--run", "alpha", "--space", str(service.space), *RUN_ARGS)
    _fails(service, *args, "--alpha", alpha, says="alpha")
    assert _rows(service) == before


def test_alpha_out_of_range_through_the_api(service: Service, monkeypatch) -> None:
    """The app calls `tasks.api.launch` directly: the same check, before any write."""
    from tasks import api
    from tasks.pipeline import RunSpec, SearchSpec

    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(service.home))
    before = _rows(service)
    spec = RunSpec(name="alpha-api", dataset="digits", space=str(service.space), epochs=1)
    with pytest.raises(ValueError, match="alpha"):
        api.launch(spec, SearchSpec(alpha=1.5, generations=1, population=2))
    assert _rows(service) == before


def test_duplicate_run_name(service: Service) -> None:
    service.launch("dup")
    before = _rows(service)
    args = ("launch", "--run", "dup", "--space", str(service.space), *RUN_ARGS)
    _fails(service, *args, says="run 'dup' already exists")
    assert _rows(service) == before
    assert service.store().get_run("dup").state == "queued"  # the first one is untouched


def test_unreachable_broker(service: Service, monkeypatch) -> None:
    from tests.tasks.conftest import free_port

    before = _rows(service)
    monkeypatch.setattr(service.redis, "port", free_port())  # nothing listens there
    args = ("launch", "--run", "nobroker", "--space", str(service.space), *RUN_ARGS)
    _fails(service, *args, says="cannot reach the broker")
    monkeypatch.undo()
    assert _rows(service) == before
