"""The worker's request class for goal tasks: a hard time limit reaches the goal on every supported Celery.

When the pool kills an attempt at its hard time limit, the worker's main process handles it
(``Request.on_timeout``). Celery 5.7 calls the task's ``on_failure`` there; before 5.7 only the result
backend is told, so the goal would stay running (its message already acknowledged) until the reconciler
found it silent and sent it again. Here, as in 5.7, the goal's failure transition runs at once.
"""

from __future__ import annotations

import celery
from billiard.einfo import ExceptionInfo
from celery.exceptions import TimeLimitExceeded
from celery.worker import state
from celery.worker.request import Request

# Celery 5.7 and later call on_failure for a hard time limit themselves: calling it again would only be
# refused (the goal is failed already) and journaled as ignored.
CELERY_CALLS_ON_FAILURE_AT_HARD_LIMIT = tuple(celery.VERSION[:2]) >= (5, 7)


class GoalRequest(Request):
    def on_timeout(self, soft: bool, timeout: float) -> None:
        super().on_timeout(soft, timeout)
        # A cold shutdown kills tasks through the same path: that is no failure of the attempt.
        if soft or CELERY_CALLS_ON_FAILURE_AT_HARD_LIMIT or state.should_terminate:
            return
        exc = TimeLimitExceeded(timeout)
        try:
            raise exc
        except TimeLimitExceeded:
            einfo = ExceptionInfo()
        self.task.on_failure(exc, self.id, self.args, self.kwargs, einfo)
