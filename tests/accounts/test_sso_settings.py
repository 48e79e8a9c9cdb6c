"""The organization's SSO settings page: admins only, discovery checked on save, audited."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from accounts.models import AuditLogEntry, IdentityProvider, Role
from tests.embedded_services import free_port
from tests.idp.fixtures import (
    ORG_CLIENT_ID,
    ORG_CLIENT_SECRET,
)

URL = "/orgs/acme/sso/"


def form_data(issuer: str, **overrides: str) -> dict[str, str]:
    data = {
        "name": "Acme SSO",
        "issuer": issuer,
        "client_id": ORG_CLIENT_ID,
        "client_secret": ORG_CLIENT_SECRET,
        "groups_claim": "groups",
        "group_roles": "platform-admins = admin\nreaders = viewer",
        "default_role": Role.MEMBER,
        "allowed_email_domains": "acme.test, @Acme.example",
    }
    data.update(overrides)
    return data


@pytest.fixture
def existing_provider(organization):
    return IdentityProvider.objects.create(
        organization=organization,
        name="Old SSO",
        issuer="https://old.example/realms/acme",
        client_id="old-client",
        client_secret="old-secret",
    )


def test_an_admin_sees_the_redirect_uri_to_register(client, owner):
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 200
    assert "http://127.0.0.1:8000/accounts/oidc/org-acme/login/callback/" in response.text


def test_saving_a_working_provider_stores_it_with_the_mapping(client, owner, oidc_provider):
    client.force_login(owner)

    response = client.post(URL, form_data(oidc_provider.issuer + "/"))

    assert response.status_code == 302
    idp = IdentityProvider.objects.get(organization__slug="acme")
    assert idp.issuer == oidc_provider.issuer  # as the provider announces it
    assert idp.client_secret == ORG_CLIENT_SECRET
    assert idp.group_roles == {"platform-admins": "admin", "readers": "viewer"}
    assert idp.allowed_email_domains == ["acme.test", "acme.example"]


def test_saving_records_an_audit_entry_without_the_secret(client, owner, oidc_provider):
    client.force_login(owner)

    client.post(URL, form_data(oidc_provider.issuer))

    entry = AuditLogEntry.objects.get(action="sso.provider_created")
    assert entry.actor == owner
    assert entry.organization.slug == "acme"
    assert "client_secret" in entry.details["changed"]
    assert ORG_CLIENT_SECRET not in str(entry.details)


def test_an_empty_secret_keeps_the_stored_one(client, owner, oidc_provider, existing_provider):
    client.force_login(owner)

    response = client.post(URL, form_data(oidc_provider.issuer, client_secret="", name="New SSO"))

    assert response.status_code == 302
    existing_provider.refresh_from_db()
    assert existing_provider.client_secret == "old-secret"
    assert existing_provider.name == "New SSO"
    entry = AuditLogEntry.objects.get(action="sso.provider_changed")
    assert "client_secret" not in entry.details["changed"]
    assert "name" in entry.details["changed"]


def test_the_stored_secret_is_never_shown(client, owner, existing_provider):
    client.force_login(owner)

    response = client.get(URL)

    assert "old-secret" not in response.text


def test_a_new_provider_needs_a_secret(client, owner, oidc_provider):
    client.force_login(owner)

    response = client.post(URL, form_data(oidc_provider.issuer, client_secret=""))

    assert response.status_code == 400
    assert "This field is required" in response.text
    assert not IdentityProvider.objects.exists()


def test_an_unreachable_issuer_is_refused_with_a_field_error(client, owner, existing_provider):
    client.force_login(owner)
    issuer = f"http://127.0.0.1:{free_port()}/realms/acme"

    response = client.post(URL, form_data(issuer))

    assert response.status_code == 400
    assert "is not reachable" in response.context["form"].errors["issuer"][0]
    existing_provider.refresh_from_db()
    assert existing_provider.issuer == "https://old.example/realms/acme"
    assert not AuditLogEntry.objects.exists()


def test_an_issuer_answering_something_else_than_json_is_refused(
    client, owner, bad_discovery_server
):
    client.force_login(owner)

    response = client.post(URL, form_data(f"{bad_discovery_server}/not-json"))

    assert response.status_code == 400
    assert "did not answer with an OpenID configuration" in response.context["form"].errors[
        "issuer"
    ][0]
    assert not IdentityProvider.objects.exists()


def test_an_issuer_that_announces_another_issuer_is_refused(
    client, owner, bad_discovery_server
):
    client.force_login(owner)

    response = client.post(URL, form_data(f"{bad_discovery_server}/other-issuer"))

    assert response.status_code == 400
    error = response.context["form"].errors["issuer"][0]
    assert "says its issuer is 'https://login.other.example'" in error
    assert not IdentityProvider.objects.exists()


def test_an_issuer_without_discovery_is_refused(client, owner, bad_discovery_server):
    client.force_login(owner)

    response = client.post(URL, form_data(f"{bad_discovery_server}/nothing-here"))

    assert response.status_code == 400
    assert "answered HTTP 404" in response.context["form"].errors["issuer"][0]


def test_a_plain_http_issuer_on_another_host_is_refused(client, owner):
    client.force_login(owner)

    response = client.post(URL, form_data("http://idp.example.com/realms/acme"))

    assert response.status_code == 400
    assert "must start with https://" in response.context["form"].errors["issuer"][0]


def test_a_mapping_to_an_unknown_role_is_refused(client, owner, oidc_provider):
    client.force_login(owner)

    response = client.post(URL, form_data(oidc_provider.issuer, group_roles="ops = superhero"))

    assert response.status_code == 400
    assert "'superhero' is not a role" in response.context["form"].errors["group_roles"][0]
    assert not IdentityProvider.objects.exists()


def test_a_malformed_email_domain_is_refused(client, owner, oidc_provider):
    client.force_login(owner)

    response = client.post(URL, form_data(oidc_provider.issuer, allowed_email_domains="not a/dom"))

    assert response.status_code == 400
    assert "allowed_email_domains" in response.context["form"].errors


def test_a_member_who_is_not_an_admin_is_refused(client, member):
    client.force_login(member)

    assert client.get(URL).status_code == 403
    assert client.post(URL, form_data("https://idp.example.com")).status_code == 403


def test_another_organizations_admin_gets_not_found(client, outsider, organization):
    client.force_login(outsider)

    assert client.get(URL).status_code == 404
    assert client.post(URL, form_data("https://idp.example.com")).status_code == 404


def test_removing_the_provider_deletes_it_and_is_audited(client, owner, existing_provider):
    client.force_login(owner)

    response = client.post(f"{URL}delete/")

    assert response.status_code == 302
    assert not IdentityProvider.objects.exists()
    assert AuditLogEntry.objects.filter(action="sso.provider_deleted", actor=owner).count() == 1


def test_a_member_cannot_remove_the_provider(client, member, existing_provider):
    client.force_login(member)

    assert client.post(f"{URL}delete/").status_code == 403
    assert IdentityProvider.objects.exists()


def test_the_settings_card_links_to_the_sso_page_and_names_the_provider(existing_provider):
    html = render_to_string(
        "accounts/sso_section.html", {"organization": existing_provider.organization}
    )

    assert "Old SSO" in html
    assert URL in html


def test_the_settings_card_offers_set_up_without_a_provider(organization):
    html = render_to_string("accounts/sso_section.html", {"organization": organization})

    assert "Set up single sign-on" in html


def test_the_organization_settings_page_links_to_single_sign_on(client, owner):
    client.force_login(owner)

    response = client.get("/orgs/acme/settings/")

    assert response.status_code == 200
    assert "Set up single sign-on" in response.text
    assert URL in response.text
