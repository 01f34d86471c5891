"""The documentation's hand-written reference stays equal to the code, and its generated parts have text.

The reference pages generated at build time (``docs/_ext/reference.py``) read the code, so they cannot
drift; these tests hold what they read complete (a setting or transition without a description would be a
blank cell) and the one page written by hand, the system checks, equal to the ids the code raises.
"""

from __future__ import annotations

import ast
import re

from goals.lifecycle.states import TRANSITIONS
from tests.paths import ROOT

CHECK_ID = re.compile(r"goals\.[EW]\d{3}")


def test_the_checks_page_lists_every_check_id_the_code_raises_and_no_other():
    raised = {match for path in (ROOT / "goals").rglob("*.py") for match in CHECK_ID.findall(path.read_text())}
    listed = set(re.findall(r"^\| `(goals\.[EW]\d{3})` \|", (ROOT / "docs/reference/checks.md").read_text(),
                            re.MULTILINE))
    assert raised
    assert listed == raised


def test_every_setting_has_a_description():
    tree = ast.parse((ROOT / "goals/conf.py").read_text())
    [schema] = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "GoalSettings"]
    body = schema.body
    undocumented = [node.target.id for index, node in enumerate(body) if isinstance(node, ast.AnnAssign)
                    and not (index + 1 < len(body) and isinstance(body[index + 1], ast.Expr)
                             and isinstance(body[index + 1].value, ast.Constant))]
    assert len(body) > 10
    assert not undocumented


def test_every_transition_says_what_it_means():
    assert not [name for name, transition in TRANSITIONS.items() if not transition.summary]

