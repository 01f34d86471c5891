"""Executors for ``make demo``: one that reports progress, one that always fails, one that is slow."""

import time

from goals.api import executor


@executor("demo.report", max_attempts=2, timeout=120)
def build_report(ctx, *, pages: int = 20, seconds_per_page: float = 0.25):
    for page in range(1, pages + 1):
        time.sleep(seconds_per_page)
        ctx.progress(page, pages, f"rendered page {page} of {pages}")
    return {"pages": pages, "url": f"/reports/{ctx.goal_id}.pdf"}


class UpstreamUnavailable(Exception):
    """The remote system the demo pretends to call is down."""


@executor("demo.flaky_sync", max_attempts=3, retry_backoff=1.0, timeout=60)
def sync_upstream(ctx, *, account: str):
    ctx.progress(0, 1, f"calling upstream for {account}")
    raise UpstreamUnavailable(f"upstream refused account {account} (attempt {ctx.attempt})")


@executor("demo.slow_export", max_attempts=1, timeout=600, heartbeat_timeout=60)
def export_rows(ctx, *, rows: int = 600, rows_per_second: float = 10.0):
    for done in range(1, rows + 1):
        time.sleep(1.0 / rows_per_second)
        ctx.progress(done, rows, f"exported {done} rows")
    return {"rows": rows}
