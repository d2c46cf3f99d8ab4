"""Runs, searches, candidates and artefacts: plain records and where they live on disk.

- `storage.records`: the frozen records (`RunRecord`, `SearchRecord`, `CandidateRecord`, ...).
- `storage.base`: the `Store` interface and its written contract (F_AEB ranking included).
- `storage.duckdb_store`: `DuckDBStore` on `home()/store.duckdb`, and `open_store()`.
- `storage.memory_store`: `MemoryStore`, the same contract in memory.
- `storage.paths`: the home folder layout and safe names.
- `storage.errors`: `StoreError` and its one-line subclasses.

This package imports neither `engine` nor any training, queue or UI library.
"""
