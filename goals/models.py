"""Goals, their attempts and their append-only event journal.

No code assigns ``Goal.state`` or ``Goal.attempt``: they change only through ``goals.lifecycle.transitions``,
which compare-and-sets them in one UPDATE and journals the change in the same statement.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from goals.ids import new_id
from goals.lifecycle.states import AttemptOutcome, GoalState
from goals.querysets import ACTIVE_Q, ACTIVE_VALUES, FINAL_Q, FINAL_VALUES, GoalQuerySet, Wait, wait_of


class Goal(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    kind = models.CharField(max_length=100, help_text="Name of the registered executor that does the work.")
    params = models.JSONField(default=dict, blank=True, help_text="Keyword arguments for the executor.")
    state = models.CharField(max_length=16, choices=GoalState.choices, default=GoalState.PENDING,
                             editable=False, help_text="Changed only by the transition service.")
    attempt = models.PositiveIntegerField(default=1, editable=False,
                                          help_text="Number of the current attempt: the fencing token.")
    max_attempts = models.PositiveIntegerField(default=1, editable=False)
    progress_current = models.BigIntegerField(default=0, editable=False)
    progress_total = models.BigIntegerField(null=True, blank=True, editable=False)
    progress_message = models.CharField(max_length=255, blank=True, default="", editable=False)
    result = models.JSONField(null=True, blank=True, editable=False)
    error = models.JSONField(null=True, blank=True, editable=False,
                             help_text="The last error: type, message and traceback.")
    task_id = models.CharField(max_length=255, editable=False,
                               help_text="Celery task id of the current attempt.")
    # Not indexed on its own: goals_goal_owner_created (owner, created_at) serves every lookup by owner.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="goals", db_index=False)
    # NULL, not "": goals without a key must not collide in the (kind, idempotency_key) unique constraint.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True,  # noqa: DJ001
                                       help_text="Submitting the same kind and key again returns this goal.")
    created_at = models.DateTimeField(editable=False)
    queued_at = models.DateTimeField(null=True, blank=True, editable=False,
                                     help_text="When the current attempt was handed to the broker.")
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    deadline = models.DateTimeField(null=True, blank=True, help_text="Expire the goal if not final by then.")
    run_after = models.DateTimeField(null=True, blank=True, editable=False,
                                     help_text="When the goal was to start, if submitted to start later (kept until "
                                               "it ends).")
    # Database defaults: the raw INSERT of ``goal_submit`` and rows written before this column existed.
    needs_review = models.BooleanField(
        default=False, db_default=False, editable=False,
        help_text="Set by the reconciler when it found something it must not repair on its own.")
    review_reason = models.CharField(max_length=255, blank=True, default="", db_default="", editable=False)
    # The state once final, NULL before: set by the final transition with ``state`` (and cleared by a
    # retry), held equal to it by a check constraint, and NULL through every active transition, which
    # can then be HOT updates (an index may hold it; none may hold ``state``).
    final_state = models.CharField(max_length=16, null=True, blank=True, editable=False)  # noqa: DJ001
    # Families (goals.families.children): a child names its parent and a key unique among its siblings, which makes
    # spawning idempotent; a parent counts its children, kept by each child's own final transition in the
    # same statement (goals.lifecycle.transitions), and fans in when the count says so. Never indexed but by the
    # (parent, child_key) constraint and the active children's index: counting is a HOT update.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children",
                               db_index=False, editable=False)
    child_key = models.CharField(max_length=255, null=True, blank=True, editable=False)  # noqa: DJ001
    children_total = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    children_final = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    children_failed = models.PositiveIntegerField(
        default=0, db_default=0, editable=False, help_text="Children that ended other than succeeded.")
    # Set by ``wait``: how many failed children the goal tolerates before it fails (0: fail fast), NULL to
    # wait for all of them; and the executor its continuation runs ('' for the children's aggregate).
    child_failures_allowed = models.PositiveIntegerField(null=True, blank=True, editable=False)
    continuation = models.CharField(max_length=100, blank=True, default="", db_default="", editable=False)
    # How many times it fanned in: a continuation's ``ctx.resumed``, and the round of its spawn keys.
    fan_ins = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # What a goal waiting for an outside event waits for (goals.waits): the event's name ('' while it waits for
    # its children, or never waited) and the correlation key it declared, which only its final move and its
    # resume clear (the index of key-addressed waits holds it); its deadline is run_after.
    wait_event = models.CharField(max_length=100, blank=True, default="", db_default="", editable=False)
    wait_key = models.CharField(max_length=255, null=True, blank=True, editable=False)  # noqa: DJ001
    # Concurrency limits (goals.executors.limits): the key its kind's limit counts it under ('' kind-wide), from
    # its params at submit; whether it holds one of that key's slots (from the start or admit that took it to
    # the move that ends its attempt, which frees it in the same statement); and why a held goal waits
    # ('slot'; '' for any other goal), which the index of held goals keys on.
    limit_key = models.CharField(max_length=255, blank=True, default="", db_default="", editable=False)
    holds_slot = models.BooleanField(default=False, db_default=False, editable=False)
    held_for = models.CharField(max_length=16, blank=True, default="", db_default="", editable=False)
    # Rate limits: the key its kind's rate counts it under, and the turn a goal held for the rate was given
    # (its run_after too), which lets it start when released; cleared by the start that uses it.
    rate_key = models.CharField(max_length=255, blank=True, default="", db_default="", editable=False)
    rate_turn = models.DateTimeField(null=True, blank=True, editable=False)
    # The schedule whose period this goal is (goals.periodic); the period itself is in its idempotency key.
    schedule = models.ForeignKey("Schedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="goals",
                                 db_index=False, editable=False)
    # The submit's OpenTelemetry context (W3C traceparent/tracestate), under which every attempt is traced
    # (goals.tracing); null when nothing recorded spans.
    trace_context = models.JSONField(null=True, blank=True, editable=False)

    objects = GoalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Partial: most goals carry no key, and every row of a full index is written again by each move
            # that is not a HOT update (the final one, which sets finished_at). ``insert_goals`` conflicts on it.
            models.UniqueConstraint(fields=["kind", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="goals_goal_idempotency"),
            models.CheckConstraint(condition=Q(state__in=GoalState.values), name="goals_goal_state_valid"),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="goals_goal_attempt_positive"),
            models.CheckConstraint(
                condition=Q(progress_current__gte=0) & (Q(progress_total__isnull=True) | Q(progress_total__gte=0)),
                name="goals_goal_progress_non_negative",
            ),
            # A goal has finished exactly when it is final.
            models.CheckConstraint(
                condition=(Q(state__in=FINAL_VALUES) & Q(finished_at__isnull=False))
                | (Q(state__in=ACTIVE_VALUES) & Q(finished_at__isnull=True)),
                name="goals_goal_finished_iff_final",
            ),
            models.CheckConstraint(
                condition=Q(children_failed__lte=models.F("children_final"))
                & Q(children_final__lte=models.F("children_total")),
                name="goals_goal_children_counted",
            ),
            models.CheckConstraint(condition=Q(parent__isnull=True) | Q(child_key__isnull=False),
                                   name="goals_goal_child_has_key"),
            # A child is found among its siblings by its key: spawning the same key again returns it.
            models.UniqueConstraint(fields=["parent", "child_key"], condition=Q(parent__isnull=False),
                                    name="goals_goal_child_key"),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True, final_state__isnull=True)
                | Q(finished_at__isnull=False, final_state=models.F("state")),
                name="goals_goal_final_state_is_state",
            ),
        ]
        # No index names a column an active transition or a progress report changes (state, attempt,
        # task_id, the phase times, the heartbeat, progress): those updates are then HOT (no index
        # touched, the new row version on the same page, which migration 0008's fillfactor leaves room
        # for). Active goals are found by ``finished_at IS NULL`` (see goals.querysets), final ones by
        # ``final_state``; both change only with the final transition.
        indexes = [
            # Partial indexes stay as small as the set of active goals, whatever the history holds. The
            # reconciler walks the active goals with no start or wait deadline (run_after) in id order (keyset
            # batches) and judges each one there: heartbeats, queue times and attempts need no index of their
            # own. Those with one it takes from the run_after index once that time has come, so a goal
            # scheduled or waiting for an event costs its pass nothing until then (goals.reconciler.detect).
            models.Index(fields=["id"], condition=ACTIVE_Q & Q(run_after__isnull=True),
                         name="goals_goal_active_untimed"),
            # The oldest active goal (admin overview, metrics), and lists of one active state newest first.
            models.Index(fields=["created_at"], condition=ACTIVE_Q, name="goals_goal_active_created"),
            models.Index(fields=["deadline"], condition=ACTIVE_Q & Q(deadline__isnull=False),
                         name="goals_goal_active_deadline"),
            models.Index(fields=["created_at"], condition=Q(needs_review=True), name="goals_goal_needs_review"),
            # The goals waiting to start, by when they are due (beat releases the due ones). Keyed on
            # run_after alone, which only the final move clears (a released goal keeps it while active): a
            # predicate on the state would make every move of every goal a non-HOT update.
            models.Index(fields=["run_after"], condition=Q(run_after__isnull=False), name="goals_goal_scheduled_due"),
            # The goals waiting for an event by a correlation key: where an event with that key finds them.
            models.Index(fields=["wait_event", "wait_key"], condition=Q(wait_key__isnull=False),
                         name="goals_goal_event_wait"),
            # The held goals of a kind and key, oldest first: the next to take a slot that frees. Empty but for
            # held goals; held_for changes only when a goal is held or admitted.
            models.Index(fields=["kind", "limit_key", "id"], condition=~Q(held_for=""), name="goals_goal_held"),
            # A schedule's goals, newest period first (ids are time-ordered); empty for the other goals.
            models.Index(fields=["schedule", "id"], condition=Q(schedule__isnull=False), name="goals_goal_schedule"),
            # Pruning walks final goals by age.
            models.Index(fields=["finished_at"], condition=FINAL_Q, name="goals_goal_final_finished"),
            # The admin list and the HTTP list filter by one column and show the newest first. Goals
            # submitted from Python often have no owner; the HTTP list asks for one owner's goals.
            models.Index(fields=["final_state", "created_at"], condition=Q(final_state__isnull=False),
                         name="goals_goal_final_state_created"),
            models.Index(fields=["kind", "created_at"], name="goals_goal_kind_created"),
            models.Index(fields=["owner", "created_at"], condition=Q(owner__isnull=False),
                         name="goals_goal_owner_created"),
            models.Index(fields=["created_at"], name="goals_goal_created"),
            # No index on task_id: a goal is found by a task id through its attempts' unique task_id.
            # Looking a goal up by its key alone (admin search); the unique constraint leads with kind.
            models.Index(fields=["idempotency_key"], condition=Q(idempotency_key__isnull=False),
                         name="goals_goal_idempotency_key"),
            # A family's active members: the cascade of a final parent, and the whole's live progress.
            models.Index(fields=["parent"], condition=ACTIVE_Q & Q(parent__isnull=False),
                         name="goals_goal_active_children"),
        ]
        permissions = [("review_goal", "Can retry, cancel and acknowledge goals")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.state})"

    @property
    def is_final(self) -> bool:
        from goals.lifecycle.states import FINAL_STATES

        return self.state in FINAL_STATES

    @property
    def progress_percent(self) -> float | None:
        if not self.progress_total:
            return None
        return round(min(100.0, 100.0 * self.progress_current / self.progress_total), 1)

    @property
    def waits_for(self) -> Wait | None:
        """What it waits for and until when, holding no worker (``goals.querysets.wait_of``); None if not."""
        return wait_of(self)


class Attempt(models.Model):
    """One dispatch of a goal: its own Celery task id, worker, timestamps and outcome."""

    # Indexed by the (goal, number) constraint and a plain unique constraint on task_id: a unique=True
    # CharField would add a second, pattern-matching (LIKE) index nothing uses, written on every insert.
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    number = models.PositiveIntegerField()
    task_id = models.CharField(max_length=255)
    worker = models.CharField(max_length=255, blank=True, default="", help_text="Hostname of the worker.")
    created_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices, blank=True, default="")
    error = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["goal", "number"]
        constraints = [
            models.UniqueConstraint(fields=["goal", "number"], name="goals_attempt_goal_number"),
            models.UniqueConstraint(fields=["task_id"], name="goals_attempt_task_id_unique"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.goal_id}"


class EventType(models.TextChoices):
    TRANSITION = "transition", "transition"
    """The goal moved from one state to another."""
    IGNORED = "ignored", "ignored"
    """A callback or request was refused: stale attempt, or a state that does not allow it."""
    PUBLISH_FAILED = "publish_failed", "publish failed"
    """The broker could not be reached; the goal stays pending until it is re-sent."""
    FLAGGED = "flagged", "flagged for review"
    """The reconciler found something it must not repair on its own; a person decides."""
    ACKNOWLEDGED = "acknowledged", "acknowledged"
    """A person reviewed a flagged goal and cleared the flag (the state is unchanged)."""


class Cause(models.TextChoices):
    API = "api", "API"
    EXECUTOR = "executor", "executor"
    ADMIN = "admin", "admin"
    RECONCILER = "reconciler", "reconciler"
    PUBLISHER = "publisher", "publisher"
    PARENT = "parent", "parent"
    """Cancelled because its parent ended first."""
    SCHEDULE = "schedule", "schedule"
    """Submitted by a schedule for one of its periods (``goals.periodic``)."""
    EVENT = "event", "event"
    """Resumed by the outside event it waited for (``goals.waits``)."""


class GoalEvent(models.Model):
    """Append-only journal: one row per transition, refused callback or failed publish."""

    # Indexed by goals_event_goal_id (goal, id), which also orders a goal's journal.
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="events", db_index=False)
    created_at = models.DateTimeField()
    event = models.CharField(max_length=16, choices=EventType.choices)
    transition = models.CharField(max_length=32, blank=True, default="")
    from_state = models.CharField(max_length=16, blank=True, default="")
    to_state = models.CharField(max_length=16, blank=True, default="")
    attempt = models.PositiveIntegerField()
    task_id = models.CharField(max_length=255, blank=True, default="")
    cause = models.CharField(max_length=16, choices=Cause.choices)
    actor = models.CharField(max_length=255, blank=True, default="",
                             help_text="User name, worker hostname or process that caused it.")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["goal", "id"]
        indexes = [
            # No index on created_at: rows are appended in time order, so a recent window is the tail of
            # the primary key (goals.selectors.goal_event_counts). A BRIN index there was rewritten by
            # most inserts, each widening the last range's maximum.
            models.Index(fields=["goal", "id"], name="goals_event_goal_id"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.from_state}->{self.to_state} of {self.goal_id}"


class Finding(models.TextChoices):
    """What the reconciler can find wrong with a goal (see ``goals.reconciler.detect``)."""

    LOST_CALLBACK = "lost_callback", "lost callback"
    """The task result is final (SUCCESS or FAILURE) but the goal never heard of it."""
    RESULT_MISSING = "result_missing", "result missing"
    """Running past its hard time limit with no result row at all (expired, or never written)."""
    STALLED = "stalled", "stalled"
    """Running with a heartbeat older than the kind's heartbeat timeout: its worker is presumed dead."""
    NEVER_SENT = "never_sent", "never sent"
    """Pending past the grace period: the publish failed or the process died before it."""
    LOST_IN_QUEUE = "lost_in_queue", "lost in queue"
    """Queued (or retrying) far longer than expected, and no worker ever reported on it."""
    OVERDUE = "overdue", "overdue"
    """Past its deadline and not final."""
    MISMATCH = "mismatch", "mismatch"
    """A final goal whose task result says the opposite; never rewritten automatically."""
    ORPHAN_RESULT = "orphan_result", "orphan result"
    """A goal task's result row that matches no attempt of any goal."""
    MISSED_FAN_IN = "missed_fan_in", "missed fan-in"
    """Waiting, though its children's outcome is known: the fan-in never happened."""
    ORPHANED_CHILD = "orphaned_child", "orphaned child"
    """Active, though its parent has ended (which cancels its family)."""
    WAITING_OVERDUE = "waiting_overdue", "waiting past its deadline"
    """A parent waiting for its children past its own deadline."""
    DUE_NOT_RELEASED = "due_not_released", "due, not released"
    """Scheduled (or held for its turn under a rate), and its time passed longer ago than the pending grace: no
    release ran (beat down)."""
    WAIT_EXPIRED = "wait_expired", "wait past its deadline"
    """Waiting for an outside event past its wait's deadline by more than the pending grace: no release ran."""
    EVENT_UNCONSUMED = "event_unconsumed", "event for a goal that no longer waits"
    """An outside event sent to a goal by id that has ended without taking it: reported, kept until retention."""
    SLOTS_MISCOUNTED = "slots_miscounted", "slots miscounted"
    """A limited key's count of slots taken or goals held disagrees with its goals (goals.executors.limits)."""
    HELD_SLOT_FREE = "held_slot_free", "held, though a slot is free"
    """Held for a slot of its key while the key runs fewer than its limit: no end admitted it."""


class Action(models.TextChoices):
    """What the reconciler did about a finding (in a dry run: what it would have done)."""

    APPLIED_SUCCESS = "applied_success", "applied the stored success"
    APPLIED_FAILURE = "applied_failure", "applied the stored failure"
    SENT = "sent", "sent to the broker"
    SEND_FAILED = "send_failed", "send failed (broker unreachable)"
    REDISPATCHED = "redispatched", "sent again as a new attempt"
    FAILED = "failed", "failed, flagged for review"
    EXPIRED = "expired", "expired"
    FLAGGED = "flagged", "flagged for review"
    REPORTED = "reported", "reported only"
    SKIPPED = "skipped", "skipped: the goal moved on meanwhile"
    FANNED_IN = "fanned_in", "fanned in: its continuation sent, or ended as its children decided"
    RELEASED = "released", "released: its start time had come"
    TIMED_OUT = "timed_out", "timed out: its continuation sent without the event"
    CANCELLED = "cancelled", "cancelled, as its parent's end does"
    RECOUNTED = "recounted", "counted again from its goals"
    ADMITTED = "admitted", "admitted to the free slot and sent"


class ReconciliationReportQuerySet(models.QuerySet):
    def applied(self) -> ReconciliationReportQuerySet:
        """Passes that repaired (not dry runs)."""
        return self.filter(dry_run=False)


class ReconciliationReport(models.Model):
    """One reconciler pass: what it looked at, what it found and what it did."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False, help_text="Found only; nothing was changed.")
    trigger = models.CharField(max_length=16, help_text="schedule, command or api.")
    host = models.CharField(max_length=255, blank=True, default="", help_text="Host and process of the pass.")
    goals_scanned = models.PositiveIntegerField(default=0, help_text="Active goals the pass looked at.")
    results_scanned = models.PositiveIntegerField(default=0, help_text="Recent task result rows looked at.")
    findings_by_kind = models.JSONField(default=dict, blank=True)
    actions_by_kind = models.JSONField(default=dict, blank=True)
    needs_review = models.PositiveIntegerField(default=0, help_text="Goals flagged for review by this pass.")
    duration_seconds = models.FloatField(null=True, blank=True)

    objects = ReconciliationReportQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        kind = "dry run" if self.dry_run else "pass"
        return f"reconciliation {kind} of {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def findings_total(self) -> int:
        return sum(self.findings_by_kind.values())


class ReconciliationFinding(models.Model):
    """One goal (or orphan result row) a pass found something about, with the evidence it weighed."""

    report = models.ForeignKey(ReconciliationReport, on_delete=models.CASCADE, related_name="findings")
    # Not a foreign key: a report outlives the goals it mentions (pruning deletes goals first).
    goal_id = models.UUIDField(null=True, blank=True, db_index=True)
    task_id = models.CharField(max_length=255, blank=True, default="")
    kind = models.CharField(max_length=32, choices=Finding.choices)
    action = models.CharField(max_length=32, choices=Action.choices)
    before_state = models.CharField(max_length=16, blank=True, default="")
    after_state = models.CharField(max_length=16, blank=True, default="")
    attempt = models.PositiveIntegerField(null=True, blank=True)
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["report", "id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.goal_id or self.task_id}: {self.action}"


class ApiToken(models.Model):
    """A machine client's credential for the HTTP API, acting as ``user``.

    Only a SHA-256 digest of the key is stored: the key itself is shown once, when it is created
    (``manage.py create_api_token``). Deleting the row revokes it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="goal_api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. the client's name.")
    prefix = models.CharField(max_length=12, editable=False,
                              help_text="First characters of the key, to tell tokens apart.")
    digest = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the key, hex.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["user", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...) of {self.user}"


class CatchUp(models.TextChoices):
    """What a schedule does with the periods it missed while nothing ran (``goals.periodic``)."""

    NONE = "none", "none: skip them"
    LATEST = "latest", "the latest one"
    ALL = "all", "all of them, up to the limit"


class Schedule(models.Model):
    """A goal of ``kind`` every period: each period's start names one goal, whatever the number of beats.

    Periods are a crontab in ``timezone`` or every ``every`` seconds (``goals.periodic.calendar``); the
    releaser gives each its goal (``goals.periodic.periods``), keyed by the schedule and the period's start.
    ``next_period`` is the start of the first period not yet given its goal (or skipped): what the releaser
    looks at, on an index, to find the schedules due (NULL: a crontab that fires no more).
    """

    name = models.CharField(max_length=100, unique=True, help_text="How people and code refer to it.")
    kind = models.CharField(max_length=100, help_text="The executor each period's goal runs.")
    params = models.JSONField(default=dict, blank=True, help_text="The goals' params.")
    crontab = models.CharField(max_length=100, blank=True, default="",
                               help_text="minute hour day-of-month month day-of-week, as Celery's crontab; "
                                         "read in the time zone.")
    every = models.FloatField(null=True, blank=True, help_text="Or: seconds between two periods.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="An IANA time zone, e.g. Europe/Paris.")
    catch_up = models.CharField(max_length=8, choices=CatchUp.choices, default=CatchUp.LATEST,
                                help_text="What to do with the periods missed while nothing ran.")
    catch_up_limit = models.PositiveIntegerField(default=10, help_text="With catch-up 'all': at most this many.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="goal_schedules", help_text="The owner of each period's goal.")
    paused = models.BooleanField(default=False, help_text="A paused schedule gives no goal; resumed, it skips "
                                                          "the periods it was paused for.")
    next_period = models.DateTimeField(null=True, blank=True, editable=False,
                                       help_text="Start of the next period, not yet given its goal.")
    last_period = models.DateTimeField(null=True, blank=True, editable=False,
                                       help_text="Start of the last period given a goal.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(crontab="") ^ Q(every__isnull=True),
                                   name="goals_schedule_crontab_or_every"),
        ]
        indexes = [
            models.Index(fields=["next_period"], condition=Q(paused=False), name="goals_schedule_due"),
        ]

    def __str__(self) -> str:
        return self.name


class ScheduleEvent(models.Model):
    """Append-only journal of a schedule: what people did to it, and the periods it skipped or caught up."""

    class Event(models.TextChoices):
        CREATED = "created"
        CHANGED = "changed"
        PAUSED = "paused"
        RESUMED = "resumed"
        TRIGGERED = "triggered"
        SKIPPED = "skipped"
        CAUGHT_UP = "caught_up", "caught up"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    event = models.CharField(max_length=16, choices=Event.choices)
    period = models.DateTimeField(null=True, blank=True, help_text="The period concerned (the first, for several).")
    count = models.PositiveIntegerField(default=1, help_text="How many periods.")
    actor = models.CharField(max_length=255, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} of {self.schedule_id}"


class ExternalEvent(models.Model):
    """Something that happened outside, sent to the goals waiting for it (``goals.waits``): by a goal's id or
    by the correlation key a wait declared (a payment webhook knows the order, not the goal).

    Kept until a waiting goal consumes it, at most once (``consumed_by``, by the move that resumes that goal,
    in the same statement), so an event that arrives before the wait is there for it; ``event_key`` makes a
    sender's retries one event. Unconsumed events are deleted after ``GOALS_EVENT_RETENTION_DAYS``.
    """

    name = models.CharField(max_length=100, help_text="What happened, e.g. payment.captured.")
    correlation_key = models.CharField(max_length=255, null=True, blank=True,  # noqa: DJ001
                                       help_text="The business key a wait declared, e.g. order:42.")
    goal = models.ForeignKey(Goal, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             db_index=False, help_text="Or: the goal it is for.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False,
                              help_text="Who sent it: only their goals may take it (none: the system or staff).")
    payload = models.JSONField(default=dict, blank=True)
    event_key = models.CharField(max_length=255, null=True, blank=True,  # noqa: DJ001
                                 help_text="The sender's id of the event: the same again is the same event.")
    received_at = models.DateTimeField()
    consumed_by = models.ForeignKey(Goal, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                    db_index=False, editable=False)
    consumed_attempt = models.PositiveIntegerField(null=True, blank=True, editable=False,
                                                   help_text="The attempt of the goal it resumed.")
    consumed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "event_key"], condition=Q(event_key__isnull=False),
                                    name="goals_externalevent_key"),
        ]
        indexes = [
            # Where a wait finds an event that came before it, and retention the old ones: unconsumed only.
            models.Index(fields=["name", "correlation_key"], condition=Q(consumed_at__isnull=True),
                         name="goals_externalevent_open_key"),
            models.Index(fields=["goal"], condition=Q(consumed_at__isnull=True, goal__isnull=False),
                         name="goals_externalevent_open_goal"),
            models.Index(fields=["received_at"], condition=Q(consumed_at__isnull=True),
                         name="goals_externalevent_open_age"),
            models.Index(fields=["consumed_by", "consumed_attempt"], condition=Q(consumed_by__isnull=False),
                         name="goals_externalevent_consumed"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.correlation_key or self.goal_id or ''}".strip()


class ConcurrencySlots(models.Model):
    """The slots of one key of a limited kind (``goals.executors.limits``): how many are taken (a running
    attempt, or a goal admitted and on its way to a worker), how many goals are held waiting for one, and
    the limit the last start counted against.

    Written only by the lifecycle's statements, under this row's lock: ``start_attempt`` takes a slot or
    holds the goal, every move that ends an attempt gives its slot back, ``admit_held_goals`` hands freed
    slots to held goals. The reconciler recounts a row that disagrees with its goals."""

    kind = models.CharField(max_length=100)
    key = models.CharField(max_length=255, blank=True, default="")
    running = models.IntegerField(default=0)
    held = models.IntegerField(default=0)
    capacity = models.IntegerField()

    class Meta:
        db_table = "goals_concurrency"
        verbose_name_plural = "concurrency slots"
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="goals_concurrency_kind_key")]

    def __str__(self) -> str:
        return f"{self.kind} [{self.key}] {self.running}/{self.capacity}"


class TimestampArrayField(models.Field):
    """A ``timestamptz[]`` column, written only by the lifecycle's SQL and read as psycopg gives it (a list).

    Not ``ArrayField``: from Django 6.0 that needs ``django.contrib.postgres`` in the host's INSTALLED_APPS
    (check postgres.E005), which goaltrack would otherwise not ask for."""

    def db_type(self, connection: Any) -> str:
        return "timestamptz[]"


class RateWindow(models.Model):
    """The recent starts of one key of a kind with a rate (``goals.executors.limits``): the last ``limit``
    start times, and when the next goal may start (after the turns handed out so far). Written only by
    ``start_attempt``, under this row's lock, and made by ``insert_goals`` before the key's first start."""

    kind = models.CharField(max_length=100)
    key = models.CharField(max_length=255, blank=True, default="")
    starts = TimestampArrayField(default=list, blank=True)
    next_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "goals_rate"
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="goals_rate_kind_key")]

    def __str__(self) -> str:
        return f"{self.kind} [{self.key}]"


class KindControl(models.Model):
    """What an operator set for a kind at run time, over what its executor declares: its concurrency limit,
    and whether it is paused (its goals held as workers take them, none started).

    Read by the statement that starts an attempt, so a change takes effect at the next start, with no restart
    and no migration (``goals.submitting.controls``); each change is journaled in ``KindEvent``."""

    kind = models.CharField(max_length=100, primary_key=True)
    concurrency = models.PositiveIntegerField(
        null=True, blank=True, help_text="At most this many running at once (per key, if the executor gives a key); "
                                         "empty: the executor's own concurrency.")
    rate = models.PositiveIntegerField(null=True, blank=True, help_text="At most this many starts per rate_period "
                                                                        "(per key, if the executor gives a key).")
    rate_period = models.FloatField(null=True, blank=True, help_text="The rate's period in seconds.")
    paused = models.BooleanField(default=False, db_default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.CharField(max_length=255, blank=True, default="", db_default="")
    pause_reason = models.TextField(blank=True, default="", db_default="")
    changed_at = models.DateTimeField(auto_now=True)
    changed_by = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        db_table = "goals_kindcontrol"

    def __str__(self) -> str:
        return self.kind


class KindEvent(models.Model):
    """The journal of what operators changed about a kind: a pause and its reason, a resume, a limit."""

    class Event(models.TextChoices):
        PAUSED = "paused", "paused"
        RESUMED = "resumed", "resumed"
        CONCURRENCY = "concurrency", "concurrency limit set"
        RATE = "rate", "rate limit set"

    kind = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    event = models.CharField(max_length=16, choices=Event.choices)
    actor = models.CharField(max_length=255, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "goals_kindevent"
        ordering = ["-id"]
        indexes = [models.Index(fields=["kind", "id"], name="goals_kindevent_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event} by {self.actor}"
