"""Who may import whom, read from the source (every import, lazy ones inside functions included):

- the domains and the wiring under them (core, db, datasets, training, registry, predictions,
  agents, memory, assistants, context) never import helios.api, helios.ui, helios.cli, helios.app
  or a web framework (fastapi, starlette, nicegui);
- helios.forecasting imports nothing else of Helios;
- a package's tables are imported only by that package (and by helios.db, which gathers every
  table for migrations): api/ui/cli read through services and views, domains ask each other's
  services or react to events. An import under ``if TYPE_CHECKING:`` (to annotate a row that the
  other domain's service returned) is not a use of its tables.

The checker is tested on a synthetic tree too, so it is known to catch a wrong-way import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

DOMAINS = {"core", "db", "datasets", "training", "registry", "predictions", "agents", "memory", "assistants"}
WIRING = {"context", "config"}
OUTER = ("helios.api", "helios.ui", "helios.cli", "helios.app", "helios.client")
WEB = ("fastapi", "starlette", "nicegui")


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported} ({self.rule})"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(module: str, is_package: bool, tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Each import statement's line and the modules it names: ``from a import b`` names ``a`` and
    ``a.b`` (``b`` may be a module)."""
    found: list[tuple[int, list[str]]] = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, [alias.name]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.module, node.level)
            found.append((node.lineno, [base, *(f"{base}.{alias.name}" for alias in node.names)]))
    return found


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``: naming the type of a row another
    domain's service handed over is not reading that domain's tables."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _runtime_nodes(other)
            continue
        yield from _runtime_nodes(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(module: str, is_package: bool, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def check(root: Path) -> list[Violation]:
    violations = []
    for path in sorted((root / "helios").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = module_name(root, path)
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, names in imports_of(module, path.name == "__init__.py", tree):
            rules = {rule for name in names for rule in _broken(module, name)}
            violations.extend(Violation(module, line, names[0], rule) for rule in sorted(rules))
    return violations


def _broken(module: str, imported: str) -> list[str]:
    parts = module.split(".")
    package = parts[1] if len(parts) > 1 else ""
    rules = []
    if package in DOMAINS | WIRING and any(_within(imported, p) for p in OUTER + WEB):
        rules.append("a domain never imports api/ui/cli or a web framework")
    if (
        package == "forecasting"
        and _within(imported, "helios")
        and not _within(imported, "helios.forecasting")
    ):
        rules.append("forecasting imports nothing else of Helios")
    target = imported.split(".")
    if len(target) >= 3 and target[0] == "helios" and target[2] == "tables":
        owner = target[1]
        if owner != package and package != "db":
            rules.append(f"only {owner} (and db) imports {owner}'s tables")
    return rules


def test_the_source_keeps_the_import_rules() -> None:
    violations = check(SRC)
    assert not violations, "wrong-way imports:\n" + "\n".join(map(str, violations))


# --- the checker itself catches wrong-way imports --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "source", "rule"),
    [
        ("helios/training/bad.py", "from helios.api.deps import SessionDep\n", "never imports api"),
        ("helios/registry/bad.py", "def f():\n    import fastapi\n", "web framework"),
        ("helios/memory/bad.py", "from ..ui import shell\n", "never imports api/ui"),
        ("helios/forecasting/bad.py", "from helios.datasets import service\n", "forecasting imports nothing"),
        ("helios/api/bad.py", "from helios.registry.tables import Model\n", "only registry"),
        ("helios/ui/bad.py", "from helios.datasets import tables\n", "only datasets"),
        ("helios/training/bad.py", "from helios.datasets.tables import Dataset\n", "only datasets"),
        ("helios/predictions/bad.py", "import helios.registry.tables as t\n", "only registry"),
    ],
)
def test_the_checker_catches_a_wrong_way_import(tmp_path: Path, path: str, source: str, rule: str) -> None:
    target = tmp_path / path
    target.parent.mkdir(parents=True)
    for package in (tmp_path / "helios", target.parent):
        (package / "__init__.py").touch()
    target.write_text(source)
    (violation,) = check(tmp_path)
    assert rule in violation.rule and violation.module == path.removesuffix(".py").replace("/", ".")


def test_the_checker_lets_the_right_way_through(tmp_path: Path) -> None:
    sources = {
        "helios/training/good.py": "from helios.datasets import service\nfrom .tables import Job\n",
        "helios/db/tables.py": "from helios.registry import tables\n",
        "helios/forecasting/good.py": "from helios.forecasting.base import Family\nimport numpy\n",
        "helios/api/good.py": "from fastapi import APIRouter\nfrom helios.registry import views\n",
        "helios/memory/good.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from helios.agents.tables import Agent\n"
        ),
    }
    for path, source in sources.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    assert check(tmp_path) == []
