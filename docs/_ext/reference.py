"""The reference pages' tables, generated from the code they describe.

``{goaltrack-reference} settings`` in a page renders the settings from ``goals.conf``; each topic below is
read from the one place the code keeps it (a schema, a table, an enum, a ``.sql`` file), so the reference
cannot drift from what runs. Each renderer returns reStructuredText, parsed in place.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from django.core.management import load_command_class
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

ROOT = Path(__file__).resolve().parents[2]


def _attribute_docs(module: str, scope: str) -> dict[str, str]:
    """The docstrings written under the attributes of ``scope`` (a class) in ``module``, by attribute name."""
    docs = ModuleAnalyzer.for_module(module).find_attr_docs()
    return {name: " ".join(line.strip() for line in lines).strip() for (where, name), lines in docs.items()
            if where == scope}


def _cell(text: str) -> list[str]:
    return (text or "\\-").splitlines() or ["\\-"]


def list_table(headers: Sequence[str], rows: Iterable[Sequence[str]], widths: str = "auto") -> str:
    """An RST ``list-table`` of ``rows`` (each cell RST text, possibly of several lines)."""
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [headers, *rows]:
        for index, cell in enumerate(row):
            first, *rest = _cell(cell)
            lines.append(f"   {'*' if index == 0 else ' '} - {first}")
            lines.extend(f"       {line}" for line in rest)
    return "\n".join(lines) + "\n"


def _literal(value: object) -> str:
    return f"``{value!r}``" if value != "" else "``''``"


def settings_section() -> str:
    """Each setting as Sphinx's ``confval``: a link target with its type, default and allowed values."""
    from goals.conf import GoalSettings

    docs = _attribute_docs("goals.conf", "GoalSettings")
    parts = []
    for field in dataclasses.fields(GoalSettings):
        allowed = []
        if field.metadata.get("above") is not None:
            allowed.append(f"more than {field.metadata['above']}")
        if field.metadata.get("minimum") is not None:
            allowed.append(f"at least {field.metadata['minimum']}")
        if field.metadata.get("choices"):
            allowed.append("one of " + ", ".join(f"``{choice!r}``" for choice in field.metadata["choices"]))
        parts.append("\n".join([
            f".. confval:: GOALS_{field.name.upper()}",
            f"   :type: ``{field.type}``",
            f"   :default: {_literal(field.default)}", "",
            textwrap.indent(docs.get(field.name, ""), "   "),
            *([f"   Allowed: {'; '.join(allowed)}."] if allowed else []), "",
        ]))
    return "\n\n".join(parts)


def _choices_table(module: str, choices: type, heading: str = "Value") -> str:
    docs = _attribute_docs(module, choices.__name__)
    rows = [(f"``{member.value}``", str(member.label), docs.get(member.name, "")) for member in choices]
    return list_table((heading, "Label", "Meaning"), rows, "18 18 64")


def states_table() -> str:
    from goals.lifecycle.states import FINAL_STATES, GoalState

    docs = _attribute_docs("goals.lifecycle.states", "GoalState")
    rows = [(f"``{state.value}``", "final" if state in FINAL_STATES else "active", docs.get(state.name, ""))
            for state in GoalState]
    return list_table(("State", "Kind", "Meaning"), rows, "15 10 75")


def attempt_outcomes_table() -> str:
    from goals.lifecycle.states import AttemptOutcome

    return _choices_table("goals.lifecycle.states", AttemptOutcome, "Outcome")


def transitions_table() -> str:
    from goals.lifecycle.states import ACTIVE_STATES, FINAL_STATES, TRANSITIONS

    def sources(states: frozenset) -> str:
        if states == ACTIVE_STATES:
            return "any active state"
        if states == FINAL_STATES - {"succeeded"}:
            return "failed, cancelled, expired"
        return ", ".join(sorted(states))

    rows = []
    for transition in TRANSITIONS.values():
        effects = []
        if transition.new_attempt:
            effects.append("opens the next attempt" + (" (within ``max_attempts``)" if transition.bounded else ""))
        if transition.closes_attempt_as:
            effects.append(f"ends the current attempt as ``{transition.closes_attempt_as.value}``")
        if transition.restarts:
            effects.append("clears result, error and progress")
        if transition.celery_publishes:
            effects.append("Celery's retry sends the next message")
        rows.append((f"``{transition.name}``", sources(transition.sources), f"``{transition.target.value}``",
                     transition.summary, "; ".join(effects)))
    return list_table(("Transition", "From", "To", "What it means", "Attempts"), rows, "13 17 10 35 25")


def statements_section() -> str:
    from goals.lifecycle.statements import STATEMENTS

    parts = []
    for statement in STATEMENTS.values():
        parameters = ", ".join(f"``{name}`` ({kind})" for name, kind in statement.types.items()) or "none"
        parts.append("\n".join([
            f"``{statement.name}``", "-" * (len(statement.name) + 4), "",
            f"{statement.description}", "",
            f"In ``goals/lifecycle/sql/{statement.path.name}``. Parameters: {parameters}.", "",
            ".. code-block:: postgresql", "",
            textwrap.indent(statement.sql, "   "), "",
        ]))
    return "\n".join(parts)


def metrics_table() -> str:
    from goals.metrics import _families

    rows = [(f"``{family.name}``", family.type, ", ".join(f"``{label}``" for label in _labels(family)),
             family.documentation) for family in _families().values()]
    return list_table(("Metric", "Type", "Labels", "Meaning"), rows, "30 8 12 50")


def _labels(family: object) -> list[str]:
    labels = list(getattr(family, "_labelnames", ()))
    return [label for label in labels if label != "le"]


def findings_table() -> str:
    from goals.models import Finding

    return _choices_table("goals.models", Finding, "Finding")


def actions_table() -> str:
    from goals.models import Action

    return _choices_table("goals.models", Action, "Action")


def events_table() -> str:
    from goals.models import EventType

    return _choices_table("goals.models", EventType, "Event")


def causes_table() -> str:
    from goals.models import Cause

    return _choices_table("goals.models", Cause, "Cause")


COMMANDS = ("reconcile", "prune_goals", "create_api_token", "goals_statements")


def commands_section() -> str:
    parts = []
    for name in COMMANDS:
        command = load_command_class("goals", name)
        usage = command.create_parser("manage.py", name).format_help()
        parts.append("\n".join([f"``{name}``", "-" * (len(name) + 4), "", command.help, "",
                                ".. code-block:: text", "", textwrap.indent(usage.rstrip(), "   "), ""]))
    return "\n".join(parts)


def http_routes_table() -> str:
    from goals.web.openapi import openapi_document

    document = openapi_document(server="/api/")
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            statuses = ", ".join(sorted(operation.get("responses", {})))
            rows.append((f"``{method.upper()} {path}``", operation.get("summary", ""), statuses))
    return list_table(("Route (under the API's prefix)", "What it does", "Statuses"), rows, "30 50 20")


TOPICS: dict[str, Callable[[], str]] = {
    "settings": settings_section,
    "states": states_table,
    "attempt-outcomes": attempt_outcomes_table,
    "transitions": transitions_table,
    "statements": statements_section,
    "metrics": metrics_table,
    "findings": findings_table,
    "actions": actions_table,
    "events": events_table,
    "causes": causes_table,
    "commands": commands_section,
    "http-routes": http_routes_table,
}


class ReferenceDirective(SphinxDirective):
    """``{goaltrack-reference} <topic>``: one of ``TOPICS``, rendered from the code."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        topic = self.arguments[0]
        if topic not in TOPICS:
            raise self.error(f"unknown reference topic {topic!r}; known: {', '.join(TOPICS)}")
        container = nodes.section() if topic in {"statements", "commands"} else nodes.container()
        text = TOPICS[topic]()
        nested_parse_with_titles(self.state, StringList(text.splitlines(), source=f"<goaltrack {topic}>"), container)
        return container.children


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("goaltrack-reference", ReferenceDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
