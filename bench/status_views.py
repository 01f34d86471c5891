"""The status view the tutorials teach, for ``status_reads.py``: ``AsyncResult(task_id)`` as JSON, behind
the same authentication as goaltrack's status endpoint (``goals.web.endpoint.api_endpoint``)."""

from __future__ import annotations

from typing import Any

from celery import states
from celery.result import AsyncResult
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from goals.web.endpoint import api_endpoint


@api_endpoint("GET")
def plain_status(request: HttpRequest, caller: Any, task_id: str) -> HttpResponse:
    result = AsyncResult(task_id)
    state = result.state
    return JsonResponse({
        "task_id": task_id,
        "state": state,
        "result": result.result if state == states.SUCCESS else None,
        "progress": result.info if state == "PROGRESS" else None,
    })


urlpatterns = [
    path("plain/status/<str:task_id>/", plain_status),
    path("", include("config.urls")),
]
