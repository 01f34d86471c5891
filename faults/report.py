"""The table of figures ``make faults`` prints and writes (markdown and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from faults.scenarios import Outcome


def write_report(outcomes: list[Outcome], folder: Path, *, sizes: str, total: float, logs: Path) -> str:
    """Write ``faults.md`` and ``faults.json`` to ``folder``; returns the markdown."""
    lines = [f"Fault-injection scenarios ({sizes} sizes), {total:.0f} s in all; process logs in {logs}", "",
             "| scenario | goals | terminal | lost | double effects | over max attempts | journal violations |"
             " figures | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for outcome in outcomes:
        v = outcome.verdict
        counts = (f"{v.goals} | {v.terminal} | {v.not_terminal} | {v.double_effects} | {v.over_max_attempts} | "
                  f"{v.journal_violations}") if v else "- | - | - | - | - | -"
        figures = ", ".join(f"{name} {value}" for name, value in outcome.figures.items())
        verdict = "ok" if not outcome.problems else "; ".join(outcome.problems)
        lines.append(f"| {outcome.scenario} | {counts} | {figures} | {verdict} |")
    markdown = "\n".join(lines) + "\n"
    folder.mkdir(exist_ok=True)
    (folder / "faults.md").write_text(markdown)
    (folder / "faults.json").write_text(json.dumps(
        [{"scenario": o.scenario, "verdict": o.verdict.as_dict() if o.verdict else None, "figures": o.figures,
          "problems": o.problems}
         for o in outcomes], indent=2))
    return markdown
