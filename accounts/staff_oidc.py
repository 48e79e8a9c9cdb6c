"""Operations staff sign in to the ops panel through the operator's IdP (mozilla-django-oidc)."""

from __future__ import annotations

from django.conf import settings
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.models import User


class StaffOIDCBackend(OIDCAuthenticationBackend):
    """Maps the operator IdP's group claim to is_staff / is_superuser on every sign-in."""

    def _apply_groups(self, user: User, claims: dict) -> User:
        groups = set(claims.get(settings.OIDC_STAFF_GROUPS_CLAIM) or [])
        user.is_superuser = settings.OIDC_SUPERUSER_GROUP in groups
        user.is_staff = user.is_superuser or settings.OIDC_STAFF_GROUP in groups
        user.save(update_fields=["is_staff", "is_superuser"])
        return user

    def filter_users_by_claims(self, claims: dict):  # noqa: ANN201 (returns a queryset)
        email = claims.get("email")
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email__iexact=email)

    def verify_claims(self, claims: dict) -> bool:
        # Only staff may use this door: a customer goes through allauth.
        groups = set(claims.get(settings.OIDC_STAFF_GROUPS_CLAIM) or [])
        allowed = {settings.OIDC_STAFF_GROUP, settings.OIDC_SUPERUSER_GROUP}
        return bool(claims.get("email")) and bool(groups & allowed)

    def create_user(self, claims: dict) -> User:
        user = self.UserModel.objects.create_user(email=claims["email"], name=claims.get("name", ""))
        return self._apply_groups(user, claims)

    def update_user(self, user: User, claims: dict) -> User:
        return self._apply_groups(user, claims)

    def authenticate(self, request, **kwargs):  # noqa: ANN001, ANN201 (Django's signature)
        if not settings.STAFF_OIDC_ENABLED:
            return None
        return super().authenticate(request, **kwargs)
