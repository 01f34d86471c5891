"""Goal review in the admin: a fast list, a read-only detail page, and retry/cancel/acknowledge actions.

Goals are never edited through a form: state and every system field are read-only, and the actions
call the services (see ``goals.admin.actions``).
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django_celery_results.models import TaskResult

from goals.admin.actions import REVIEW_ACTIONS, ReasonForm, ReviewAction, apply_review_action, offered_actions
from goals.admin.changelist import (
    CappedCountPaginator,
    KindFilter,
    OverdueFilter,
    OwnerFilter,
    ParentFilter,
    StaleFilter,
    StateFilter,
    WaitsForFilter,
    with_cheap_date_hierarchy,
)
from goals.admin.display import (
    breakable_name,
    error_html,
    progress_bar,
    relative_time_html,
    short_uuid_html,
    state_badge,
    timestamp_field,
    timestamp_html,
)
from goals.admin.family import children_html, parent_html
from goals.admin.kinds import apply_kind_change, kinds_context
from goals.admin.overview import overview_context
from goals.lifecycle.states import GoalState
from goals.models import Attempt, Goal, GoalEvent
from goals.submitting.submit import scoped_idempotency_key
from goals.tracing import trace_id_of

# A review action goes through the services goal by goal; a selection "across" millions is refused.
MAX_BULK_REVIEW = 1000
# A bare idempotency key is searched as each user's stored key: one index probe per user, up to this many.
MAX_KEY_SEARCH_USERS = 10_000


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AttemptInline(ReadOnlyInline):
    model = Attempt
    fields = ["number", "task_result", "worker_display", "created_display", "queued_display", "started_display",
              "finished_display", "outcome", "error_display"]
    readonly_fields = fields
    created_display = timestamp_field("created_at", stacked=True)

    # The phases show the time of day when they fall on the attempt's creation day: with four full
    # dates, the table was wider than its box at 1280 px.
    @admin.display(description="queued")
    def queued_display(self, attempt: Attempt) -> str:
        return timestamp_html(attempt.queued_at, same_day_as=attempt.created_at)

    @admin.display(description="started")
    def started_display(self, attempt: Attempt) -> str:
        return timestamp_html(attempt.started_at, same_day_as=attempt.created_at)

    @admin.display(description="finished")
    def finished_display(self, attempt: Attempt) -> str:
        return timestamp_html(attempt.finished_at, same_day_as=attempt.created_at)

    @admin.display(description="error")
    def error_display(self, attempt: Attempt) -> str:
        return error_html(attempt.error)

    @admin.display(description="worker")
    def worker_display(self, attempt: Attempt) -> str:
        return breakable_name(attempt.worker) if attempt.worker else "-"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The result row's primary key, for the link, in the same query as the attempts.
        result_pk = TaskResult.objects.filter(task_id=OuterRef("task_id")).values("pk")[:1]
        return super().get_queryset(request).annotate(result_pk=Subquery(result_pk))

    @admin.display(description="task (result)")
    def task_result(self, attempt: Attempt) -> str:
        task = short_uuid_html(attempt.task_id)
        if attempt.result_pk is None:
            return format_html('{}<br><small title="not finished, expired or lost">no result row</small>', task)
        url = reverse("admin:django_celery_results_taskresult_change", args=[attempt.result_pk])
        return format_html('<a href="{}">{}</a>', url, task)


class GoalEventInline(ReadOnlyInline):
    model = GoalEvent
    fields = ["created_display", "event", "transition", "from_state", "to_state", "attempt", "cause", "actor",
              "details"]
    readonly_fields = fields
    # Milliseconds: a goal's events often fall within one second. Newest first by id, the journal's order.
    created_display = timestamp_field("created_at", milliseconds=True, stacked=True, description="at")
    ordering = ["-id"]
    verbose_name_plural = "journal (newest first)"


def _pretty_json(value: Any) -> str:
    if value is None:
        return "-"
    return format_html("<pre style='margin:0;white-space:pre-wrap'>{}</pre>",
                       json.dumps(value, indent=2, sort_keys=True))


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    # Every column fits at 1280 px beside the admin's sidebars: a short id, compact times, kinds that wrap.
    list_display = ["short_id", "state_and_attempt", "list_progress", "kind_display", "owner", "age",
                    "since_heartbeat", "deadline_from_now", "flagged"]
    list_display_links = ["short_id"]
    list_filter = [StateFilter, WaitsForFilter, KindFilter, "needs_review", StaleFilter, OverdueFilter, OwnerFilter,
                   ParentFilter]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    search_fields = ["id"]  # searched by get_search_results below: exact id, idempotency key or task id
    search_help_text = ("A goal id, a Celery task id or an idempotency key (exact): a key sent over HTTP as the "
                        "client sent it or as stored, user:<user id>:<key>.")
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = ["retry_goals", "cancel_goals", "acknowledge_goals"]
    fieldsets = [
        (None, {"fields": ["id", "kind", "state_display", "waits_for_display", "needs_review", "review_reason",
                           "owner", "idempotency_key"]}),
        ("Progress", {"fields": ["progress_display", "progress_current", "progress_total", "progress_message"]}),
        ("Attempts", {"fields": ["attempt", "max_attempts", "task_id", "trace_display"]}),
        ("Input and outcome", {"fields": ["params_display", "result_display", "error_display"]}),
        ("Times", {"fields": ["created_display", "run_after_display", "queued_display", "started_display",
                              "heartbeat_display", "finished_display", "deadline_display"]}),
        ("Family", {"fields": ["parent_display", "children_display"]}),
    ]
    created_display = timestamp_field("created_at", description="created")
    run_after_display = timestamp_field("run_after", description="starts at")
    queued_display = timestamp_field("queued_at", description="queued")
    started_display = timestamp_field("started_at", description="started")
    heartbeat_display = timestamp_field("heartbeat_at", description="heartbeat")
    finished_display = timestamp_field("finished_at", description="finished")
    deadline_display = timestamp_field("deadline")
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [AttemptInline, GoalEventInline]

    # --- list columns ------------------------------------------------------------------------------

    def action_checkbox(self, goal: Goal) -> str:
        """The same checkbox as Django's, without a form widget rendered through a template per row,
        which cost more than every other column of the row together."""
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" '
                           'aria-label="Select this object for an action - {}">',
                           helpers.ACTION_CHECKBOX_NAME, goal.pk, goal)

    @admin.display(description="id", ordering="pk")
    def short_id(self, goal: Goal) -> str:
        return short_uuid_html(goal.pk)

    @admin.display(description="kind", ordering="kind")
    def kind_display(self, goal: Goal) -> str:
        return breakable_name(goal.kind)

    @admin.display(description="state", ordering="state")
    def state_and_attempt(self, goal: Goal) -> str:
        # What a scheduled or waiting goal waits for, on hover: the column has no room for it at 1280 px.
        wait = goal.waits_for
        return format_html('<span title="{}">{}</span><br><small style="color:var(--body-quiet-color);'
                           'white-space:nowrap">attempt {}/{}</small>', wait.summary if wait else "",
                           state_badge(goal.state), goal.attempt, goal.max_attempts)

    @admin.display(description="waits for")
    def waits_for_display(self, goal: Goal) -> str:
        wait = goal.waits_for
        return wait.summary if wait else "-"

    @admin.display(description="progress")
    def list_progress(self, goal: Goal) -> str:
        return progress_bar(goal, width_px=52)

    @admin.display(description="state", ordering="state")
    def state_display(self, goal: Goal) -> str:
        return state_badge(goal.state)

    @admin.display(description="progress")
    def progress_display(self, goal: Goal) -> str:
        return progress_bar(goal)

    @admin.display(description="age", ordering="created_at")
    def age(self, goal: Goal) -> str:
        return relative_time_html(goal.created_at, timezone.now(), bare=True)

    @admin.display(description="heartbeat")
    def since_heartbeat(self, goal: Goal) -> str:
        if goal.state != GoalState.RUNNING:
            return "-"
        return relative_time_html(goal.heartbeat_at, timezone.now())

    @admin.display(description="deadline", ordering="deadline")
    def deadline_from_now(self, goal: Goal) -> str:
        now = timezone.now()
        overdue = goal.deadline is not None and goal.deadline < now and not goal.is_final
        return relative_time_html(goal.deadline, now, alert=overdue)

    @admin.display(description="review", ordering="needs_review")
    def flagged(self, goal: Goal) -> str:
        """A mark on a flagged goal only: every other row stays blank, so the flagged ones stand out."""
        if not goal.needs_review:
            return ""
        return format_html('<span title="{}" style="color:#b02a37;font-weight:bold">&#9873;</span>',
                           goal.review_reason)

    @admin.display(description="params")
    def params_display(self, goal: Goal) -> str:
        return _pretty_json(goal.params)

    @admin.display(description="result")
    def result_display(self, goal: Goal) -> str:
        return _pretty_json(goal.result)

    @admin.display(description="error")
    def error_display(self, goal: Goal) -> str:
        return error_html(goal.error)

    @admin.display(description="parent")
    def parent_display(self, goal: Goal) -> str:
        return parent_html(goal)

    @admin.display(description="trace")
    def trace_display(self, goal: Goal) -> str:
        """The OpenTelemetry trace of the goal's submit and attempts (``goals.tracing``), to look up in a tracing UI."""
        return trace_id_of(goal.trace_context) or "not traced"

    @admin.display(description="children")
    def children_display(self, goal: Goal) -> str:
        return children_html(goal)

    def get_fieldsets(self, request: HttpRequest, obj: Goal | None = None) -> list:
        """The family's section only on a goal that has a parent or children."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and (obj.parent_id or obj.children_total):
            return fieldsets
        return [fieldset for fieldset in fieldsets if fieldset[0] != "Family"]

    # --- the list: search and queryset -------------------------------------------------------------

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """Exact matches only, each on an index: the admin's default (``UPPER(col) = UPPER(term)``) scans.

        A goal id, any attempt's task id, or an idempotency key in either form: as stored, or as the client
        sent it (see ``idempotency_key_candidates``).
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            ids = [uuid.UUID(term)]
        except ValueError:
            ids = []
        task_goal, owner_pks = self._search_probes(request, term)
        ids += [task_goal] if task_goal else []
        keys = self.idempotency_key_candidates(request, term, owner_pks)
        return queryset.filter(Q(pk__in=ids) | Q(idempotency_key__in=keys)), False

    def _search_probes(self, request: HttpRequest, term: str) -> tuple[Any, list[Any]]:
        """The goal of the attempt whose task id is ``term`` (any attempt's, not only the current one's,
        through the attempts' unique index), and the users whose scoped keys ``term`` may be: two index
        probes, read first in one round trip (OR-ed into the goal query, a subquery would be tested
        against every goal instead of probed)."""
        user_model = get_user_model()
        users = user_model._default_manager.order_by().values_list("pk", flat=True)
        owner = request.GET.get(OwnerFilter.parameter_name)
        if owner:
            users = users.filter(username=owner)  # as OwnerFilter matches it
        users_sql, users_params = users[: MAX_KEY_SEARCH_USERS + 1].query.sql_with_params()
        attempt_t = Attempt._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT (SELECT goal_id FROM {attempt_t} WHERE task_id = %s LIMIT 1),"
                           f" ARRAY({users_sql})", [term, *users_params])
            task_goal, owner_pks = cursor.fetchone()
        return task_goal, owner_pks

    def idempotency_key_candidates(self, request: HttpRequest, term: str, owner_pks: list[Any]) -> list[str]:
        """Every stored key the searched ``term`` may stand for, to be matched exactly.

        The HTTP API stores a signed-in caller's key scoped by the caller (``scoped_idempotency_key``:
        ``user:<pk>:<key>``), while ``submit()`` in Python stores the key as given. So ``term`` is taken
        as typed (a Python key, or a stored key copied from a goal's page) and as each user's scoped key
        (a deleted user's keys are found in their stored form only).

        The scoped keys are computed, not matched by suffix: ``LIKE 'user:%:<key>'`` cannot use the
        btree on ``idempotency_key`` (``goals_goal_idempotency_key``; the unique constraint leads with
        kind) and would read every keyed goal, while an ``IN`` list is one index probe per candidate.
        Its cost follows the users, not the goals: the owner filter, when set, narrows it to that user,
        and past ``MAX_KEY_SEARCH_USERS`` users only the typed form is searched, with a warning.
        """
        if len(owner_pks) > MAX_KEY_SEARCH_USERS:
            self.message_user(request, f"More than {MAX_KEY_SEARCH_USERS} users: a key sent over HTTP is found "
                              "only in its stored form, user:<user id>:<key>, or with the owner filter set.",
                              messages.WARNING)
            owner_pks = []
        return [term, *(scoped_idempotency_key(SimpleNamespace(pk=pk), term) for pk in owner_pks)]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        changelist.queryset = with_cheap_date_hierarchy(changelist.queryset)
        return changelist

    # --- permissions: watch everything, change nothing by form --------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Goal | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Goal | None = None) -> bool:
        # A delete would cascade the goal's attempts and journal away; retention (prune_goals) is the only
        # way goals go. This also drops the "Delete selected" action.
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("goals.review_goal")

    # --- review actions, in bulk from the list and one by one from the detail page -----------------

    def _review(self, request: HttpRequest, queryset: QuerySet, action: ReviewAction) -> HttpResponse | None:
        if queryset[: MAX_BULK_REVIEW + 1].count() > MAX_BULK_REVIEW:
            self.message_user(request, f"Select at most {MAX_BULK_REVIEW} goals for one action; narrow the list "
                              "with filters first.", messages.ERROR)
            return None
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            goal_ids = list(queryset.values_list("pk", flat=True))
            apply_review_action(request, action, goal_ids, form.cleaned_data["reason"], self.message_user)
            return None
        goals = list(queryset.select_related(None).only("id", "kind", "state", "needs_review"))
        return TemplateResponse(request, "admin/goals/goal/review_action.html", {
            **self.admin_site.each_context(request),
            "title": f"{action.verb} goals",
            "opts": self.model._meta,
            "action": action,
            "goals": goals,
            "form": form,
            "bulk": True,
        })

    @admin.action(description="Retry the selected goals", permissions=["review"])
    def retry_goals(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._review(request, queryset, REVIEW_ACTIONS["retry"])

    @admin.action(description="Cancel the selected goals", permissions=["review"])
    def cancel_goals(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._review(request, queryset, REVIEW_ACTIONS["cancel"])

    @admin.action(description="Acknowledge the selected goals (clear the review flag)", permissions=["review"])
    def acknowledge_goals(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._review(request, queryset, REVIEW_ACTIONS["acknowledge"])

    def review_one_view(self, request: HttpRequest, object_id: str, action_name: str) -> HttpResponse:
        if not self.has_review_permission(request):
            raise PermissionDenied
        action = REVIEW_ACTIONS.get(action_name)
        goal = self.get_object(request, object_id)
        if action is None or goal is None:
            raise Http404("no such goal or action")
        change_url = reverse("admin:goals_goal_change", args=[goal.pk])
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            apply_review_action(request, action, [goal.pk], form.cleaned_data["reason"], self.message_user)
            return HttpResponseRedirect(change_url)
        return TemplateResponse(request, "admin/goals/goal/review_action.html", {
            **self.admin_site.each_context(request),
            "title": f"{action.verb} goal {goal.pk}",
            "opts": self.model._meta,
            "action": action,
            "goals": [goal],
            "form": form,
            "bulk": False,
            "original": goal,
        })

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return TemplateResponse(request, "admin/goals/goal/overview.html", {
            **self.admin_site.each_context(request),
            "title": "Goals overview",
            "opts": self.model._meta,
            **overview_context(),
        })

    def kinds_view(self, request: HttpRequest) -> HttpResponse:
        """Each kind's limit, running and held goals and pause; changed by a POST from its forms."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_review_permission(request):
                raise PermissionDenied
            apply_kind_change(request)
            return HttpResponseRedirect(request.path)
        return TemplateResponse(request, "admin/goals/goal/kinds.html", {
            **self.admin_site.each_context(request),
            "title": "Kinds of goals",
            "opts": self.model._meta,
            "can_change": self.has_review_permission(request),
            **kinds_context(),
        })

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("overview/", wrap(self.overview_view), name="goals_goal_overview"),
            path("kinds/", wrap(self.kinds_view), name="goals_goal_kinds"),
            path("<path:object_id>/review/<str:action_name>/", wrap(self.review_one_view),
                 name="goals_goal_review"),
            *super().get_urls(),
        ]

    def render_change_form(self, request: HttpRequest, context: dict, add: bool = False, change: bool = False,
                           form_url: str = "", obj: Goal | None = None) -> HttpResponse:
        # Only the buttons the goal allows, as read for this page (goals.lifecycle.states says which state may follow
        # which); a goal that moves on before the click is refused by the service and reported.
        context.update(can_review=self.has_review_permission(request),
                       review_actions=offered_actions(obj) if obj is not None else [])
        return super().render_change_form(request, context, add, change, form_url, obj)
