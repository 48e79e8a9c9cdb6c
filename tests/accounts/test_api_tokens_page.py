"""The API tokens page: made by members for themselves, shown once, revoked."""

import re

import pytest

from accounts.models import ApiToken, AuditLogEntry, Role
from accounts.tokens import create_token, verify_token
from tests.conftest import member_of


def tokens_url(organization):
    return f"/orgs/{organization.slug}/tokens/"


def test_a_member_makes_a_token_and_sees_its_secret_once(client, member, organization):
    client.force_login(member)
    response = client.post(
        tokens_url(organization), {"name": "CI", "role": "member", "expires_in_days": "30"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = re.search(r'value="(happa_[\w-]+)"', response.content.decode()).group(1)
    token, membership = verify_token(secret)
    assert (token.name, token.role, token.user) == ("CI", Role.MEMBER, member)
    assert token.expires_at is not None
    assert secret not in client.get(tokens_url(organization)).content.decode()
    assert AuditLogEntry.objects.filter(action="api_token.created", actor=member).exists()


def test_a_viewer_cannot_make_a_token_with_more_than_their_role(client, viewer, organization):
    client.force_login(viewer)
    response = client.post(tokens_url(organization), {"name": "x", "role": "admin"})
    assert response.status_code == 400
    assert b'value="x"' in response.content
    assert not ApiToken.objects.exists()


def test_a_viewer_makes_a_read_only_token(client, viewer, organization):
    client.force_login(viewer)
    response = client.post(tokens_url(organization), {"name": "dash", "role": "viewer"})
    assert response.status_code == 200
    assert ApiToken.objects.get().role == Role.VIEWER


def test_a_member_sees_only_their_own_tokens(client, owner, member, organization):
    create_token(owner, organization, name="owner-token")
    create_token(member, organization, name="member-token")
    client.force_login(member)
    content = client.get(tokens_url(organization)).content.decode()
    assert "member-token" in content
    assert "owner-token" not in content


def test_an_admin_sees_and_revokes_a_members_token(client, owner, member, organization):
    issued = create_token(member, organization, name="member-token")
    client.force_login(owner)
    assert "member-token" in client.get(tokens_url(organization)).content.decode()
    response = client.post(f"{tokens_url(organization)}{issued.token.pk}/revoke/")
    assert response.status_code == 302
    assert verify_token(issued.secret) is None
    entry = AuditLogEntry.objects.get(action="api_token.revoked")
    assert (entry.actor, entry.details["owner"]) == (owner, "member@acme.test")


def test_a_member_cannot_revoke_someone_elses_token(client, owner, member, organization):
    issued = create_token(owner, organization, name="owner-token")
    client.force_login(member)
    response = client.post(f"{tokens_url(organization)}{issued.token.pk}/revoke/")
    assert response.status_code == 404
    assert verify_token(issued.secret) is not None


def test_revoking_another_organizations_token_is_a_404(client, owner, outsider, other_organization):
    issued = create_token(outsider, other_organization, name="globex-token")
    client.force_login(owner)
    response = client.post(f"/orgs/acme/tokens/{issued.token.pk}/revoke/")
    assert response.status_code == 404
    assert verify_token(issued.secret) is not None


def test_another_organizations_tokens_page_is_a_404(client, outsider, organization):
    client.force_login(outsider)
    assert client.get(tokens_url(organization)).status_code == 404


@pytest.mark.parametrize("size", [2, 20])
def test_the_token_list_runs_a_constant_number_of_queries(
    client, owner, organization, django_assert_num_queries, size
):
    for n in range(size):
        user = member_of(organization, Role.MEMBER, email=f"t{n}@acme.test")
        create_token(user, organization, name=f"token-{n}")
    client.force_login(owner)
    client.get(tokens_url(organization))
    # session, user, current membership, own membership, tokens with their owners, switcher.
    with django_assert_num_queries(6):
        response = client.get(tokens_url(organization))
    assert response.content.count(b'id="token-') == size
