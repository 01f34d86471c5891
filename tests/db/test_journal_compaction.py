"""Journal compaction: a goal finished long ago keeps its summary rows, in batches of one statement each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goals.lifecycle.states import GoalState
from goals.models import Goal, GoalEvent
from goals.pruning import compact_journals, count_compactable
from goals.tasks import prune_goals
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

# A goal's life: (event, transition, cause), in order. The rows a person, the reconciler or the submit
# caused stay, and so does the last transition; the workers' and the publisher's steps go.
LIFE = [
    ("transition", "submit", "api"),
    ("transition", "enqueue", "publisher"),
    ("transition", "start", "executor"),
    ("ignored", "", "executor"),
    ("transition", "schedule_retry", "executor"),
    ("publish_failed", "", "publisher"),
    ("flagged", "", "reconciler"),
    ("acknowledged", "", "admin"),
    ("transition", "start", "executor"),
    ("transition", "succeed", "executor"),
    ("ignored", "", "executor"),
]
SUMMARY = [("transition", "submit", "api"), ("flagged", "", "reconciler"), ("acknowledged", "", "admin"),
           ("transition", "succeed", "executor")]


def goal_finished(days_ago: float, state: GoalState = GoalState.SUCCEEDED) -> Goal:
    at = timezone.now() - timedelta(days=days_ago)
    goal = make_goal(state=state, now=at)
    GoalEvent.objects.bulk_create(GoalEvent(goal=goal, created_at=at, event=event, transition=transition,
                                            cause=cause, attempt=1) for event, transition, cause in LIFE)
    return goal


def journal(goal: Goal) -> list[tuple[str, str, str]]:
    return list(goal.events.order_by("id").values_list("event", "transition", "cause"))


def test_old_final_goals_keep_their_summary_and_newer_or_active_ones_everything():
    old, older = goal_finished(40), goal_finished(50, GoalState.FAILED)
    recent, running = goal_finished(3), goal_finished(40, GoalState.RUNNING)
    cutoff = timezone.now() - timedelta(days=30)
    assert count_compactable(cutoff=cutoff) == 2 * (len(LIFE) - len(SUMMARY))

    with CaptureQueriesContext(connection) as queries:
        deleted = compact_journals(cutoff=cutoff, batch_size=1)
    assert deleted == 2 * (len(LIFE) - len(SUMMARY))
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 3, "one statement per batch of goals, and one that finds none left"
    assert journal(old) == SUMMARY
    assert journal(older) == SUMMARY
    assert journal(recent) == LIFE
    assert journal(running) == LIFE
    assert compact_journals(cutoff=cutoff) == 0, "compacting again deletes nothing"
    assert Goal.objects.count() == 4


def test_the_nightly_task_compacts_what_aged_past_the_setting_and_the_command_any_backlog(capsys):
    last_night, long_ago = goal_finished(8), goal_finished(20)
    with override_settings(GOALS_JOURNAL_DETAIL_DAYS=7):
        assert prune_goals() == {"goals": 0, "reports": 0, "journal_rows": len(LIFE) - len(SUMMARY),
                                 "unconsumed_events": 0}
    assert journal(last_night) == SUMMARY
    assert journal(long_ago) == LIFE, "the nightly window looks two days back, not through the history"

    call_command("prune_goals", "--journal-older-than", "7", "--dry-run")
    assert f"would delete {len(LIFE) - len(SUMMARY)} journal rows" in capsys.readouterr().out
    assert journal(long_ago) == LIFE
    call_command("prune_goals", "--journal-older-than", "7")
    assert f"deleted {len(LIFE) - len(SUMMARY)} journal rows" in capsys.readouterr().out
    assert journal(long_ago) == SUMMARY


def test_the_command_wants_something_to_prune_and_whole_days():
    with pytest.raises(CommandError, match="--older-than DAYS, --journal-older-than DAYS, or both"):
        call_command("prune_goals")
    with pytest.raises(CommandError, match="--journal-older-than must be at least 1 day"):
        call_command("prune_goals", "--journal-older-than", "0")
