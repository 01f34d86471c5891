"""The package's layers hold: every module imports only from its own layer or the ones below it, the
admin and the management commands never import the web layer, and the lifecycle imports nothing of the
app above its base. Read from the source (every import, at module level or inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import ROOT

PACKAGE = ROOT / "goals"
# Bottom to top: a module may import from its own layer and any layer listed before it. The first name
# that is a prefix of a module's dotted path places it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("goals.conf", "goals.exceptions", "goals.ids", "goals.db", "goals.task_names", "goals.required_apps",
              "goals.actors", "goals.logs", "goals.tracing")),
    ("lifecycle", ("goals.lifecycle",)),
    ("executors", ("goals.executors",)),
    ("models", ("goals.models", "goals.querysets", "goals.palette", "goals.tokens", "goals.schedule")),
    ("submitting", ("goals.submitting",)),
    ("families", ("goals.families",)),
    ("periodic and waits", ("goals.periodic", "goals.waits")),
    ("worker and reconciler", ("goals.worker", "goals.reconciler", "goals.pruning", "goals.selectors",
                               "goals.metrics")),
    ("celery tasks", ("goals.tasks",)),
    ("django tasks", ("goals.tasking",)),
    ("web", ("goals.web",)),
    ("entry points", ("goals.admin", "goals.management", "goals.api", "goals.urls", "goals.checks", "goals.apps",
                      "goals.templatetags",
                      "goals.migrations", "goals")),
]


def layer_of(module: str) -> int:
    for index, (_name, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from goals.x import y" may name a module y of package goals.x: count the deeper one.
            names |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules() else node.module
                      for alias in node.names}
    return {name for name in names if name == "goals" or name.startswith("goals.")}


def test_every_module_imports_only_its_own_layer_or_below():
    upward = []
    for module, path in sorted(modules().items()):
        for imported in sorted(imports_of(path)):
            if imported != "goals" and layer_of(imported) > layer_of(module):
                upward.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports {imported} "
                              f"({LAYERS[layer_of(imported)][0]})")
    assert upward == []


def test_the_admin_and_the_management_commands_never_import_the_web_layer():
    for module, path in modules().items():
        if module.startswith(("goals.admin", "goals.management")):
            assert not {name for name in imports_of(path) if name.startswith("goals.web")}, module


def test_the_lifecycle_stands_on_the_base_alone():
    base = LAYERS[0][1]
    for module, path in modules().items():
        if module.startswith("goals.lifecycle"):
            assert all(name.startswith(("goals.lifecycle", *base)) for name in imports_of(path)), module
