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

from engine.lazy import lazy_attributes

# What the package offers, by the module that defines it.
_STAGES = {
    "storage.duckdb_store": ("open_store",),
    "tasks.pipeline.exporting": ("export_candidate", "export_subnet"),
    "tasks.pipeline.extending": ("check_extension", "extend_search"),
    "tasks.pipeline.prior": ("search_prior",),
    "tasks.pipeline.runs": (
        "Progress",
        "RunSpec",
        "ensure_run",
        "load_arch_file",
        "train_config",
        "worker_name",
    ),
    "tasks.pipeline.search_spec": ("MAX_RECALIB_BATCHES", "SearchSpec"),
    "tasks.pipeline.searching": (
        "create_search",
        "front_box_of",
        "launched_search_id",
        "load_search",
        "make_evaluator",
        "next_search_id",
        "priced_evaluate",
        "record_generation",
        "reference_of",
        "run_search",
        "save_search_state",
        "search_from_state",
        "search_reference",
        "search_result",
        "search_state_path",
        "search_step",
        "validate_search",
        "violation_of",
        "with_box",
        "with_reference",
    ),
    "tasks.pipeline.training": (
        "checkpoint_history",
        "epoch_record",
        "supernet_checkpoint",
        "train_run",
    ),
}
__getattr__ = lazy_attributes(__name__, _STAGES, globals())
__all__ = [name for names in _STAGES.values() for name in names]
