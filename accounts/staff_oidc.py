"""Operations staff sign in to the ops panel through the operator's IdP (mozilla-django-oidc).

mozilla-django-oidc sends state, nonce and PKCE and verifies the ID token's RS256 signature
against OIDC_OP_JWKS_ENDPOINT; this backend decides who may come in and with which powers.
Its failures only redirect to the failure URL, so every refusal is logged here.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.models import User

logger = logging.getLogger(__name__)


def staff_groups(claims: dict) -> set[str]:
    value = claims.get(settings.OIDC_STAFF_GROUPS_CLAIM) or []
    return {value} if isinstance(value, str) else {str(group) for group in value}


class StaffOIDCBackend(OIDCAuthenticationBackend):
    """Maps the operator IdP's group claim to is_staff / is_superuser on every sign-in."""

    def _apply_groups(self, user: User, claims: dict) -> User:
        groups = staff_groups(claims)
        user.is_superuser = settings.OIDC_SUPERUSER_GROUP in groups
        user.is_staff = user.is_superuser or settings.OIDC_STAFF_GROUP in groups
        user.save(update_fields=["is_staff", "is_superuser"])
        return user

    def filter_users_by_claims(self, claims: dict) -> QuerySet[User]:
        # The operator's own IdP is trusted for its staff's e-mail addresses.
        email = claims.get("email")
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email__iexact=email)

    def verify_claims(self, claims: dict) -> bool:
        # Only staff may use this door: a customer goes through allauth.
        allowed = {settings.OIDC_STAFF_GROUP, settings.OIDC_SUPERUSER_GROUP}
        if not claims.get("email"):
            logger.warning("Staff SSO refused: the IdP sent no email claim.")
            return False
        if not staff_groups(claims) & allowed:
            logger.warning(
                "Staff SSO refused for %s: not in %s (claim %r).",
                claims.get("email"),
                " or ".join(sorted(allowed)),
                settings.OIDC_STAFF_GROUPS_CLAIM,
            )
            return False
        return True

    def create_user(self, claims: dict) -> User:
        user = self.UserModel.objects.create_user(
            email=claims["email"], name=claims.get("name", "")
        )
        return self._apply_groups(user, claims)

    def update_user(self, user: User, claims: dict) -> User:
        return self._apply_groups(user, claims)

    def authenticate(self, request: HttpRequest | None, **kwargs) -> User | None:  # noqa: ANN003
        if not settings.STAFF_OIDC_ENABLED:
            return None
        return super().authenticate(request, **kwargs)


def staff_sso(request: HttpRequest) -> dict:
    """Template context: whether the ops panel's login page offers the operator's SSO."""
    return {"staff_oidc_enabled": settings.STAFF_OIDC_ENABLED}
