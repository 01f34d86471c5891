"""Running the reconciler: the beat schedule, the pass lock, notifications, the commands, pruning."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from goals.lifecycle.states import GoalState
from goals.models import Attempt, Goal, GoalEvent, ReconciliationFinding, ReconciliationReport
from goals.pruning import prune
from goals.reconciler.passes import exclusive_pass, scheduled_pass
from goals.schedule import RECONCILE_TASK_NAME, RELEASE_TASK_NAME, ensure_periodic_tasks
from tests.conftest import ROOT, database_url, service_env
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def test_beat_schedule_exists_after_migrate_and_follows_the_setting():
    entry = PeriodicTask.objects.get(name=RECONCILE_TASK_NAME)
    assert (entry.task, entry.enabled, entry.interval.every) == ("goals.reconcile", True, 60)
    assert PeriodicTask.objects.filter(task="goals.prune").exists()
    assert PeriodicTask.objects.filter(task="celery.backend_cleanup").exists()

    entry.enabled = False
    entry.save()
    with override_settings(GOALS_RECONCILE_INTERVAL=15):
        ensure_periodic_tasks()
        ensure_periodic_tasks()
    entry.refresh_from_db()
    assert (entry.interval.every, entry.enabled) == (15, False), "an operator's switch is kept"
    assert PeriodicTask.objects.filter(name=RECONCILE_TASK_NAME).count() == 1


def test_the_release_of_due_goals_is_a_beat_entry_after_migrate_following_its_setting():
    entry = PeriodicTask.objects.get(name=RELEASE_TASK_NAME)
    assert (entry.task, entry.enabled, entry.interval.every) == ("goals.release", True, 5)
    with override_settings(GOALS_RELEASE_INTERVAL=2):
        ensure_periodic_tasks()
    entry.refresh_from_db()
    assert entry.interval.every == 2


@pytest.mark.django_db(transaction=True)
def test_overlapping_scheduled_pass_is_skipped_not_queued():
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with exclusive_pass() as acquired:
            assert acquired
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert held.wait(30)
        assert scheduled_pass() == {"skipped": True}
    finally:
        release.set()
        holder.join()
    assert "report" in scheduled_pass()


@override_settings(GOALS_RECONCILE_NOTIFY=True, ADMINS=[("Ops", "ops@example.com")])
def test_pass_that_flags_goals_mails_the_admins():
    goal = make_goal(state=GoalState.RUNNING, max_attempts=1)
    Goal.objects.filter(pk=goal.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    call_command("reconcile", stdout=io.StringIO())
    [message] = mail.outbox
    assert "1 goal(s) need review" in message.subject
    assert "stalled: 1" in message.body


def test_a_dry_run_says_what_it_would_do_and_logs_actions_by_name(capsys, caplog):
    goal = make_goal(state=GoalState.RUNNING, max_attempts=1)
    Goal.objects.filter(pk=goal.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with caplog.at_level(logging.INFO, logger="goals"):
        call_command("reconcile", "--dry-run")
    out = capsys.readouterr().out
    assert f"stalled         {goal.pk}  running -> running  would be: failed, flagged for review" in out
    assert "1 goal(s) would be flagged for review" in out
    assert out.rstrip().endswith("dry run: nothing was changed or saved")
    [record] = [r for r in caplog.records if r.name == "goals.reconciler.passes"]
    assert record.getMessage().endswith("actions {'failed': 1}")
    assert Goal.objects.get(pk=goal.pk).state == GoalState.RUNNING
    assert not ReconciliationReport.objects.exists()


def test_command_prints_json_and_csv_and_refuses_unknown_kinds(capsys):
    make_goal(state=GoalState.QUEUED, deadline=timezone.now() - timedelta(minutes=1))
    call_command("reconcile", "--dry-run", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True
    assert [(f["kind"], f["action"]) for f in report["findings"]] == [("overdue", "expired")]

    call_command("reconcile", "--csv")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("report,goal_id,task_id,kind,action")
    assert ",overdue,expired,queued,expired," in lines[1]

    with pytest.raises(CommandError, match="unknown finding kind bogus"):
        call_command("reconcile", "--kind", "bogus")


def test_prune_removes_only_old_final_goals_and_old_reports(capsys):
    old = timezone.now() - timedelta(days=40)
    old_final = make_goal(state=GoalState.SUCCEEDED)
    Goal.objects.filter(pk=old_final.pk).update(finished_at=old)
    old_active = make_goal(state=GoalState.QUEUED, now=old)
    recent_final = make_goal(state=GoalState.FAILED)
    GoalEvent.objects.create(goal=old_final, created_at=old, event="transition", attempt=1, cause="api")
    old_report = ReconciliationReport.objects.create(started_at=old, trigger="test")
    ReconciliationFinding.objects.create(report=old_report, kind="overdue", action="expired")
    new_report = ReconciliationReport.objects.create(started_at=timezone.now(), trigger="test")

    call_command("prune_goals", "--older-than", "30", "--dry-run")
    assert "would delete 1 final goals and 1 reports" in capsys.readouterr().out
    assert Goal.objects.count() == 3

    counts = prune(cutoff=timezone.now() - timedelta(days=30), batch_size=1)
    assert (counts.goals, counts.reports) == (1, 1)
    assert set(Goal.objects.values_list("pk", flat=True)) == {old_active.pk, recent_final.pk}
    assert not Attempt.objects.filter(goal_id=old_final.pk).exists()
    assert not GoalEvent.objects.filter(goal_id=old_final.pk).exists()
    assert list(ReconciliationReport.objects.all()) == [new_report]
    assert not ReconciliationFinding.objects.exists()

    with pytest.raises(CommandError, match="--older-than must be at least 1 day"):
        call_command("prune_goals", "--older-than", "0")


@pytest.mark.django_db(transaction=True)
def test_the_commands_refuse_a_database_not_migrated_yet_and_say_how_to_fix_it():
    """A fresh database (a new clone's embedded one, a project that has not migrated): a message, not a
    ProgrammingError traceback. Run as a user runs it, in a process of its own."""
    settings_dict = dict(connection.settings_dict)
    scratch = f"{settings_dict['NAME']}_unmigrated"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        cursor.execute(f'CREATE DATABASE "{scratch}"')
    try:
        env = service_env(DATABASE_URL=database_url({**settings_dict, "NAME": scratch}))
        for command in (["reconcile", "--dry-run"], ["prune_goals", "--older-than", "30"],
                        ["create_api_token", "nobody", "--name", "ci"]):
            run = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=120)
            assert run.returncode == 1, run.stderr
            assert "not migrated for django_celery_beat, django_celery_results, goals" in run.stderr
            assert "python manage.py migrate" in run.stderr
            assert "Traceback" not in run.stderr
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
