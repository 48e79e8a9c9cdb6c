"""Bearer access tokens from an organization's own identity provider (OIDC), checked as JWTs.

The token's `iss` names the provider; its keys come from the provider's JWKS, found through the
issuer's discovery document (both cached). The token must be signed with an asymmetric key, be
unexpired, and be meant for the provider's client in Happa (`aud` or `azp`). The person is the
Happa user with the token's e-mail address, acting as their member role in that organization.
"""

from __future__ import annotations

import logging
import threading
import time

import jwt
import requests
from django.core.cache import cache

from accounts.models import IdentityProvider, Membership

log = logging.getLogger(__name__)

DISCOVERY_TTL = 3600
JWKS_LIFESPAN = 300
HTTP_TIMEOUT = 5
# Asymmetric only: an HS256 token would be "signed" with a secret the client also holds.
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]

_jwks_clients: dict[str, tuple[jwt.PyJWKClient, float]] = {}
_jwks_lock = threading.Lock()


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def discovery_document(issuer: str) -> dict:
    cache_key = f"oidc-discovery:{issuer}"
    document = cache.get(cache_key)
    if document is None:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = requests.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        document = response.json()
        cache.set(cache_key, document, DISCOVERY_TTL)
    return document


def jwks_client(jwks_uri: str) -> jwt.PyJWKClient:
    # PyJWKClient caches the key set for `lifespan` and refetches on an unknown `kid` (rotation).
    with _jwks_lock:
        entry = _jwks_clients.get(jwks_uri)
        if entry is None or time.monotonic() - entry[1] > DISCOVERY_TTL:
            client = jwt.PyJWKClient(jwks_uri, lifespan=JWKS_LIFESPAN, timeout=HTTP_TIMEOUT)
            entry = (client, time.monotonic())
            _jwks_clients[jwks_uri] = entry
        return entry[0]


def _provider_for(issuer: str) -> IdentityProvider | None:
    candidates = {issuer, issuer.rstrip("/"), issuer.rstrip("/") + "/"}
    return (
        IdentityProvider.objects.select_related("organization")
        .filter(issuer__in=candidates)
        .first()
    )


def _email_from_userinfo(document: dict, token: str) -> str | None:
    endpoint = document.get("userinfo_endpoint")
    if not endpoint:
        return None
    response = requests.get(
        endpoint, headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT
    )
    if response.status_code != 200:
        return None
    info = response.json()
    if info.get("email_verified") is False:
        return None
    return info.get("email")


def verify_access_token(token: str) -> Membership | None:
    """The membership this IdP access token acts as; None when it proves nothing."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        return None
    provider = _provider_for(issuer)
    if provider is None:
        return None
    try:
        document = discovery_document(provider.issuer)
        signing_key = jwks_client(document["jwks_uri"]).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=ALGORITHMS,
            issuer=issuer,
            options={"verify_aud": False, "require": ["exp", "iss"]},
            leeway=30,
        )
    except (jwt.PyJWTError, requests.RequestException, KeyError, ValueError) as error:
        log.info("rejected an access token from %s: %s", issuer, error)
        return None
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if provider.client_id not in audiences and claims.get("azp") != provider.client_id:
        log.info("rejected an access token from %s: not meant for %s", issuer, provider.client_id)
        return None
    if claims.get("email_verified") is False:
        return None
    email = claims.get("email")
    if not email:
        try:
            email = _email_from_userinfo(document, token)
        except (requests.RequestException, ValueError):
            email = None
    if not email:
        return None
    return (
        Membership.objects.select_related("organization", "user")
        .filter(
            organization=provider.organization,
            user__email__iexact=email,
            user__is_active=True,
        )
        .first()
    )
