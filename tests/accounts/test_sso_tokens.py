"""ID-token checks and role mapping, against the real IdP's discovery and JWKS where keys matter."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import resolve, reverse

from accounts import sso_views
from accounts.models import IdentityProvider, Role
from accounts.sso import role_for_groups, verify_id_token
from tests.idp.fixtures import ORG_CLIENT_ID


@pytest.fixture
def openid_config(oidc_provider):
    url = f"{oidc_provider.issuer}/.well-known/openid-configuration"
    return requests.get(url, timeout=10).json()


def claims_for(config: dict, **overrides: object) -> dict:
    now = int(time.time())
    claims = {
        "iss": config["issuer"],
        "aud": ORG_CLIENT_ID,
        "sub": "1",
        "iat": now,
        "exp": now + 300,
        "nonce": "n",
    }
    claims.update(overrides)
    return claims


def provider_kid(config: dict) -> str:
    return requests.get(config["jwks_uri"], timeout=10).json()["keys"][0]["kid"]


def test_an_id_token_signed_with_another_key_is_refused(openid_config):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        claims_for(openid_config),
        stranger,
        algorithm="RS256",
        headers={"kid": provider_kid(openid_config)},  # claims to be the provider's key
    )

    with pytest.raises(OAuth2Error, match="Signature verification failed"):
        verify_id_token(token, openid_config, ORG_CLIENT_ID)


def test_an_id_token_signed_with_the_client_secret_is_refused(openid_config):
    token = jwt.encode(
        claims_for(openid_config),
        "client-secret-used-as-hmac-key-32bytes!",
        algorithm="HS256",
        headers={"kid": provider_kid(openid_config)},
    )

    with pytest.raises(OAuth2Error, match="ID token refused"):
        verify_id_token(token, openid_config, ORG_CLIENT_ID)


def test_an_unsigned_id_token_is_refused(openid_config):
    token = jwt.encode(claims_for(openid_config), None, algorithm="none")

    with pytest.raises(OAuth2Error, match="ID token refused"):
        verify_id_token(token, openid_config, ORG_CLIENT_ID)


def test_the_callback_url_is_allauths_and_served_by_the_verifying_view():
    path = reverse("openid_connect_callback", kwargs={"provider_id": "org-acme"})

    assert path == "/accounts/oidc/org-acme/login/callback/"
    assert resolve(path).func is sso_views.oidc_callback
    assert reverse("openid_connect_login", kwargs={"provider_id": "org-acme"}) == (
        "/accounts/oidc/org-acme/login/"
    )


def test_the_strongest_mapped_role_wins():
    idp = IdentityProvider(
        group_roles={"readers": Role.VIEWER, "admins": Role.ADMIN, "devs": Role.MEMBER},
        default_role=Role.VIEWER,
    )

    assert role_for_groups(idp, ["readers", "devs", "admins"]) == Role.ADMIN
    assert role_for_groups(idp, ["readers", "devs"]) == Role.MEMBER


def test_unmapped_groups_get_the_default_role():
    idp = IdentityProvider(group_roles={"admins": Role.ADMIN}, default_role=Role.VIEWER)

    assert role_for_groups(idp, ["everyone"]) == Role.VIEWER
    assert role_for_groups(idp, []) == Role.VIEWER
