"""Checking a submission before anything is written: kind, params shape, JSON, size, names and types."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from goals.conf import goal_settings
from goals.exceptions import GoalValidationError, UnknownExecutor
from goals.executors.limits import LimitKeys, limit_keys
from goals.executors.param_types import param_problems
from goals.executors.registry import ExecutorSpec, get_executor, registered_kinds

# One item checked for submit: its params as stored, their JSON, and the keys its kind's limits count it under.
Checked = tuple[Any, str, LimitKeys]


def validate_submission(kind: Any, params: Any) -> tuple[ExecutorSpec, dict[str, Any], str, LimitKeys]:
    """Return the executor, the params as stored, their JSON and the keys its concurrency and rate limits
    count the goal under (``goals.executors.limits``); or raise ``GoalValidationError``.

    The params are round-tripped through JSON so that what the executor receives is exactly what the
    goal row holds; their names must fit the executor's signature, and their values its annotations
    (``goals.executors.param_types``), each bad one named as ``params.<name>``.
    """
    if not isinstance(kind, str):
        raise GoalValidationError({"kind": f"must be a string, not {type(kind).__name__}"}, code="invalid")
    try:
        spec = get_executor(kind)
    except UnknownExecutor:
        known = ", ".join(registered_kinds()) or "none"
        raise GoalValidationError({"kind": f"unknown kind {kind!r} (registered: {known})"},
                                  code="unknown_kind") from None
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise GoalValidationError({"params": f"must be a JSON object, not {type(params).__name__}"},
                                  code="invalid")
    try:
        encoded = json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise GoalValidationError({"params": f"not JSON: {exc}"}, code="not_json") from exc
    limit = goal_settings().max_params_bytes
    size = len(encoded.encode())
    if size > limit:
        raise GoalValidationError(
            {"params": f"{size} bytes as JSON, more than GOALS_MAX_PARAMS_BYTES={limit}"}, code="too_large"
        )
    stored = json.loads(encoded)
    try:
        # The first parameter is the execution context, supplied by the worker.
        spec.signature.bind(None, **stored)
    except TypeError as exc:
        raise GoalValidationError({"params": f"do not fit executor {kind!r}: {exc}"}, code="bad_params") from exc
    problems = param_problems(spec.param_types, stored)
    if problems:
        # Each message keeps the code: a dict given to ValidationError drops the one passed beside it.
        raise GoalValidationError(
            {f"params.{name}": ValidationError(problem, code="bad_params") for name, problem in problems.items()},
            code="bad_params",
        )
    return spec, stored, encoded, limit_keys(kind, spec.concurrency, spec.rate, stored)


# The longest key a goal may carry (the column's length); an idempotency key, or a child's among its siblings.
MAX_KEY_LENGTH = 255


def key_problem(key: Any, *, required: bool = False, max_length: int = MAX_KEY_LENGTH) -> str | None:
    """What is wrong with a goal's key, if anything: the one rule for idempotency keys (``submit``, the
    HTTP API, which leaves room for its scope) and children's keys (``spawn``, where a key is required)."""
    if key is None and not required:
        return None
    if not isinstance(key, str) or not 0 < len(key) <= max_length:
        return f"must be a string of 1 to {max_length} characters"
    return None


def validate_options(idempotency_key: Any, deadline: Any) -> None:
    if problem := key_problem(idempotency_key):
        raise GoalValidationError({"idempotency_key": problem}, code="invalid")
    if deadline is not None and (not isinstance(deadline, datetime) or timezone.is_naive(deadline)):
        raise GoalValidationError({"deadline": "must be a timezone-aware datetime"}, code="invalid")


def start_time(*, run_after: Any, countdown: Any, deadline: datetime | None) -> datetime | None:
    """When the goal may start (None: now), from ``run_after`` (an aware datetime) or ``countdown`` (seconds
    from now), never both; a deadline before it is refused, since the goal could only expire."""
    if run_after is not None and countdown is not None:
        raise GoalValidationError({"countdown": "give run_after or countdown, not both"}, code="invalid")
    if countdown is not None:
        problem = {"countdown": "must be a number of seconds, 0 or more, that ends before the year 10000"}
        if isinstance(countdown, bool) or not isinstance(countdown, int | float) or not countdown >= 0:
            raise GoalValidationError(problem, code="invalid")
        try:
            run_after = timezone.now() + timedelta(seconds=countdown)
        except OverflowError:  # infinite, or past what a datetime holds
            raise GoalValidationError(problem, code="invalid") from None
    elif run_after is not None and (not isinstance(run_after, datetime) or timezone.is_naive(run_after)):
        raise GoalValidationError({"run_after": "must be a timezone-aware datetime"}, code="invalid")
    if run_after is not None and deadline is not None and deadline <= run_after:
        raise GoalValidationError({"deadline": "is not after the goal's start time (run_after): it could only expire"},
                                  code="invalid")
    return run_after


def checked_items(kind: str, params_list: Sequence[Any], keys: Sequence[str | None], *,
                  key_field: str = "idempotency_key") -> tuple[ExecutorSpec, list[Checked]]:
    """The executor, and each item's stored params, their JSON and its limit keys; or one ``GoalValidationError`` naming
    every bad item by index (an unknown kind is said once). ``key_field`` names the items' keys: an
    ``idempotency_key`` may be None, a child's ``key`` may not."""
    problems: dict[str, Any] = {}
    checked: list[Checked] = []
    spec = None
    for index, params in enumerate(params_list):
        try:
            spec, stored, encoded, key = validate_submission(kind, params)
        except GoalValidationError as exc:
            if "kind" in exc.message_dict:
                raise  # the same for every item: said once
            problems.update({f"{index}.{field}": errors for field, errors in exc.error_dict.items()})
            continue
        checked.append((stored, encoded, key))
    for index, key in enumerate(keys):
        if problem := key_problem(key, required=key_field != "idempotency_key"):
            problems[f"{index}.{key_field}"] = problem
    if problems or spec is None:
        raise GoalValidationError(problems, code="invalid")
    return spec, checked
