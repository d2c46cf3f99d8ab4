"""Exports and test evaluations on a gpu worker, requested from the head host (app, CLI).

The head host never loads a supernet or a dataset for these: it checks the request against the
store, enqueues `export_subnet` on the `gpu` queue (step `export:<id>` or `test:<id>`, once while
in flight), and reads the outcome back: the subnet artefact, or the candidate's test result, once
the recorder has stored it. Progress in between (queued, running and its stage, failed) comes
from a status the worker keeps in Redis. A second request for a candidate already exported (or
already evaluated on test) reuses the stored record and enqueues nothing.

    request(store, run, candidate, kind)  -> Request   (kind: "export" or "test")
    state(store, run, candidate, kind)    -> Request
    wait(store, run, candidate, kind, timeout_s) -> Request
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis

from engine.errors import AutoSpikformerError
from storage import paths
from storage.base import Store
from storage.records import TestResultRecord
from tasks.plumbing.coordination import Coordinator, Step

KINDS = ("export", "test")
EXPORT_TASK = "tasks.export_subnet"
POLL_S = 0.5


class RequestFailed(AutoSpikformerError):
    """The worker could not export or evaluate the candidate (one line)."""


class RequestTimeout(AutoSpikformerError):
    """No worker finished the request in time (one line); the request stays queued."""


@dataclass(frozen=True)
class Request:
    """Where a request stands: `state` is none (never asked), queued, running, recording (sent to
    the recorder), done or failed; `stage` says what a running worker does; `path` is the
    exported file (done); `test` the stored test-split result (a done `test` request)."""

    run: str
    candidate: str
    kind: str
    state: str
    stage: str = ""
    message: str = ""
    path: str | None = None
    test: TestResultRecord | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["test"] = self.test.to_dict() if self.test is not None else None
        return out


def has_supernet(run: str) -> bool:
    """Whether the run has a supernet checkpoint (a file check; nothing is loaded)."""
    folder = paths.run_dir(run, create=False) / "checkpoints"
    return folder.is_dir() and any(folder.glob("epoch-*.safetensors"))


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise AutoSpikformerError(f"kind must be one of {'|'.join(KINDS)}, got {kind!r}")


def recorded_export(store: Store, run: str, candidate: str) -> Path | None:
    """The candidate's exported file as the store records it, if it is there. `BadName` if the
    record points outside the artefact folder (it is never served)."""
    for artefact in store.artefacts(run, "subnet"):
        if artefact.candidate_id == candidate:
            path = paths.artefact_path(artefact.path)  # BadName if it points outside the folder
            if path.is_file():
                return path
    return None


def _done(store: Store, run: str, candidate: str, kind: str) -> Request | None:
    path = recorded_export(store, run, candidate)
    if kind == "export":
        return Request(run, candidate, kind, "done", path=str(path)) if path else None
    results = store.test_results(run, candidate)
    if not results:
        return None
    where = str(path) if path else None
    return Request(run, candidate, kind, "done", path=where, test=results[0])


def state(store: Store, run: str, candidate: str, kind: str = "export") -> Request:
    """The request's state: done from the store, else what the worker reported. `UnknownRun`,
    `UnknownCandidate`."""
    _check(kind)
    store.get_candidate(run, candidate)
    done = _done(store, run, candidate, kind)
    if done is not None:
        return done
    status = _coordinator().request(run, kind, candidate)
    if not status:
        return Request(run, candidate, kind, "none")
    return Request(
        run,
        candidate,
        kind,
        status.get("state", "queued"),
        stage=status.get("stage", ""),
        message=status.get("message", ""),
    )


def request(store: Store, run: str, candidate: str, kind: str = "export") -> Request:
    """Ask a gpu worker to export `candidate` of `run` (`kind="test"`: and to evaluate the export
    on the test split). Returns the state after asking: done at once when it was done before.
    `UnknownRun`, `UnknownCandidate`; `AutoSpikformerError` when the run has no supernet."""
    _check(kind)
    record = store.get_candidate(run, candidate)
    done = _done(store, run, candidate, kind)
    if done is not None:
        return done
    if not has_supernet(run):
        raise AutoSpikformerError(f"run {run!r} has no supernet checkpoint, so no subnet to export")
    current = state(store, run, candidate, kind)
    if current.state in ("queued", "running", "recording"):
        return current
    search = store.get_search(record.search)
    run_record = store.get_run(run)
    message = {
        "kind": kind,
        "arch": record.arch,
        "search": record.search,
        "search_settings": search.settings,
        "dataset": run_record.dataset,
        "device": run_record.settings.get("launch", {}).get("device", "auto"),
    }
    coordinator = _coordinator()
    coordinator.clear_request(run, kind, candidate)  # a failed earlier try's message goes
    coordinator.set_request(run, kind, candidate, state="queued", stage="waiting for a gpu worker")
    try:
        coordinator.enqueue(export_step(run, candidate, message))
    except BaseException:
        coordinator.clear_request(run, kind, candidate)
        raise
    return state(store, run, candidate, kind)


def wait(
    store: Store, run: str, candidate: str, kind: str = "export", *, timeout_s: float = 3600.0
) -> Request:
    """Poll until the request is done or failed; `RequestFailed` if it failed, `RequestTimeout`
    if no worker finished it in time."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = state(store, run, candidate, kind)
        if current.state == "failed":
            raise RequestFailed(current.message or f"the {kind} of {candidate} failed")
        if current.state == "done":
            return current
        if current.state == "none":
            raise RequestFailed(f"no {kind} of {candidate} was requested")
        if time.monotonic() > deadline:
            raise RequestTimeout(
                f"no gpu worker finished the {kind} of {candidate} within {timeout_s:g} s "
                f"(state: {current.state}); is a `worker --queues gpu` running?"
            )
        time.sleep(POLL_S)


def export_step(run: str, candidate_id: str, message: dict[str, Any]) -> Step:
    """Step `export:<id>` (write the standalone subnet) or `test:<id>` (and evaluate it on the
    test split), done by the `tasks.export_subnet` task."""
    return Step(run, f"{message['kind']}:{candidate_id}", EXPORT_TASK, (run, candidate_id, message))


def export_file(run: str, candidate_id: str) -> Path:
    """Where a worker exports a candidate: `runs/<run>/exports/<id>.safetensors` (no folder is
    created: the write does that, after its lease check)."""
    name = paths.validate_name(candidate_id, "candidate id")
    return paths.resolve_inside(paths.export_dir(run, create=False), f"{name}.safetensors")


def _coordinator() -> Coordinator:
    """Redis coordination on the running broker (never starts one: a request needs workers)."""
    from tasks.plumbing.broker import require_url
    from tasks.plumbing.celery_app import app
    from tasks.plumbing.settings import settings

    url = require_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)

    def publish(name: str, args: list, task_id: str) -> None:
        app.send_task(name, args=args, task_id=task_id)

    return Coordinator(client, settings(), publish=publish)
