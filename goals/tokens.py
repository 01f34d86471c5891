"""API tokens: issuing a key, and finding the user a key belongs to.

Only a SHA-256 digest of each key is stored. Keys carry 256 random bits, so a plain (unsalted, fast)
hash is enough: there is nothing to brute-force, unlike a password. Looking a key up by its digest in a
unique index also leaks nothing useful through timing: an attacker would have to guess digests.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from goals.models import ApiToken

KEY_PREFIX = "gt_"
# ``ApiToken.prefix`` keeps this many leading characters, to tell tokens apart in the admin.
SHOWN_PREFIX_LENGTH = 10
# A real key is 46 characters; anything much longer is refused without hashing or querying.
MAX_KEY_LENGTH = 200


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """Store a new token for ``user`` and return it with its key, which is not kept and cannot be shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:SHOWN_PREFIX_LENGTH], digest=token_digest(key))
    return token, key


def api_token_user(key: str) -> Any | None:
    """The active user a key belongs to, in one query; None for an unknown key or an inactive user."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    try:
        # get(), not first(): first() orders by the model's ordering, a join and a sort for one row.
        token = ApiToken.objects.select_related("user").get(digest=token_digest(key))
    except ApiToken.DoesNotExist:
        return None
    if not token.user.is_active:
        return None
    return token.user
