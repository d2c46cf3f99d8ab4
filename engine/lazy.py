"""Package attributes imported on first use (PEP 562), so importing a package imports none of
the heavy modules behind it: `engine.data` and `tasks.pipeline` name what they offer here, and
a process that never touches a tensor never imports torch (docs/architecture.md)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, modules: Mapping[str, tuple[str, ...]], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: each name of `modules` (module -> names) is imported
    from its module when first asked for and kept in `namespace` (the package's globals), so
    later lookups are plain attribute reads."""
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        namespace[name] = value
        return value

    return __getattr__
