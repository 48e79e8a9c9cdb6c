"""Customer single sign-on through an organization's IdP: a real OpenID Provider on loopback.

Each test drives the whole flow with a plain HTTP client: Happa's login page, the "Sign in with"
button, the IdP's authorize endpoint and login form, and Happa's callback.
"""

from __future__ import annotations

import pytest
import requests
from allauth.socialaccount.models import SocialAccount

from accounts.models import AuditLogEntry, IdentityProvider, Membership, Role, User
from tests.embedded_services import free_port
from tests.factories import TEST_PASSWORD, UserFactory
from tests.idp.fixtures import (
    IDP_USERS,
    ORG_CLIENT_ID,
    ORG_CLIENT_SECRET,
    connect_org_idp,
    csrf_token,
    sign_in_through_org_idp,
    sign_in_with_password,
    with_query_param,
)


@pytest.fixture
def identity_provider(organization, oidc_provider):
    return IdentityProvider.objects.create(
        organization=organization,
        name="Acme SSO",
        issuer=oidc_provider.issuer,
        client_id=ORG_CLIENT_ID,
        client_secret=ORG_CLIENT_SECRET,
        groups_claim="groups",
        group_roles={"platform-admins": Role.ADMIN},
        default_role=Role.VIEWER,
        allowed_email_domains=["acme.test"],
    )


@pytest.fixture
def client():
    with requests.Session() as session:
        yield session


def signed_in_email(client: requests.Session, site_url: str) -> str | None:
    """The e-mail the site shows as signed in, or None when it sends us to the login page."""
    # allauth's e-mail page: only for a signed-in user, and it lists that user's addresses.
    response = client.get(f"{site_url}/accounts/email/", timeout=10, allow_redirects=False)
    if response.status_code != 200:
        return None
    return next((u.email for u in User.objects.all() if u.email in response.text), None)


def test_login_page_shows_a_button_per_identity_provider(client, live_server, identity_provider):
    page = client.get(f"{live_server.url}/accounts/login/", timeout=10)

    assert "Sign in with Acme SSO" in page.text
    assert 'action="/accounts/oidc/org-acme/login/"' in page.text


def test_first_sign_in_makes_a_member_with_the_role_mapped_from_groups(
    client, live_server, identity_provider
):
    trip = sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["admin"])

    assert trip.final.status_code == 200
    user = User.objects.get(email="alice@acme.test")
    membership = Membership.objects.get(user=user, organization=identity_provider.organization)
    assert membership.role == Role.ADMIN
    assert signed_in_email(client, live_server.url) == "alice@acme.test"
    assert AuditLogEntry.objects.filter(action="membership.created_by_sso").count() == 1


def test_first_sign_in_takes_the_name_from_the_provider(client, live_server, identity_provider):
    sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["admin"])

    assert User.objects.get(email="alice@acme.test").name == "Alice Admin"


def test_first_sign_in_without_a_mapped_group_gets_the_default_role(
    client, live_server, identity_provider
):
    sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["plain"])

    membership = Membership.objects.get(user__email="bob@acme.test")
    assert membership.role == Role.VIEWER
    assert signed_in_email(client, live_server.url) == "bob@acme.test"


def test_second_sign_in_keeps_the_membership_and_its_role(client, live_server, identity_provider):
    sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["plain"])
    Membership.objects.filter(user__email="bob@acme.test").update(role=Role.MEMBER)
    client.cookies.clear()

    sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["plain"])

    assert Membership.objects.get(user__email="bob@acme.test").role == Role.MEMBER
    assert SocialAccount.objects.filter(user__email="bob@acme.test").count() == 1
    assert signed_in_email(client, live_server.url) == "bob@acme.test"


def test_a_changed_state_is_refused(client, live_server, identity_provider):
    trip = sign_in_through_org_idp(
        client,
        live_server.url,
        "org-acme",
        IDP_USERS["admin"],
        change_callback_url=lambda url: with_query_param(url, "state", "forged-state"),
    )

    assert "Third-Party Login Failure" in trip.final.text
    assert not User.objects.filter(email="alice@acme.test").exists()
    assert signed_in_email(client, live_server.url) is None


def test_a_changed_nonce_is_refused(client, live_server, identity_provider):
    trip = sign_in_through_org_idp(
        client,
        live_server.url,
        "org-acme",
        IDP_USERS["admin"],
        change_authorize_url=lambda url: with_query_param(url, "nonce", "forged-nonce"),
    )

    assert "could not be verified" in trip.final.text
    assert not User.objects.filter(email="alice@acme.test").exists()
    assert signed_in_email(client, live_server.url) is None


def test_a_missing_nonce_is_refused(client, live_server, identity_provider):
    trip = sign_in_through_org_idp(
        client,
        live_server.url,
        "org-acme",
        IDP_USERS["admin"],
        change_authorize_url=lambda url: with_query_param(url, "nonce", None),
    )

    assert "could not be verified" in trip.final.text
    assert not User.objects.filter(email="alice@acme.test").exists()


def test_the_login_request_carries_a_nonce_state_and_pkce_challenge(
    client, live_server, identity_provider
):
    trip = sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["admin"])

    for name in ("nonce", "state", "code_challenge"):
        assert name in trip.authorize_url
    assert "groups" in trip.authorize_url  # the scope that releases the groups claim


def test_a_user_outside_the_allowed_email_domains_is_refused(
    client, live_server, identity_provider
):
    trip = sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["outside_domain"])

    assert "limited to e-mail addresses at acme.test" in trip.final.text
    assert "eve@elsewhere.test is not one of them" in trip.final.text
    assert not User.objects.filter(email="eve@elsewhere.test").exists()
    assert not Membership.objects.filter(user__email="eve@elsewhere.test").exists()


def test_any_domain_may_sign_in_when_no_domains_are_set(client, live_server, identity_provider):
    identity_provider.allowed_email_domains = []
    identity_provider.save()

    sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["outside_domain"])

    assert Membership.objects.get(user__email="eve@elsewhere.test").role == Role.VIEWER


def test_an_unreachable_identity_provider_shows_a_clear_message_on_the_login_page(
    client, live_server, identity_provider
):
    identity_provider.issuer = f"http://127.0.0.1:{free_port()}/o"  # nothing listens there
    identity_provider.save()

    trip = sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["admin"])

    assert trip.final.status_code == 200
    assert trip.final.url.endswith("/accounts/login/")
    assert "Acme SSO is not reachable right now" in trip.final.text
    assert "Sign in with Acme SSO" in trip.final.text


def test_an_existing_local_account_is_not_taken_over_by_sso(client, live_server, identity_provider):
    local = UserFactory(email="alice@acme.test")

    trip = sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["admin"])

    assert "An account for alice@acme.test already exists" in trip.final.text
    assert not SocialAccount.objects.filter(user=local).exists()
    assert not Membership.objects.filter(user=local).exists()
    assert signed_in_email(client, live_server.url) is None


def test_an_unverified_email_creates_the_account_but_does_not_sign_in(
    client, live_server, identity_provider
):
    trip = sign_in_through_org_idp(client, live_server.url, "org-acme", IDP_USERS["unverified"])

    assert "Verify Your Email Address" in trip.final.text
    assert User.objects.filter(email="uma@acme.test").exists()
    assert signed_in_email(client, live_server.url) is None


def test_an_organization_without_a_provider_has_no_sso_login(
    client, live_server, identity_provider, other_organization
):
    login_page = client.get(f"{live_server.url}/accounts/login/", timeout=10)

    response = client.post(
        f"{live_server.url}/accounts/oidc/org-globex/login/",
        data={"csrfmiddlewaretoken": csrf_token(login_page.text), "process": "login"},
        timeout=10,
        allow_redirects=False,
    )

    assert response.status_code == 404
    assert "org-globex" not in login_page.text


def test_a_signed_in_local_user_can_connect_the_provider_and_becomes_a_member(
    client, live_server, identity_provider
):
    local = UserFactory(email="alice@acme.test")
    sign_in_with_password(client, live_server.url, "alice@acme.test", TEST_PASSWORD)

    connect_org_idp(client, live_server.url, "org-acme", IDP_USERS["admin"])

    assert SocialAccount.objects.filter(user=local, provider="org-acme").count() == 1
    assert Membership.objects.get(user=local, organization__slug="acme").role == Role.ADMIN
