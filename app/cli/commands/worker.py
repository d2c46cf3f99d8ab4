"""`autospikformer worker`: a Celery worker for the gpu and/or cpu queue, in this process.

Run one worker per accelerator on `gpu`, and exactly one on `cpu` with concurrency 1: it applies
every store write (the recorder). With `REDIS_URL` unset the worker starts the embedded broker
(or reuses a running one); a broker it started stops when the worker exits. SIGTERM and Ctrl-C
give running tasks a few seconds (AUTOSPIKFORMER_SOFT_SHUTDOWN_S), then put them back on the
queue, so another worker (or this one, restarted) takes them over at once. On start it removes
the temporary files that writers killed mid-write left under the artefact folder's `runs/`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from typing import Any

from app.cli.commands.common import non_negative_int, positive_int, require

HELP = "start a worker for the gpu (training, evaluation, exports) and/or cpu (records) queue"
QUEUES = ("gpu", "cpu")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queues", default="gpu,cpu", help="comma-separated: gpu, cpu (default both)")
    p.add_argument("--concurrency", type=positive_int, default=1, help="processes (default 1)")
    p.add_argument("--pool", choices=("prefork", "solo", "threads"), default="prefork")
    p.add_argument("--name", default=None, help="worker name (default: queues.pid@host)")
    p.add_argument(
        "--threads", type=non_negative_int, default=None, help="torch threads per process"
    )
    p.add_argument("--loglevel", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def celery_argv(args: argparse.Namespace, queues: list[str]) -> list[str]:
    name = args.name or f"{'-'.join(queues)}.{os.getpid()}"
    return [
        "worker",
        "--queues",
        ",".join(queues),
        "--concurrency",
        str(args.concurrency),
        "--pool",
        args.pool,
        "--hostname",
        f"{name}@%h",
        "--loglevel",
        args.loglevel,
        # No worker-to-worker chatter: nothing here uses remote revokes or events.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def _sweep_temporaries() -> None:
    """Remove what writers killed mid-write left in the artefact folder (`engine.files`)."""
    from engine.files import sweep_temporaries
    from storage import paths

    runs = paths.artefacts() / "runs"
    if runs.is_dir():
        removed = sweep_temporaries(runs)
        if removed:
            print(f"removed {len(removed)} stale temporary file(s) under {runs}", file=sys.stderr)


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    require(bool(queues), "--queues needs at least one of gpu, cpu")
    unknown = sorted(set(queues) - set(QUEUES))
    require(not unknown, f"unknown queue(s) {', '.join(unknown)}; use gpu, cpu")
    require(
        "cpu" not in queues or args.concurrency == 1,
        "the cpu queue's worker is the store's single writer: use --concurrency 1 with it",
    )
    # SIGTERM (docker stop, `up`, a process manager) stops like Ctrl-C: running tasks get the soft
    # shutdown time, then go back to the queue. Read by billiard when Celery is first imported.
    os.environ.setdefault("REMAP_SIGTERM", "SIGQUIT")
    from tasks.plumbing import broker
    from tasks.plumbing.celery_app import app
    from tasks.plumbing.settings import TaskSettings, configure

    try:
        chosen = TaskSettings.from_env()
        if args.threads is not None:
            chosen = replace(chosen, torch_threads=args.threads)
    except ValueError as err:
        require(False, str(err))
    configure(chosen)
    from engine.threads import ThreadChoice, available_cores, choose_threads

    threads = (
        ThreadChoice(chosen.torch_threads, available_cores(), args.concurrency, "--threads")
        if chosen.torch_threads
        else choose_threads(args.concurrency)
    )
    print(f"{threads.describe()} at start; each task chooses again", file=sys.stderr, flush=True)
    if not chosen.redis_url:
        embedded = broker.ensure(handle_signals=False)  # stopped at exit if we started it
        state = "started" if embedded.owned else "reusing"
        where = broker.redacted(embedded.url)
        print(f"{state} embedded broker at {where}", file=sys.stderr, flush=True)
    _sweep_temporaries()
    app.worker_main(celery_argv(args, queues))
    return None
