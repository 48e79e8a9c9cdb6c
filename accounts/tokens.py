"""API tokens: made with a secret shown once, stored as a SHA-256, checked on every API call.

A token reads `happa_<prefix>_<secret>`. The prefix is stored in clear so people can tell their
tokens apart in lists; the whole string is hashed. SHA-256 (not a slow password hash) is right
here: the secret is 256 random bits, so there is nothing to brute-force, and every request pays it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiToken, Membership, Organization, Role, User

TOKEN_SCHEME = "happa"
PREFIX_LENGTH = 8
# last_used_at is written at most this often per token, so reads don't each cost a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Least privilege first: a token never acts with more than its owner's current role.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class TokenError(ValueError):
    """A token cannot be made as asked (no membership, a role above the member's, ...)."""


@dataclass
class IssuedToken:
    token: ApiToken
    secret: str  # the full bearer string; shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def lesser_role(first: str, second: str) -> str:
    return first if ROLE_RANK[Role(first)] <= ROLE_RANK[Role(second)] else second


def create_token(
    user: User,
    organization: Organization,
    *,
    name: str,
    role: str | None = None,
    expires_in: timedelta | None = None,
) -> IssuedToken:
    """A new token for a member of the organization, with at most the member's role."""
    membership = Membership.objects.filter(user=user, organization=organization).first()
    if membership is None:
        raise TokenError(f"{user} is not a member of {organization.slug}.")
    role = role or membership.role
    if role not in Role.values:
        raise TokenError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    if ROLE_RANK[Role(role)] > ROLE_RANK[Role(membership.role)]:
        raise TokenError(f"A {membership.role} cannot make a token with the {role} role.")
    if not name.strip():
        raise TokenError("A token needs a name.")
    if expires_in is not None and expires_in <= timedelta(0):
        raise TokenError("The expiry must be in the future.")
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    secret = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        organization=organization,
        user=user,
        name=name.strip()[:100],
        role=role,
        prefix=prefix,
        token_hash=hash_secret(secret),
        expires_at=timezone.now() + expires_in if expires_in is not None else None,
    )
    return IssuedToken(token=token, secret=secret)


def looks_like_token(secret: str) -> bool:
    return secret.startswith(f"{TOKEN_SCHEME}_")


def verify_token(secret: str) -> tuple[ApiToken, Membership] | None:
    """The usable token for this secret and its owner's membership; None if it opens nothing.

    A token stops working when it is revoked, expires, or its owner leaves the organization.
    """
    if not looks_like_token(secret):
        return None
    digest = hash_secret(secret)
    token = (
        ApiToken.objects.usable()
        .select_related("organization", "user")
        .filter(token_hash=digest)
        .first()
    )
    # The lookup is by hash, so timing says nothing about the secret; compare anyway for clarity.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if not token.user.is_active:
        return None
    membership = Membership.objects.filter(user=token.user, organization=token.organization).first()
    if membership is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token, membership


def effective_role(token: ApiToken, membership: Membership) -> str:
    return lesser_role(token.role, membership.role)


def revoke_token(token: ApiToken) -> bool:
    """Revoke the token; False if it was already revoked."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    return bool(updated)
