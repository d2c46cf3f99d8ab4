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
"""

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
