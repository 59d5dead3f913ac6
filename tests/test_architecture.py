"""The house's rules, read from the code: floors import downwards only (`models` ← `tasks` ← `flows` ←
`deployments`, `portal`), and no import circle anywhere, counting imports inside functions (a lazy import does not
make a circle go away, it hides it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"models": 0, "tasks": 1, "flows": 2, "deployments": 3, "portal": 3, "gateway": 3}


def project_modules() -> dict[str, Path]:
    """Every module of the floors by dotted name (migrations aside: Alembic loads them by path)."""
    found = {}
    for top in FLOORS:
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """module → {project module it imports: line}, imports at any depth (in functions too)."""
    modules = project_modules()
    graph: dict[str, dict[str, int]] = {m: {} for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for written in targets:
                target = written
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].setdefault(target, node.lineno)
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, imported in graph.items():
        if root in index:
            continue
        work = [(root, iter(imported))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
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


def test_floors_import_downwards_only() -> None:
    graph = import_graph()
    floor = {m: FLOORS[m.split(".")[0]] for m in graph}
    upwards = [f"{m}:{line} imports {t}" for m, ts in graph.items() for t, line in ts.items() if floor[t] > floor[m]]
    assert not upwards, "\n".join(upwards)


def test_no_import_circle() -> None:
    assert not circles(import_graph())


def test_the_checks_see_what_they_look_for() -> None:
    """The graph is not empty, and a circle made on purpose is found (the test would pass on nothing)."""
    graph = import_graph()
    assert "tasks.runs" in graph["flows.mission_lifecycle"] and len(graph) > 60
    assert circles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
