"""The admin's page of kinds: each kind's concurrency limit, its running and held goals, and whether it is
paused; with forms to pause it (a reason is required), resume it and set its limit.

The changes go through ``goals.submitting.controls``, journaled (``KindEvent``) with the person's user name,
and need the ``goals.review_goal`` permission, as the review actions do; viewing needs view permission.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from goals.actors import person_name
from goals.exceptions import GoalValidationError
from goals.models import Cause, KindEvent
from goals.selectors import kind_statuses
from goals.submitting import controls

RECENT_CHANGES = 20


class KindChangeForm(forms.Form):
    """One change to one kind: ``pause`` (with its reason), ``resume``, or ``limit`` (empty: the executor's)."""

    kind = forms.CharField()
    change = forms.ChoiceField(choices=[("pause", "pause"), ("resume", "resume"), ("limit", "limit")])
    reason = forms.CharField(required=False, max_length=1000)
    concurrency = forms.IntegerField(required=False, min_value=1)


def apply_kind_change(request: HttpRequest) -> None:
    """Apply the posted change and say what happened (``messages``); bad input is said, nothing written."""
    form = KindChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()))
        return
    data, actor = form.cleaned_data, person_name(request.user)
    kind, reason = data["kind"], data["reason"]
    try:
        if data["change"] == "pause":
            changed = controls.pause(kind=kind, actor=actor, reason=reason)
            messages.success(request, f"Paused {kind}: none of its goals starts until it is resumed."
                             if changed else f"Nothing changed: {kind} was paused already.")
        elif data["change"] == "resume":
            resumed = controls.resume(kind=kind, actor=actor, cause=Cause.ADMIN, reason=reason)
            messages.success(request, f"Resumed {kind}: {resumed} held goal(s) sent, oldest first.")
        else:
            control = controls.set_concurrency(kind=kind, limit=data["concurrency"], actor=actor, cause=Cause.ADMIN,
                                               reason=reason)
            limit = control.concurrency or "its executor's own"
            messages.success(request, f"Limit of {kind}: at most {limit} running at once, from the next start.")
    except GoalValidationError as exc:
        messages.error(request, "; ".join(f"{field}: {' '.join(problems)}"
                                          for field, problems in exc.message_dict.items()))


def kinds_context() -> dict[str, Any]:
    return {"kinds": kind_statuses(), "changes": KindEvent.objects.all()[:RECENT_CHANGES]}
