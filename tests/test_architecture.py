"""The layout's one-way arrows, checked by reading every module's imports.

The core (`app/` except its CLI, demo and sandbox) never reaches up into the Slack layer,
the command line, the demo or the Slack stand-in; connectors never reach the Slack layer;
repositories see only the database and the domain; and no two modules import each other,
directly or round a loop. A forbidden import fails here with the line that makes it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "handlers", "workflows")
LINE_LIMIT = 400
GENERATED = ("app/db/migrations/",)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module (or name), dotted
    line: int
    top_level: bool  # at module level, not inside a function

    def __str__(self) -> str:
        return f"{self.source.replace('.', '/')}.py:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[Import] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = top_level and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import):
                found.extend(Import(module, a.name, child.lineno, top_level) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(module, child, path)
                for alias in child.names:
                    # `from app.trust import owners` imports the module app.trust.owners.
                    submodule = f"{base}.{alias.name}"
                    target = submodule if submodule in MODULES else base
                    found.append(Import(module, target, child.lineno, top_level))
            if not _is_type_checking_block(child):
                visit(child, nested)

    visit(tree, True)
    return found


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports_of(module, path)]


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


EDGE = ("app.__main__", "app.cli", "app.demo", "app.sandbox")
"""The parts of app/ that compose the others; only these may start Slack or the stand-in."""


def _core(module: str) -> bool:
    return _within(module, "app") and not _within(module, *EDGE)


def _forbid(source_rule, target_rule, *, lazily_allowed: bool = False) -> None:
    found = [
        str(imp)
        for imp in IMPORTS
        if source_rule(imp.source)
        and target_rule(imp.target)
        and not (lazily_allowed and not imp.top_level)
    ]
    assert not found, "forbidden imports:\n" + "\n".join(found)


def test_the_core_never_imports_slack_listeners_the_cli_the_demo_or_the_stand_in():
    _forbid(_core, lambda t: _within(t, "handlers", "slack_bolt", *EDGE))


SLACK_GATEWAY = ("app.slack_api", "app.slack_once", "app.slack_retries")
"""The Slack gateway, its posts made once however often they are tried, and the retry
policy its client is built with."""


def test_only_the_slack_gateway_in_the_core_talks_to_slack_sdk():
    _forbid(lambda s: _core(s) and s not in SLACK_GATEWAY, lambda t: _within(t, "slack_sdk"))


def test_the_cli_reaches_slack_and_the_stand_in_only_when_a_command_needs_them():
    _forbid(
        lambda s: _within(s, "app.cli"),
        lambda t: _within(t, "handlers", "slack_bolt", "app.sandbox", "app.demo"),
        lazily_allowed=True,
    )


def test_slack_listeners_never_import_the_cli_and_start_the_stand_in_only_lazily():
    _forbid(lambda s: _within(s, "handlers"), lambda t: _within(t, "app.cli"))
    _forbid(
        lambda s: _within(s, "handlers"),
        lambda t: _within(t, "app.sandbox", "app.demo"),
        lazily_allowed=True,
    )


def test_connectors_know_only_the_domain_the_errors_and_the_retry_arithmetic():
    _forbid(
        lambda s: _within(s, "workflows"),
        lambda t: (
            _within(t, "handlers", "app")
            and not _within(t, "app.domain", "app.errors", "app.delivery.retry")
        ),
    )


def test_repositories_see_only_the_database_and_the_domain():
    _forbid(
        lambda s: _within(s, "app.db.repositories"),
        lambda t: (
            _within(t, "app", "handlers", "workflows")
            and not _within(t, "app.db", "app.domain", "app.errors")
        ),
    )


def test_the_stand_in_never_imports_the_slack_listeners_or_the_cli():
    _forbid(lambda s: _within(s, "app.sandbox"), lambda t: _within(t, "handlers", "app.cli"))


def _cycles() -> list[list[str]]:
    """Strongly connected groups of modules that import each other at module level."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.top_level and imp.target in MODULES and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def test_no_modules_import_each_other():
    assert _cycles() == []


def test_the_core_has_a_dozen_top_level_modules_at_most():
    top = sorted(p.name for p in (ROOT / "app").glob("*.py"))
    assert len(top) <= 12, top


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_longer_than_a_careful_reader_holds(package):
    long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / package).rglob("*.py")
        if not str(path.relative_to(ROOT)).startswith(GENERATED)
        and (lines := len(path.read_text().splitlines())) > LINE_LIMIT
    }
    assert long == {}


def test_the_checks_above_see_the_imports_they_rule_on():
    """A walker that found nothing would pass every rule; it must see the real arrows."""
    pipeline = {imp.target for imp in IMPORTS if imp.source == "app.pipeline"}
    assert "app.services" in pipeline
    assert any(_within(imp.target, "app") for imp in IMPORTS if imp.source.startswith("handlers"))
    assert len(MODULES) > 100
