"""Checking a submission before anything is written: kind, params shape, JSON, size, names and types."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError

from goals.conf import goal_settings
from goals.exceptions import GoalValidationError, UnknownExecutor
from goals.param_types import param_problems
from goals.registry import ExecutorSpec, get_executor, registered_kinds


def validate_submission(kind: Any, params: Any) -> tuple[ExecutorSpec, dict[str, Any], str]:
    """Return the executor, the params as stored, and their JSON; or raise ``GoalValidationError``.

    The params are round-tripped through JSON so that what the executor receives is exactly what the
    goal row holds; their names must fit the executor's signature, and their values its annotations
    (``goals.param_types``), each bad one named as ``params.<name>``.
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
    return spec, stored, encoded
