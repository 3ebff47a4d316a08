"""No import cycles among our own modules (`core`, `desktop`).

The graph is read from the source (AST), not from what happens to be imported at run time: every `import` and
`from ... import` of our packages counts wherever it stands, at module level, inside a function (imports deferred
for start-up time are still dependencies) and under `if TYPE_CHECKING:`. Type-only imports count too: a cycle that
exists only for annotations still ties the two modules' designs together, and none is needed today (where one
module only needs the shape of another's objects, it states that shape as a `typing.Protocol`, as
`core.output.anonymise.AnalysedSlice` does).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGES = ("core", "desktop")


def _module_files() -> dict[str, Path]:
    """Dotted module name → file, for every module of our packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported_names(tree: ast.Module, module: str, is_package: bool) -> Iterator[str]:
    """Every dotted name the module imports, relative imports resolved; `from a import b` yields "a.b" (b may be
    a submodule) and "a"."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of our packages it imports."""
    files = _module_files()
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set()
        for name in _imported_names(tree, module, path.name == "__init__.py"):
            while name and name not in files:  # "core.io.load.Slice" is the module core.io.load
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules, e.g. ["a", "b", "a"]."""
    found = []
    seen: set[str] = set()
    for start in sorted(graph):
        if start in seen:
            continue
        path = _shortest_path_back(graph, start)
        if path is not None:
            found.append(path)
            seen.update(_reachable(graph, start) & _reaching(graph, start))
    return found


def _shortest_path_back(graph: dict[str, set[str]], start: str) -> list[str] | None:
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for target in sorted(graph[module]):
                if target == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if target not in previous:
                    previous[target] = module
                    following.append(target)
        frontier = following
    return None


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    found, stack = {start}, [start]
    while stack:
        for target in graph[stack.pop()] - found:
            found.add(target)
            stack.append(target)
    return found


def _reaching(graph: dict[str, set[str]], start: str) -> set[str]:
    reversed_graph: dict[str, set[str]] = {module: set() for module in graph}
    for module, targets in graph.items():
        for target in targets:
            reversed_graph[target].add(module)
    return _reachable(reversed_graph, start)


def test_our_modules_import_each_other_without_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" → ".join(cycle) for cycle in found)


def test_the_cycle_finder_sees_deferred_and_type_only_imports():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    core_graph = import_graph()
    assert "core.io.dicom.header" in core_graph["core.io.load"]  # imported inside load_study
    assert "core.io.load" in core_graph["core.output.anonymise"]  # imported under TYPE_CHECKING only
