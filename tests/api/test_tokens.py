from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiToken, Membership, Role
from accounts.tokens import (
    TokenError,
    create_token,
    hash_secret,
    revoke_token,
    verify_token,
)


@pytest.mark.django_db
def test_only_the_hash_of_a_new_token_is_stored(member, organization):
    issued = create_token(member, organization, name="laptop")

    row = ApiToken.objects.get(pk=issued.token.pk)
    assert row.token_hash == hash_secret(issued.secret)
    assert issued.secret not in {row.token_hash, row.prefix, row.name}
    assert issued.secret.startswith(f"happa_{row.prefix}_")


@pytest.mark.django_db
def test_a_token_verifies_as_its_owner_in_its_organization(member, organization):
    issued = create_token(member, organization, name="laptop")

    token, membership = verify_token(issued.secret)

    assert token.pk == issued.token.pk
    assert membership.user == member
    assert membership.organization == organization


@pytest.mark.django_db
def test_using_a_token_records_when_it_was_last_used(member, organization):
    issued = create_token(member, organization, name="laptop")

    verify_token(issued.secret)

    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


@pytest.mark.django_db
def test_a_wrong_secret_opens_nothing(member, organization):
    issued = create_token(member, organization, name="laptop")

    assert verify_token(issued.secret[:-2] + "xx") is None
    assert verify_token("not-a-token") is None


@pytest.mark.django_db
def test_a_revoked_token_opens_nothing(member, organization):
    issued = create_token(member, organization, name="laptop")

    assert revoke_token(issued.token) is True

    assert verify_token(issued.secret) is None
    assert revoke_token(issued.token) is False


@pytest.mark.django_db
def test_an_expired_token_opens_nothing(member, organization):
    issued = create_token(member, organization, name="laptop", expires_in=timedelta(days=1))
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert verify_token(issued.secret) is None


@pytest.mark.django_db
def test_a_token_stops_working_when_its_owner_leaves_the_organization(member, organization):
    issued = create_token(member, organization, name="laptop")
    Membership.objects.filter(user=member, organization=organization).delete()

    assert verify_token(issued.secret) is None


@pytest.mark.django_db
def test_a_token_cannot_carry_more_than_its_owners_role(viewer, organization):
    with pytest.raises(TokenError, match="viewer cannot"):
        create_token(viewer, organization, name="laptop", role=Role.ADMIN)


@pytest.mark.django_db
def test_a_token_needs_a_membership_in_its_organization(outsider, organization):
    with pytest.raises(TokenError, match="not a member"):
        create_token(outsider, organization, name="laptop")

    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_the_api_token_command_prints_a_working_token_once(member, organization):
    out, err = StringIO(), StringIO()

    call_command(
        "api_token", member.email, "--org", "acme", "--role", "viewer", "--expires-days", "30",
        stdout=out, stderr=err,
    )

    secret = out.getvalue().strip()
    token, _ = verify_token(secret)
    assert token.role == Role.VIEWER
    assert token.expires_at > timezone.now() + timedelta(days=29)
    assert secret not in err.getvalue()


@pytest.mark.django_db
def test_the_api_token_command_refuses_an_unknown_user(organization):
    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "nobody@acme.test", "--org", "acme", stdout=StringIO())

    assert ApiToken.objects.count() == 0
