"""A real browser for the suite's page tests: Debian's Chromium, driven by Playwright, signed in as a user.

``make browser`` installs Chromium where it can (``scripts/ensure-debian-package``); where it is missing, the
browser tests skip, except under ``GOALS_REQUIRE_BROWSER`` (set by CI), where a skip would hide them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import Client

CHROMIUM = Path("/usr/bin/chromium")
# As the machine's own probe starts it: without the background-networking flag Chromium keeps trying to
# reach Google's hosts, which a closed network refuses.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def session_cookie(user: Any, live_server_url: str) -> dict:
    client = Client()
    client.force_login(user)
    morsel = client.cookies["sessionid"]
    return {"name": "sessionid", "value": morsel.value, "url": live_server_url}


@contextmanager
def signed_in_page(user: Any, live_server_url: str, *, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A Playwright page of ``width`` x ``height`` CSS pixels whose session is ``user``'s."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (make browser installs Debian's chromium, as root with apt-get)"
        if os.environ.get("GOALS_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}; GOALS_REQUIRE_BROWSER is set (CI), so this test may not skip")
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    cookie = session_cookie(user, live_server_url)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies([cookie])
            yield context.new_page()
        finally:
            browser.close()


def in_another_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``function`` in a thread of its own and return its result.

    Inside ``signed_in_page`` Playwright runs an event loop in this thread, and Django refuses the ORM
    there (``SynchronousOnlyOperation``); a test that changes a goal while the page watches calls here.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = function(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
