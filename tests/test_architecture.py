"""The structure stays easy to change: no import circles, and commits only where they belong.

Read from the source with `ast`, imports inside functions and under TYPE_CHECKING included:
a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "marketplace"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The marketplace modules `module` imports, anywhere in the file."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            # `from marketplace import outbox` imports the module outbox, not the package.
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        for name in names:
            if name.startswith("marketplace"):
                target = _resolve(name)
                if target and target != module:
                    found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    return {module: imports_of(module) for module in MODULES}


def package_of(module: str) -> str:
    """marketplace.pools.funding -> marketplace.pools; top-level modules are their own."""
    return ".".join(module.split(".")[:2])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        if module == "marketplace":  # create_app wires every package: the top of the house
            continue
        for target in targets:
            if package_of(target) != package_of(module):
                edges[package_of(module)].add(package_of(target))
    return edges


def _why(graph: dict[str, set[str]], members: Iterable[str]) -> list[str]:
    inside = set(members)
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if package_of(module) in inside
        and package_of(target) in inside
        and package_of(module) != package_of(target)
    )


def test_no_file_imports_itself_round_a_circle() -> None:
    assert cycles(_graph()) == []


def test_no_package_imports_itself_round_a_circle() -> None:
    graph = _graph()
    found = cycles(_package_edges(graph))
    assert found == [], [_why(graph, component) for component in found]


def test_the_checks_can_fail() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "marketplace.outbox" in imports_of("marketplace.email")


# Where a commit may happen: the unit of work of a request, a job, a command or the outbox
# runner, and the payments exception (a Charge row is committed before Stripe is called).
COMMIT_ALLOWED = (
    "routes.py",
    "_routes.py",
    "api.py",
    "cli.py",
    "jobs.py",
)
COMMIT_ALLOWED_MODULES = {
    "marketplace.outbox",  # the runner: commits its own session after each piece of work
    "marketplace.email",  # outbox work: a kept email is committed before the mail leaves
    "marketplace.web.actions",  # the routes' one-button unit of work
    "marketplace.jobs.services",  # the job runner
    "marketplace.jobs.schedule",  # the worker's periodic enqueue
    "marketplace.payments.services",  # exactly once: the claim is durable before Stripe
    "marketplace.payments.outside",  # ends a read (nothing written) before a Stripe call
    "marketplace.memberships.billing",  # units of work: read, end the read, Stripe, then write
    "marketplace.wellbeing.break_steps",  # the same for a break that pauses a fee
    "marketplace.demo.seed",  # `flask seed-demo`
    "marketplace.devserver",
}


def _commits(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
            and not node.args
            # Whoosh's writer.commit() is the search index's, not a database transaction.
            and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "writer")
        ):
            lines.append(node.lineno)
    return lines


def test_services_never_commit() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for module, path in MODULES.items()
        if module not in COMMIT_ALLOWED_MODULES and not path.name.endswith(COMMIT_ALLOWED)
        for line in _commits(path)
    ]
    assert offenders == []


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_importing_a_module_registers_nothing() -> None:
    """Wiring is explicit: packages register in their init_app, never as a side effect of
    an import (a module imported for its types must not change the running app)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in MODULES.values()
        for node in ast.parse(path.read_text(), str(path)).body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and ("register" in (name := _called_name(node.value)) or name.startswith("on_"))
    ]
    assert offenders == []
