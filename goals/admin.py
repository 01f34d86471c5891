"""Watching goals in the admin: state, progress, attempts and journal, all read-only.

Goals are changed only through the services, never by editing a form.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from goals.models import Attempt, Goal, GoalEvent, ReconciliationFinding, ReconciliationReport
from goals.reconciler.export import findings_as_csv, reports_as_json


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
    list_filter = ["state", "needs_review", "kind"]
    list_select_related = ["owner"]
    search_fields = ["=id", "=idempotency_key", "=task_id"]
    show_full_result_count = False
    readonly_fields = ["id", "kind", "params", "state", "attempt", "max_attempts", "progress_current",
                       "progress_total", "progress_message", "result", "error", "task_id", "owner",
                       "idempotency_key", "created_at", "queued_at", "started_at", "heartbeat_at", "finished_at",
                       "deadline", "needs_review", "review_reason"]
    inlines = [AttemptInline, GoalEventInline]

    @admin.display(description="progress")
    def progress(self, goal: Goal) -> str:
        percent = goal.progress_percent
        return f"{percent:.0f}%" if percent is not None else str(goal.progress_current or "")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReconciliationFindingInline(ReadOnlyInline):
    model = ReconciliationFinding
    fields = ["kind", "action", "goal_id", "task_id", "before_state", "after_state", "attempt", "evidence"]
    readonly_fields = fields


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(admin.ModelAdmin):
    """Reports are written by passes only: browsable and exportable, never edited."""

    list_display = ["started_at", "trigger", "dry_run", "goals_scanned", "findings_total", "needs_review",
                    "duration_seconds", "host"]
    list_filter = ["trigger", "dry_run"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    readonly_fields = [field.name for field in ReconciliationReport._meta.fields]
    inlines = [ReconciliationFindingInline]
    actions = ["export_csv", "export_json"]

    @admin.display(description="findings")
    def findings_total(self, report: ReconciliationReport) -> int:
        return report.findings_total

    @admin.action(description="Export findings of the selected reports as CSV")
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:
        findings = ReconciliationFinding.objects.filter(report__in=queryset).order_by("report_id", "id")
        return _download(findings_as_csv(findings), "text/csv", "reconciliation-findings.csv")

    @admin.action(description="Export the selected reports as JSON")
    def export_json(self, request: HttpRequest, queryset) -> HttpResponse:
        return _download(reports_as_json(queryset.prefetch_related("findings")), "application/json",
                         "reconciliation-reports.json")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReconciliationReport | None = None) -> bool:
        return False


def _download(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
