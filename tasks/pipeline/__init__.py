"""The work of a run, composed from `engine/` (models, search) and `storage/` (records, paths).

Both the command line (in one process) and the Celery tasks (in many) call these functions, so a
run behaves the same wherever it executes. Every function validates its inputs before it writes
anything, so bad input changes no stored data. By concern:

- `runs`: a run's spec, its record and training config;
- `training`: stage 1, supernet training, epoch by epoch;
- `search_spec`: a search's settings; `searching`: stage 2, the search, generation by generation;
- `prior`: the run's earlier candidates a search's predictor learns from;
- `extending`: N more generations of a finished or cancelled search;
- `exporting`: a candidate's standalone subnet.

Importing this package imports none of them: each name is imported from its module on first use
(PEP 562), so a process that only steps searches or records (the recorder, the app) never
imports torch, which only training, evaluation and export need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.duckdb_store import open_store
    from tasks.pipeline.exporting import export_candidate, export_subnet
    from tasks.pipeline.extending import check_extension, extend_search
    from tasks.pipeline.prior import search_prior
    from tasks.pipeline.runs import (
        Progress,
        RunSpec,
        ensure_run,
        load_arch_file,
        train_config,
        worker_name,
    )
    from tasks.pipeline.search_spec import MAX_RECALIB_BATCHES, SearchSpec
    from tasks.pipeline.searching import (
        create_search,
        front_box_of,
        launched_search_id,
        load_search,
        make_evaluator,
        next_search_id,
        priced_evaluate,
        record_generation,
        reference_of,
        run_search,
        save_search_state,
        search_from_state,
        search_reference,
        search_result,
        search_state_path,
        search_step,
        validate_search,
        violation_of,
        with_box,
        with_reference,
    )
    from tasks.pipeline.training import (
        checkpoint_history,
        epoch_record,
        supernet_checkpoint,
        train_run,
    )

# Name -> the module that defines it.
_MODULES = {
    "MAX_RECALIB_BATCHES": "tasks.pipeline.search_spec",
    "checkpoint_history": "tasks.pipeline.training",
    "Progress": "tasks.pipeline.runs",
    "RunSpec": "tasks.pipeline.runs",
    "SearchSpec": "tasks.pipeline.search_spec",
    "check_extension": "tasks.pipeline.extending",
    "create_search": "tasks.pipeline.searching",
    "ensure_run": "tasks.pipeline.runs",
    "epoch_record": "tasks.pipeline.training",
    "export_candidate": "tasks.pipeline.exporting",
    "export_subnet": "tasks.pipeline.exporting",
    "extend_search": "tasks.pipeline.extending",
    "front_box_of": "tasks.pipeline.searching",
    "launched_search_id": "tasks.pipeline.searching",
    "load_arch_file": "tasks.pipeline.runs",
    "load_search": "tasks.pipeline.searching",
    "make_evaluator": "tasks.pipeline.searching",
    "next_search_id": "tasks.pipeline.searching",
    "open_store": "storage.duckdb_store",
    "priced_evaluate": "tasks.pipeline.searching",
    "record_generation": "tasks.pipeline.searching",
    "reference_of": "tasks.pipeline.searching",
    "run_search": "tasks.pipeline.searching",
    "save_search_state": "tasks.pipeline.searching",
    "search_from_state": "tasks.pipeline.searching",
    "search_prior": "tasks.pipeline.prior",
    "search_reference": "tasks.pipeline.searching",
    "search_result": "tasks.pipeline.searching",
    "search_state_path": "tasks.pipeline.searching",
    "search_step": "tasks.pipeline.searching",
    "supernet_checkpoint": "tasks.pipeline.training",
    "train_config": "tasks.pipeline.runs",
    "train_run": "tasks.pipeline.training",
    "validate_search": "tasks.pipeline.searching",
    "violation_of": "tasks.pipeline.searching",
    "with_box": "tasks.pipeline.searching",
    "with_reference": "tasks.pipeline.searching",
    "worker_name": "tasks.pipeline.runs",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = getattr(importlib.import_module(_MODULES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tasks.pipeline' has no attribute {name!r}")


__all__ = [
    "MAX_RECALIB_BATCHES",
    "checkpoint_history",
    "Progress",
    "RunSpec",
    "SearchSpec",
    "check_extension",
    "create_search",
    "ensure_run",
    "epoch_record",
    "export_candidate",
    "export_subnet",
    "extend_search",
    "front_box_of",
    "launched_search_id",
    "load_arch_file",
    "load_search",
    "make_evaluator",
    "next_search_id",
    "open_store",
    "priced_evaluate",
    "record_generation",
    "reference_of",
    "run_search",
    "save_search_state",
    "search_from_state",
    "search_prior",
    "search_reference",
    "search_result",
    "search_state_path",
    "search_step",
    "supernet_checkpoint",
    "train_config",
    "train_run",
    "validate_search",
    "violation_of",
    "with_box",
    "with_reference",
    "worker_name",
]
