"""The wrapper every API view runs in: method, size and authentication checks, errors as JSON.

Each endpoint answers in JSON, refuses other methods with 405 and ``Allow``, refuses an oversized body
with 413 before reading it, and gets an authenticated ``Caller`` (or a 401/403) before its own code runs.
A database that does not answer is a 503 with ``Retry-After``, in JSON too, not Django's HTML error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from goals.conf import goal_settings
from goals.db import DATABASE_UNREACHABLE
from goals.web.auth import authenticate
from goals.web.http import ApiError, invalid, too_large

View = Callable[..., HttpResponse]
logger = logging.getLogger(__name__)
# What a client waits before sending again a request the database could not serve.
RETRY_AFTER_SECONDS = 1


def database_unavailable(exc: Exception) -> ApiError:
    """503 for a database that did not answer: the client sends the same request again. A write may have
    been committed before the connection broke; its idempotency or event key makes the retry apply it once."""
    logger.warning("database unavailable, answered 503: %s", exc)
    return ApiError(503, "unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                    detail="the database did not answer; send the same request again (a write's idempotency_key "
                           "or event_key makes a retry apply it once)")


def default_body_limit() -> int:
    return goal_settings().api_max_body_bytes


def bulk_body_limit() -> int:
    """A bulk submit's limit, never above Django's own (which would refuse it first, with another figure)."""
    django_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    bulk = goal_settings().api_max_bulk_body_bytes
    return bulk if django_limit is None else min(bulk, django_limit)


def _check_declared_length(request: HttpRequest, limit: int) -> None:
    # Refused before anything (authentication, the CSRF check's form parsing) reads the body.
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise invalid({"Content-Length": "must be an integer"}) from None
    if declared > limit:
        raise too_large(limit)


def api_endpoint(*methods: str, public: bool = False,
                 body_limit: Callable[[], int] = default_body_limit) -> Callable[[View], View]:
    """Wrap ``view(request, caller, **url_kwargs)`` with the API's method, size and authentication checks.

    ``caller`` is a ``goals.web.auth.Caller``, or None for a ``public`` endpoint. The view is exempt from
    the CSRF middleware because token clients need no CSRF token; ``authenticate`` applies the same
    check to session-authenticated requests itself. A body larger than ``body_limit()`` bytes is 413,
    by its declared length before authentication and by what was read after (a body without one).
    """
    allowed = ", ".join(methods)

    def decorate(view: View) -> View:
        @wraps(view)
        def endpoint(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise ApiError(405, "method_not_allowed", headers={"Allow": allowed},
                                   detail=f"{request.method} is not allowed here; use {allowed}")
                limit = body_limit()
                _check_declared_length(request, limit)
                caller = None if public else authenticate(request)
                if request.method == "POST" and len(request.body) > limit:
                    raise too_large(limit)
                response = view(request, caller, **kwargs)
            except ApiError as exc:
                response = exc.response()
            except RequestDataTooBig:
                response = too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE).response()
            except DATABASE_UNREACHABLE as exc:
                response = database_unavailable(exc).response()
            # Per-user answers: shared caches must not keep them, browsers must revalidate (ETag).
            response.headers.setdefault("Cache-Control", "private, no-cache")
            patch_vary_headers(response, ("Authorization",))
            return response

        return csrf_exempt(endpoint)

    return decorate
