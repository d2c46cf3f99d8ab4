"""The layout's rules, read from the code: no import cycle between the project's modules (imports
inside functions included), and nothing imports upward.

Floors, bottom to top (docs/architecture.md, "Layout"):
- engine/ and storage/: neither imports the other nor anything above;
- tasks/plumbing/: engine and storage only, besides itself;
- the rest of tasks/: engine, storage and tasks;
- app/common/: engine, storage, tasks;
- app/cli/ and app/web/: app/common and everything below, never each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "storage", "tasks", "app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imported(path: Path, name: str, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """Every project module that `path` imports anywhere (top level, functions, TYPE_CHECKING)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, modules, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in modules:  # `from pkg import module`
                    yield full, node.lineno
                else:
                    yield from _known(base, modules, node.lineno)


def _known(dotted: str, modules: dict[str, Path], line: int) -> Iterator[tuple[str, int]]:
    parts = dotted.split(".")
    while parts:  # `import a.b.c` where only a.b is ours as a module: the nearest known one
        candidate = ".".join(parts)
        if candidate in modules:
            yield candidate, line
            return
        parts.pop()


def import_graph() -> dict[str, dict[str, int]]:
    modules = project_modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, {})
        for target, line in imported(path, name, modules):
            if target != name:
                edges.setdefault(target, line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, {}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_the_projects_modules() -> None:
    graph = import_graph()
    found = cycles(graph)
    described = [
        ", ".join(f"{m} imports {sorted(set(graph[m]) & set(c))}" for m in c) for c in found
    ]
    assert not found, "import cycles:\n" + "\n".join(described)


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def floor(module: str) -> str:
    for prefix in ("tasks.plumbing", "app.common", "app.cli", "app.web"):
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return module.split(".")[0]


ALLOWED = {
    "engine": {"engine"},
    "storage": {"storage"},
    "tasks.plumbing": {"engine", "storage", "tasks.plumbing"},
    "tasks": {"engine", "storage", "tasks", "tasks.plumbing"},
    "app.common": {"engine", "storage", "tasks", "tasks.plumbing", "app.common"},
    "app.cli": {"engine", "storage", "tasks", "tasks.plumbing", "app.common", "app.cli"},
    "app.web": {"engine", "storage", "tasks", "tasks.plumbing", "app.common", "app.web"},
    "app": {"app", "app.cli", "app.web"},  # app/__init__.py and app/streamlit_app.py
}


@pytest.mark.parametrize("package", PACKAGES)
def test_nothing_imports_upward(package: str) -> None:
    graph = import_graph()
    wrong = [
        f"{module} -> {target} (line {line})"
        for module, edges in graph.items()
        if module.split(".")[0] == package
        for target, line in edges.items()
        if floor(target) not in ALLOWED[floor(module)]
    ]
    assert not wrong, "imports against the layout:\n" + "\n".join(wrong)


def test_engine_never_imports_celery_duckdb_or_streamlit() -> None:
    banned = {"celery", "kombu", "duckdb", "streamlit", "redis", "altair"}
    wrong = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            wrong += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in banned]
    assert not wrong, wrong
