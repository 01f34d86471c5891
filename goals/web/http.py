"""JSON in and out: error responses, conditional (ETag) responses, reading a bounded JSON body.

Views raise ``ApiError`` instead of building error responses by hand, which keeps every error body in
one shape: ``{"error": "<code>", ...}`` (``goals.web.endpoint`` turns it into the response).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

JSON = "application/json"


class ApiError(Exception):
    """Raised anywhere under an endpoint to answer ``status`` with ``{"error": error, **details}``."""

    def __init__(self, status: int, error: str, *, headers: Mapping[str, str] | None = None, **details: Any) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.headers = dict(headers or {})
        self.details = details

    def response(self) -> HttpResponse:
        return json_response({"error": self.error, **self.details}, status=self.status, headers=self.headers)


def invalid(fields: Mapping[str, str | list[str]]) -> ApiError:
    """400 naming each offending field (or query parameter) with its problems."""
    named = {name: [problems] if isinstance(problems, str) else list(problems) for name, problems in fields.items()}
    return ApiError(400, "invalid", fields=named)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", detail=f"the request body must not exceed {limit} bytes", limit=limit)


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder).encode()


def json_response(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(json_bytes(data), status=status, headers=headers, content_type=JSON)


def conditional_json_response(request: HttpRequest, data: Any) -> HttpResponse:
    """200 with a strong ETag (a hash of the body), or 304 when ``If-None-Match`` names it.

    The body is built first in any case: the ETag is only as cheap as the one query behind it, and a
    hash of exactly what would be sent can never be stale.
    """
    body = json_bytes(data)
    etag = f'"{hashlib.sha256(body).hexdigest()}"'
    # If-None-Match compares weakly (RFC 9110, 13.1.2): a W/ prefix on the client's tag still matches.
    offered = {tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))}
    if etag in offered or "*" in offered:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=JSON)
    response["ETag"] = etag
    return response


def read_json_object(request: HttpRequest, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object; ``{}`` for an empty optional body. Raises ``ApiError`` (400/415)."""
    body = request.body  # bounded by ``api_endpoint``
    if not body:
        if required:
            raise invalid({"body": "a JSON object is required"})
        return {}
    if request.content_type != JSON:
        raise ApiError(415, "unsupported_media_type", detail=f"send the body as {JSON}")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid({"body": f"not valid JSON: {exc}"}) from None
    if not isinstance(data, dict):
        raise invalid({"body": f"must be a JSON object, not {type(data).__name__}"})
    return data
