"""Who is calling: an API token, an IdP access token, or a signed-in browser session.

Every route works for one organization and one role, the `Caller`: a token's organization (with
the lesser of the token's and the member's roles), the IdP's organization, or the session's
current organization.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.throttling import BaseThrottle

from accounts.models import ApiToken, Organization, Role, User
from accounts.tokens import effective_role, looks_like_token, verify_token
from api.oidc import looks_like_jwt, verify_access_token

DEFAULT_RATE_PER_MINUTE = 600


@dataclass
class Caller:
    user: User
    organization: Organization
    role: str
    via: str  # "token", "oidc" or "session"
    token: ApiToken | None = None

    @property
    def can_change(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def identity(self) -> str:
        """Names the caller for rate limits and idempotency keys."""
        if self.token is not None:
            return f"token:{self.token.pk}:{self.token.prefix}"
        return f"{self.via}:{self.user.pk}:{self.organization.pk}"


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        token = token.strip()
        if looks_like_token(token):
            found = verify_token(token)
            if found is None:
                return None
            api_token, membership = found
            return Caller(
                user=api_token.user,
                organization=api_token.organization,
                role=effective_role(api_token, membership),
                via="token",
                token=api_token,
            )
        if looks_like_jwt(token):
            membership = verify_access_token(token)
            if membership is None:
                return None
            return Caller(
                user=membership.user,
                organization=membership.organization,
                role=membership.role,
                via="oidc",
            )
        return None


class SessionAuth(APIKeyCookie):
    """Same-site browser use; ninja checks the CSRF token on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        membership = getattr(request, "membership", None)
        if not request.user.is_authenticated or membership is None:
            return None
        return Caller(
            user=request.user,
            organization=membership.organization,
            role=membership.role,
            via="session",
        )


class PerCallerRateThrottle(BaseThrottle):
    """A fixed one-minute window per caller, counted in the shared cache (Redis)."""

    def __init__(self) -> None:
        self._wait = 1.0

    def allow_request(self, request: HttpRequest) -> bool:
        caller = getattr(request, "auth", None)
        if not isinstance(caller, Caller):
            return True
        limit = getattr(settings, "HAPPA_API_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE)
        now = time.time()
        window = int(now // 60)
        key = f"api-rate:{caller.identity}:{window}"
        # add() is atomic and a no-op when the key exists; incr() is atomic in Redis.
        cache.add(key, 0, timeout=90)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=90)
            count = 1
        if count > limit:
            self._wait = max(1.0, (window + 1) * 60 - now)
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
