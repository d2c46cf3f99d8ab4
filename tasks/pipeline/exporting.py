"""Export: a candidate's standalone subnet, written from the supernet with the recalibration its
search used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import AutoSpikformerError
from engine.results import EvalResult
from engine.space import Arch
from storage import paths
from storage.base import Store
from storage.records import ArtefactRecord
from tasks.pipeline.search_spec import SearchSpec
from tasks.pipeline.searching import make_evaluator


# ---- export -------------------------------------------------------------------------------------
def export_subnet(
    run: str,
    arch: Arch,
    spec: SearchSpec,
    out: str | Path,
    *,
    device: str = "cpu",
    extra: dict[str, Any] | None = None,
    before_save: Callable[[], None] | None = None,
) -> EvalResult:
    """Write `arch` of `run`'s supernet as a standalone subnet file (atomically) and return its
    evaluation. BN is recalibrated on the same seeded batches as search `spec` used, so the file
    reproduces the candidate's recorded accuracy. Reads no store: a gpu worker calls it.
    `before_save` runs just before the file is written and raises to stop (a lost lease)."""
    from engine.checkpoint import save_subnet

    out = Path(out)
    if out.suffix != ".safetensors":
        raise AutoSpikformerError(f"--out must end in .safetensors, got {out.name}")
    evaluator = make_evaluator(run, spec.eval_seed, device, spec.recalib_batches)
    result, subnet = evaluator.evaluate_one(arch)
    result = result.priced(spec.energy_profile)  # the search's hardware profile
    if before_save is not None:
        before_save()
    save_subnet(
        out,
        subnet,
        dataset=evaluator.dataset,
        extra={
            "run": run,
            "candidate": arch.id,
            "val_accuracy": result.accuracy,
            "energy_uj": result.energy_uj,
            "recalibrated": True,
            **(extra or {}),
        },
    )
    return result


def export_candidate(
    store: Store, run: str, candidate_id: str, out: str | Path, *, device: str = "cpu"
) -> dict[str, Any]:
    """Write candidate `candidate_id` of `run` as a standalone subnet with recalibrated BN, in
    this process (`tasks.remote` does it on a gpu worker instead).

    The recalibration uses the same seeded batches as the search's evaluation, so the file
    reproduces the candidate's recorded accuracy.
    """
    out = Path(out)
    if out.suffix != ".safetensors":
        raise AutoSpikformerError(f"--out must end in .safetensors, got {out.name}")
    record = store.get_candidate(run, candidate_id)
    search = store.get_search(record.search)
    spec = SearchSpec(**search.settings)
    result = export_subnet(run, Arch.from_dict(record.arch), spec, out, device=device)
    if paths.artefacts().resolve() in out.resolve().parents:
        store.add_artefact(
            ArtefactRecord(
                run=run,
                kind="subnet",
                path=paths.relative_to_artefacts(out),
                candidate_id=candidate_id,
            )
        )
    return {
        "run": run,
        "candidate": candidate_id,
        "checkpoint": str(out),
        "accuracy": result.accuracy,
        "energy_uj": result.energy_uj,
    }
