"""The test suite (a package, so `tasks` in a test process is the project's, not tests/tasks)."""
