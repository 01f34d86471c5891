"""Schedules in the admin: their last and next period, each period's goal, pause, resume, run by hand.

A person edits what a schedule does (kind, params, crontab or interval, time zone, catch-up); when and
whether it runs changes only through the actions, each journaled with their name (``goals.periodic``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from goals.actors import person_name
from goals.admin.display import state_badge, timestamp_html
from goals.exceptions import GoalValidationError
from goals.models import Goal, Schedule, ScheduleEvent
from goals.periodic import periods

RECENT = 20


class ScheduleForm(forms.ModelForm):
    """Checked as ``define_schedule`` checks it: each problem on its own field."""

    class Meta:
        model = Schedule
        fields = ["name", "kind", "params", "crontab", "every", "timezone", "catch_up", "catch_up_limit", "owner"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            periods.check(kind=data.get("kind", ""), params=data.get("params"), crontab=data.get("crontab", ""),
                          every=data.get("every"), timezone_name=data.get("timezone", ""),
                          catch_up=data.get("catch_up", ""), catch_up_limit=data.get("catch_up_limit"))
        except GoalValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ["name", "kind", "calendar", "catch_up", "paused", "last_period_goal", "next_period_at"]
    list_filter = ["paused", "catch_up", "kind"]
    search_fields = ["name", "kind"]
    actions = ["pause_selected", "resume_selected", "trigger_selected"]
    readonly_fields = ["paused", "last_period_goal", "next_period_at", "recent_goals", "journal"]

    def get_readonly_fields(self, request: HttpRequest, obj: Schedule | None = None) -> list[str]:
        # Renaming would leave code that defines it by name making a second one.
        return [*self.readonly_fields, "name"] if obj else []

    def get_fields(self, request: HttpRequest, obj: Schedule | None = None) -> list[str]:
        fields = list(ScheduleForm.Meta.fields)
        return [*fields, *self.readonly_fields] if obj else fields

    @admin.display(description="periods")
    def calendar(self, obj: Schedule) -> str:
        return f"{obj.crontab} ({obj.timezone})" if obj.crontab else f"every {obj.every:g} s"

    @admin.display(description="last period")
    def last_period_goal(self, obj: Schedule) -> str:
        if obj.last_period is None:
            return "-"
        goal = Goal.objects.filter(kind=obj.kind, idempotency_key=periods.period_key(obj, obj.last_period)).first()
        shown = timestamp_html(obj.last_period)
        if goal is None:
            return shown
        return format_html('<a href="{}">{}</a> {}', reverse("admin:goals_goal_change", args=[goal.pk]), shown,
                           state_badge(goal.state))

    @admin.display(description="next period", ordering="next_period")
    def next_period_at(self, obj: Schedule) -> str:
        return "paused" if obj.paused else timestamp_html(obj.next_period)

    @admin.display(description="recent periods")
    def recent_goals(self, obj: Schedule) -> str:
        goals = obj.goals.order_by("-id")[:RECENT]
        return format_html_join("", '<div><a href="{}">{}</a> {}</div>', (
            (reverse("admin:goals_goal_change", args=[goal.pk]), timestamp_html(periods.period_of(goal)),
             state_badge(goal.state)) for goal in goals)) or "-"

    @admin.display(description="journal")
    def journal(self, obj: Schedule) -> str:
        rows = obj.events.all()[:RECENT]
        return format_html_join("", "<div>{} {} {} {} {}</div>", (
            (timestamp_html(event.created_at), event.get_event_display(),
             f"x{event.count}" if event.count > 1 else "", timestamp_html(event.period) if event.period else "",
             f"by {event.actor}" if event.actor else "") for event in rows)) or "-"

    def save_model(self, request: HttpRequest, obj: Schedule, form: forms.ModelForm, change: bool) -> None:
        # Through the one service, which journals the change and moves the next period if the calendar moved.
        saved = periods.define(name=obj.name, kind=obj.kind, params=obj.params, crontab=obj.crontab,
                               every=obj.every, timezone_name=obj.timezone, catch_up=obj.catch_up,
                               catch_up_limit=obj.catch_up_limit, owner=obj.owner_id,
                               actor=person_name(request.user))
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description="Pause the selected schedules")
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        paused = sum(periods.pause(s, actor=person_name(request.user)) for s in queryset)
        self.message_user(request, f"{paused} schedule(s) paused.", messages.SUCCESS)

    @admin.action(description="Resume the selected schedules (from their next period)")
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        resumed = sum(periods.resume(s, actor=person_name(request.user)) for s in queryset)
        self.message_user(request, f"{resumed} schedule(s) resumed.", messages.SUCCESS)

    @admin.action(description="Run the latest period of the selected schedules now, if it has no goal")
    def trigger_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            try:
                goal, created = periods.trigger(schedule, actor=person_name(request.user))
            except GoalValidationError as exc:
                self.message_user(request, f"{schedule.name}: {exc.messages[0]}", messages.ERROR)
                continue
            link = reverse("admin:goals_goal_change", args=[goal.pk])
            said = "given its goal" if created else "had its goal already"
            self.message_user(request, format_html('{}: the period <a href="{}">{}</a> {}.', schedule.name, link,
                                                   timestamp_html(periods.period_of(goal)), said), messages.SUCCESS)


@admin.register(ScheduleEvent)
class ScheduleEventAdmin(admin.ModelAdmin):
    """The schedules' journal, read-only."""

    list_display = ["created_at", "schedule", "event", "period", "count", "actor"]
    list_filter = ["event"]
    list_select_related = ["schedule"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ScheduleEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ScheduleEvent | None = None) -> bool:
        return False
