"""Who did it: the journal's ``actor`` for a person and for a process, named one way everywhere."""

from __future__ import annotations

import os
import socket
from typing import Any


def person_name(who: Any) -> str:
    """A user's user name, a name given as text as it is, and '' for anyone else (None, a bare id)."""
    if isinstance(who, str):
        return who
    return who.get_username() if hasattr(who, "get_username") else ""


def process_name() -> str:
    """``host:pid`` of this process, the actor of what it does on its own behalf (the publisher, a worker's
    main process, the reconciler)."""
    return f"{socket.gethostname()}:{os.getpid()}"
