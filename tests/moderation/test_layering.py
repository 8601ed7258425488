"""Moderation and privacy are layers under the features: they import no feature package.

Every import counts, including those inside functions and under TYPE_CHECKING: a lazy
import is still a dependency, and a type-only one still couples the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "marketplace"

CORE = frozenset(
    {
        "db",
        "errors",
        "extensions",
        "email",
        "money",
        "tokens",
        "audit",
        "config",
        "outbox",
    }
)
ALLOWED = {
    # jobs: the shared job runner and schedule (moderation.watch is a periodic job).
    "moderation": CORE | {"moderation", "auth", "places", "privacy", "web", "jobs"},
    "privacy": CORE | {"privacy", "auth", "web"},
}


def _imported_modules(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """Every module a file imports (absolute names), with the line it is imported on."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = module.split(".")[: -node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name == "marketplace":  # `from marketplace import audit`: each name is a module
                found += [(node.lineno, f"marketplace.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, name))
    return found


def forbidden_imports(layer: str, root: Path = PACKAGE) -> list[str]:
    """`file:line imports module` for each import of a marketplace package not allowed."""
    problems = []
    for path in sorted((root / layer).rglob("*.py")):
        relative = path.relative_to(root.parent)
        module = ".".join(relative.with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name in sorted(_imported_modules(tree, module)):
            parts = name.split(".")
            if parts[0] != "marketplace":
                continue  # the standard library and third-party packages
            if len(parts) < 2 or parts[1] not in ALLOWED[layer]:
                problems.append(f"{relative}:{line} imports {name}")
    return problems


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_no_feature_package(layer):
    assert forbidden_imports(layer) == []


def test_a_forbidden_import_is_caught(tmp_path):
    """The check fails on a bad import, wherever it hides."""
    layer = tmp_path / "marketplace" / "moderation"
    layer.mkdir(parents=True)
    (layer / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from marketplace import audit, pools\n"
        "if TYPE_CHECKING:\n"
        "    from marketplace.providers.models import Listing\n"
        "def f():\n"
        "    import marketplace.buddies.models\n"
        "    from ..organisations import services\n",
        encoding="utf-8",
    )
    assert forbidden_imports("moderation", tmp_path / "marketplace") == [
        "marketplace/moderation/bad.py:2 imports marketplace.pools",
        "marketplace/moderation/bad.py:4 imports marketplace.providers.models",
        "marketplace/moderation/bad.py:6 imports marketplace.buddies.models",
        "marketplace/moderation/bad.py:7 imports marketplace.organisations",
    ]
