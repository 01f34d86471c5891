"""Reconciliation reports in the admin: browsable, exportable (CSV, JSON), never edited."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from goals.admin.goal import ReadOnlyInline
from goals.models import ReconciliationFinding, ReconciliationReport
from goals.reconciler.export import findings_as_csv, reports_as_json


class ReconciliationFindingInline(ReadOnlyInline):
    model = ReconciliationFinding
    fields = ["kind", "action", "goal_link", "task_id", "before_state", "after_state", "attempt", "evidence"]
    readonly_fields = fields

    @admin.display(description="goal")
    def goal_link(self, finding: ReconciliationFinding) -> str:
        if finding.goal_id is None:
            return "-"
        # The goal may have been pruned since: the link then leads to the admin's "does not exist" notice.
        return format_html('<a href="{}">{}</a>', reverse("admin:goals_goal_change", args=[finding.goal_id]),
                           finding.goal_id)


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

    def export_one_view(self, request: HttpRequest, object_id: str, fmt: str) -> HttpResponse:
        """The detail page's export links: one report as CSV (its findings) or JSON."""
        report = self.get_object(request, object_id)
        if report is None or fmt not in ("csv", "json") or not self.has_view_permission(request, report):
            raise Http404("no such report or format")
        reports = ReconciliationReport.objects.filter(pk=report.pk)
        if fmt == "csv":
            return self.export_csv(request, reports)
        return self.export_json(request, reports)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.export_one_view)
        return [
            path("<path:object_id>/export.<str:fmt>", view, name="goals_reconciliationreport_export"),
            *super().get_urls(),
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReconciliationReport | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReconciliationReport | None = None) -> bool:
        # Reports are history, like the journal: retention (prune_goals) removes them, nobody else.
        return False


def _download(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
