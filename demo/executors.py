"""Executors for ``make demo``: one that reports progress, one that always fails, one that is slow, and
a monthly report made of one child goal per account, merged once they have all ended."""

import time

from goals.api import WAIT_FOR_ALL, executor

ACCOUNTS = [f"account-{n:02d}" for n in range(1, 21)]


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


# Two attempts: Ctrl-C in the demo cuts the first short and hands its message back to the queue; at the
# next start that message opens the second attempt, which exports the rows again (the export is idempotent).
@executor("demo.slow_export", max_attempts=2, timeout=600, heartbeat_timeout=60)
def export_rows(ctx, *, rows: int = 600, rows_per_second: float = 10.0):
    for done in range(1, rows + 1):
        time.sleep(1.0 / rows_per_second)
        ctx.progress(done, rows, f"exported {done} rows")
    return {"rows": rows}


@executor("demo.monthly_report", max_attempts=2, timeout=60)
def monthly_report(ctx, *, month: str):
    """The parent: one child goal per account, then hand back until they have all ended."""
    ctx.spawn_many("demo.account_report", [{"account": account, "month": month} for account in ACCOUNTS],
                   keys=ACCOUNTS)
    return ctx.wait_for_children(then="demo.merge_reports", policy=WAIT_FOR_ALL)


@executor("demo.account_report", max_attempts=2, retry_backoff=1.0, timeout=60)
def account_report(ctx, *, account: str, month: str):
    pages = 4 + int(account[-2:]) % 5
    for page in range(1, pages + 1):
        time.sleep(0.15)  # short: the demo's other samples queue behind these 20 (a retry is a new message)
        ctx.progress(page, pages, f"{account}: page {page} of {pages}")
    return {"account": account, "pages": pages}


@executor("demo.merge_reports", max_attempts=2, timeout=60)
def merge_reports(ctx, *, month: str):
    """The parent's continuation: the accounts' reports merged into one."""
    children = ctx.children()
    done = [child.result for child in children if child.succeeded]
    return {"month": month, "accounts": len(done), "pages": sum(report["pages"] for report in done),
            "missing": [child.key for child in children if not child.succeeded]}
