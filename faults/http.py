"""The HTTP client side of the scenarios that go through the API (``urllib``: nothing to install)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from goals.tokens import api_token_create


@dataclass(frozen=True)
class Answer:
    status: int
    """The HTTP status; 0 when no answer came (connection refused or reset, timeout)."""
    seconds: float
    body: dict[str, Any]
    etag: str | None


def api_key(username: str) -> str:
    """A new user and an API token acting as it: the key."""
    user = get_user_model().objects.create_user(username=username[:150])
    _, key = api_token_create(user=user, name="fault-injection suite")
    return key


def call(url: str, key: str, *, method: str = "GET", body: dict | None = None, etag: str | None = None,
         timeout: float = 30) -> Answer:
    headers = {"Authorization": f"Token {key}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if etag:
        headers["If-None-Match"] = etag
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     method=method, headers=headers)
    clock = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text, tag = response.status, response.read(), response.headers.get("ETag")
    except urllib.error.HTTPError as exc:
        status, text, tag = exc.code, exc.read(), exc.headers.get("ETag")
    except OSError:
        return Answer(0, time.monotonic() - clock, {}, None)
    seconds = time.monotonic() - clock
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        parsed = {}
    return Answer(status, seconds, parsed if isinstance(parsed, dict) else {}, tag)


def submit_goal(base: str, key: str, run: str, i: int) -> Answer:
    return call(f"{base}/api/goals/", key, method="POST", body={
        "kind": "faults.effect", "params": {"run": run, "i": i}, "idempotency_key": f"{run}-{i}"})
