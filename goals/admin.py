"""Watching goals in the admin: state, progress, attempts and journal, all read-only.

Goals are changed only through the services, never by editing a form.
"""

from __future__ import annotations

from django.contrib import admin

from goals.models import Attempt, Goal, GoalEvent


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
    fields = ["number", "task_id", "worker", "created_at", "queued_at", "started_at", "finished_at", "outcome",
              "error"]
    readonly_fields = fields


class GoalEventInline(ReadOnlyInline):
    model = GoalEvent
    fields = ["created_at", "event", "transition", "from_state", "to_state", "attempt", "cause", "actor",
              "details"]
    readonly_fields = fields
    ordering = ["-id"]


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "state", "progress", "attempt", "max_attempts", "owner", "created_at",
                    "heartbeat_at", "deadline"]
    list_filter = ["state", "kind"]
    list_select_related = ["owner"]
    search_fields = ["=id", "=idempotency_key", "=task_id"]
    show_full_result_count = False
    readonly_fields = ["id", "kind", "params", "state", "attempt", "max_attempts", "progress_current",
                       "progress_total", "progress_message", "result", "error", "task_id", "owner",
                       "idempotency_key", "created_at", "queued_at", "started_at", "heartbeat_at", "finished_at",
                       "deadline"]
    inlines = [AttemptInline, GoalEventInline]

    @admin.display(description="progress")
    def progress(self, goal: Goal) -> str:
        percent = goal.progress_percent
        return f"{percent:.0f}%" if percent is not None else str(goal.progress_current or "")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
