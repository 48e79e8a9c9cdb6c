"""`manage.py sso_provider`: ops staff configure an organization's IdP from the shell."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditLogEntry, IdentityProvider, Role
from tests.embedded_services import free_port


def run(*args: str) -> str:
    out = StringIO()
    call_command("sso_provider", *args, stdout=out)
    return out.getvalue()


def test_the_command_creates_the_provider_and_prints_the_redirect_uri(
    organization, oidc_provider
):
    output = run(
        "--org", "acme", "--name", "Acme SSO", "--issuer", oidc_provider.issuer,
        "--client-id", "happa-acme", "--client-secret", "s3cret",
        "--groups-claim", "roles", "--admin-group", "platform-admins",
    )

    idp = IdentityProvider.objects.get(organization=organization)
    assert (idp.name, idp.client_id, idp.client_secret) == ("Acme SSO", "happa-acme", "s3cret")
    assert idp.groups_claim == "roles"
    assert idp.group_roles == {"platform-admins": Role.ADMIN}
    assert "http://127.0.0.1:8000/accounts/oidc/org-acme/login/callback/" in output
    assert AuditLogEntry.objects.filter(action="sso.provider_created").count() == 1


def test_the_command_updates_and_keeps_the_secret_when_none_is_given(
    organization, oidc_provider
):
    IdentityProvider.objects.create(
        organization=organization, name="Old", issuer="https://old.example", client_id="old",
        client_secret="kept-secret", group_roles={"readers": "viewer"},
    )

    output = run(
        "--org", "acme", "--name", "New", "--issuer", oidc_provider.issuer,
        "--client-id", "new-client", "--admin-group", "admins",
    )

    idp = IdentityProvider.objects.get(organization=organization)
    assert idp.client_secret == "kept-secret"
    assert idp.client_id == "new-client"
    assert idp.group_roles == {"readers": "viewer", "admins": "admin"}
    assert output.startswith("Updated New for acme")


def test_an_unknown_organization_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no organization with the slug 'nope'"):
        run("--org", "nope", "--name", "X", "--issuer", "https://idp.example",
            "--client-id", "c", "--client-secret", "s")


def test_an_unreachable_issuer_is_a_clear_error_and_saves_nothing(organization):
    issuer = f"http://127.0.0.1:{free_port()}/o"

    with pytest.raises(CommandError, match="is not reachable"):
        run("--org", "acme", "--name", "X", "--issuer", issuer,
            "--client-id", "c", "--client-secret", "s")

    assert not IdentityProvider.objects.exists()


def test_a_new_provider_without_a_secret_is_a_clear_error(organization):
    with pytest.raises(CommandError, match="give --client-secret"):
        run("--org", "acme", "--name", "X", "--issuer", "https://idp.example",
            "--client-id", "c")

    assert not IdentityProvider.objects.exists()
