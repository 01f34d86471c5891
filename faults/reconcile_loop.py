"""``python -m faults.reconcile_loop``: the reconciler as beat schedules it, in a loop of its own.

Each pass is ``scheduled_pass`` (the task beat runs), every ``GOALS_RECONCILE_INTERVAL`` seconds.
"""

from __future__ import annotations

import time

import django


def main() -> None:
    django.setup()
    from django.db import close_old_connections

    import faults.executors  # noqa: F401  (the per-kind heartbeat timeouts are read from the registry)
    from goals.conf import goal_settings
    from goals.reconciler.passes import scheduled_pass

    every = goal_settings().reconcile_interval
    while True:
        started = time.monotonic()
        close_old_connections()  # one broken by a database outage is replaced, not reused
        try:
            print(scheduled_pass(), flush=True)
        except Exception as exc:  # a database or broker outage: the next pass tries again
            print(f"pass failed: {type(exc).__name__}: {exc}", flush=True)
        time.sleep(max(0.0, every - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
