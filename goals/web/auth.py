"""Who is calling: a token (``Authorization: Token <key>`` or ``Bearer <key>``) or a Django session.

Token requests are not subject to CSRF: a browser never adds an ``Authorization`` header on its own, so
a forged cross-site request cannot carry one. Session requests are, on every unsafe method, with the
check ``CsrfViewMiddleware`` would have made (the API views are exempt from the middleware itself so
that token clients need no CSRF token), as Django REST framework's ``SessionAuthentication`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware

from goals.actors import person_name
from goals.tokens import api_token_user
from goals.web.http import ApiError

TOKEN_SCHEMES = frozenset({"token", "bearer"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request and how they proved it (``token`` or ``session``)."""

    user: Any
    scheme: str

    @property
    def is_staff(self) -> bool:
        return bool(self.user.is_staff)

    @property
    def username(self) -> str:
        return person_name(self.user)


def unauthenticated(detail: str) -> ApiError:
    return ApiError(401, "unauthenticated", headers={"WWW-Authenticate": 'Token realm="api"'}, detail=detail)


def authenticate(request: HttpRequest) -> Caller:
    """The caller of ``request``, or ``ApiError`` 401 (no or bad credentials) or 403 (CSRF check failed).

    A token header wins over a session cookie; a bad token is refused rather than falling back to the
    session, so a client never acts as someone other than the token says.
    """
    key = _token_key(request)
    if key is not None:
        user = api_token_user(key)
        if user is None:
            raise unauthenticated("invalid token, or its user is inactive")
        return Caller(user=user, scheme="token")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        raise unauthenticated("send 'Authorization: Token <key>', or log in for a session")
    if request.method not in SAFE_METHODS:
        _enforce_csrf(request)
    return Caller(user=user, scheme="session")


def _token_key(request: HttpRequest) -> str | None:
    # Other schemes (Basic from a proxy, say) are not ours: the session may still authenticate.
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in TOKEN_SCHEMES:
        return None
    return key.strip()


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> str:  # type: ignore[override]
        # The reason instead of the middleware's HTML 403 page: the API answers in JSON.
        return reason


def _enforce_csrf(request: HttpRequest) -> None:
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)  # puts the CSRF cookie in request.META, which process_view compares
    reason = check.process_view(request, None, (), {})
    if reason:
        raise ApiError(403, "csrf_failed", detail=f"CSRF check failed: {reason}")
