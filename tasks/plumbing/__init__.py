"""The bottom of tasks/: what the entry points stand on, and nothing of them.

- `settings`: `TaskSettings`, the deployment settings, and this process's choice of them.
- `processes`: starting and stopping child processes that never outlive their parent.
- `broker`: the embedded Redis-compatible server, and the running broker's URL.
- `celery_app`: the Celery app, its queues and configuration.
- `coordination`: the step ledger, leases, heartbeats and the run-state mirror in Redis.
- `recording`: op lists (`OpWriter`) and how they reach the store.
- `recorder`: the store's single writer, draining the op log, and the sweeper.
- `result_cache`: evaluated candidates cached as files in the artefact folder.

Modules here import engine/, storage/ and each other, never the rest of tasks/.
"""
