"""Operations staff sign in to the ops panel through the operator's IdP (mozilla-django-oidc)."""

from __future__ import annotations

import pytest
import requests

from accounts.models import User
from tests.factories import UserFactory
from tests.idp.fixtures import (
    HTTP_TIMEOUT,
    IDP_USERS,
    STAFF_CLIENT_ID,
    STAFF_CLIENT_SECRET,
    absolute,
    log_in_at_idp,
    with_query_param,
)


@pytest.fixture
def staff_sso(settings, oidc_provider):
    settings.STAFF_OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = STAFF_CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = STAFF_CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = oidc_provider.endpoint("authorization")
    settings.OIDC_OP_TOKEN_ENDPOINT = oidc_provider.endpoint("token")
    settings.OIDC_OP_USER_ENDPOINT = oidc_provider.endpoint("userinfo")
    settings.OIDC_OP_JWKS_ENDPOINT = oidc_provider.endpoint("jwks")
    return settings


@pytest.fixture
def client():
    with requests.Session() as session:
        yield session


def sign_in_to_ops(client, site_url, user, change_callback_url=None) -> requests.Response:
    response = client.get(
        f"{site_url}/ops/oidc/authenticate/?next=/ops/", allow_redirects=False, timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 302
    authorize_url = response.headers["Location"]
    assert authorize_url.startswith("http://127.0.0.1:")
    callback = log_in_at_idp(client, authorize_url, user)
    if change_callback_url:
        callback = change_callback_url(callback)
    return client.get(absolute(site_url, callback), timeout=HTTP_TIMEOUT)


def test_an_ops_group_member_becomes_staff_and_reaches_the_ops_panel(
    client, live_server, staff_sso
):
    final = sign_in_to_ops(client, live_server.url, IDP_USERS["ops"])

    assert final.status_code == 200
    assert final.url == f"{live_server.url}/ops/"
    assert "Happa operations" in final.text
    user = User.objects.get(email="olga@operator.test")
    assert (user.is_staff, user.is_superuser) == (True, False)


def test_the_superuser_group_makes_a_superuser(client, live_server, staff_sso):
    sign_in_to_ops(client, live_server.url, IDP_USERS["ops_admin"])

    user = User.objects.get(email="oscar@operator.test")
    assert (user.is_staff, user.is_superuser) == (True, True)


def test_group_membership_is_applied_again_on_every_sign_in(client, live_server, staff_sso):
    existing = UserFactory(email="oscar@operator.test", is_staff=False, is_superuser=False)

    sign_in_to_ops(client, live_server.url, IDP_USERS["ops_admin"])

    existing.refresh_from_db()
    assert (existing.is_staff, existing.is_superuser) == (True, True)


def test_someone_outside_the_ops_groups_is_refused(client, live_server, staff_sso):
    final = sign_in_to_ops(client, live_server.url, IDP_USERS["admin"])

    assert final.url.startswith(f"{live_server.url}/ops/login/")
    assert not User.objects.filter(email="alice@acme.test").exists()


def test_a_changed_state_is_refused(client, live_server, staff_sso):
    final = sign_in_to_ops(
        client,
        live_server.url,
        IDP_USERS["ops"],
        change_callback_url=lambda url: with_query_param(url, "state", "forged"),
    )

    assert final.status_code in (400, 403)  # mozilla-django-oidc: SuspiciousOperation
    assert not User.objects.filter(email="olga@operator.test").exists()


def test_staff_sso_is_off_without_configuration(
    client, live_server, settings, oidc_provider
):
    settings.STAFF_OIDC_ENABLED = False
    settings.OIDC_RP_CLIENT_ID = STAFF_CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = STAFF_CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = oidc_provider.endpoint("authorization")
    settings.OIDC_OP_TOKEN_ENDPOINT = oidc_provider.endpoint("token")
    settings.OIDC_OP_USER_ENDPOINT = oidc_provider.endpoint("userinfo")
    settings.OIDC_OP_JWKS_ENDPOINT = oidc_provider.endpoint("jwks")

    sign_in_to_ops(client, live_server.url, IDP_USERS["ops"])

    assert not User.objects.filter(email="olga@operator.test").exists()


def test_the_ops_login_page_offers_the_operator_sso(client, live_server, staff_sso):
    page = client.get(f"{live_server.url}/ops/login/?next=/ops/", timeout=HTTP_TIMEOUT)

    assert "Sign in with the operator's single sign-on" in page.text
    assert "/ops/oidc/authenticate/?next=/ops/" in page.text
