"""`autospikformer export`: write a candidate as a standalone subnet (safetensors).

Without `--remote` this process recalibrates and exports it. With `--remote` a `gpu` worker does
(as the app's download does): the export is enqueued, this command waits for the recorded file
in the shared artefact folder and copies it to `--out`. A candidate exported before is copied at
once.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from app.cli.commands.common import add_json, positive_float, require

HELP = "export a candidate as a standalone subnet checkpoint (recalibrated BN, arch in metadata)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--candidate", required=True, help="candidate id")
    p.add_argument("--out", required=True, help="PATH.safetensors")
    p.add_argument(
        "--remote", action="store_true", help="export on a gpu worker, wait, and copy the file"
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=3600.0,
        help="with --remote: seconds to wait for a worker (default 3600)",
    )
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks import pipeline

    if not args.remote:
        return pipeline.export_candidate(pipeline.open_store(), args.run, args.candidate, args.out)
    from engine.checkpoint_files import read_meta
    from engine.files import atomic_write
    from tasks import remote

    out = Path(args.out)
    require(out.suffix == ".safetensors", f"--out must end in .safetensors, got {out.name}")
    require(args.timeout > 0, f"--timeout must be > 0, got {args.timeout:g}")
    store = pipeline.open_store()
    remote.request(store, args.run, args.candidate, "export")
    done = remote.wait(store, args.run, args.candidate, "export", timeout_s=args.timeout)
    source = Path(done.path or "")
    atomic_write(out, lambda tmp: shutil.copyfile(source, tmp))
    meta = read_meta(out)
    return {
        "run": args.run,
        "candidate": args.candidate,
        "checkpoint": str(out),
        "accuracy": meta.get("val_accuracy"),
        "energy_uj": meta.get("energy_uj"),
    }


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    from app.cli.output import format_energy, format_percent

    return (
        f"exported candidate {result['candidate']} of run {result['run']} to "
        f"{result['checkpoint']} (validation accuracy {format_percent(result.get('accuracy'))}, "
        f"energy {format_energy(result.get('energy_uj'))})"
    )
