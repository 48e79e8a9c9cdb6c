"""The account page: profile and links to password, MFA and e-mail management."""

from accounts.models import AuditLogEntry
from tests.factories import UserFactory


def test_the_account_page_links_to_password_mfa_and_emails(client, db):
    client.force_login(UserFactory())
    content = client.get("/orgs/account/").content.decode()
    assert "/accounts/password/change/" in content
    assert "/accounts/2fa/" in content
    assert "/accounts/email/" in content


def test_a_user_changes_their_name(client, db):
    user = UserFactory(name="Old Name")
    client.force_login(user)
    response = client.post("/orgs/account/", {"name": "Ada Lovelace"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.name == "Ada Lovelace"
    assert AuditLogEntry.objects.filter(action="user.profile_changed", actor=user).exists()


def test_a_too_long_name_is_refused_and_kept_in_the_form(client, db):
    user = UserFactory(name="Old Name")
    client.force_login(user)
    response = client.post("/orgs/account/", {"name": "x" * 151})
    assert response.status_code == 400
    assert ("x" * 151).encode() in response.content
    user.refresh_from_db()
    assert user.name == "Old Name"


def test_the_account_page_needs_sign_in(client, db):
    response = client.get("/orgs/account/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_account_page_lists_open_invitations_for_the_users_address(
    client, organization, other_organization
):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Invitation

    user = UserFactory(email="new@example.test")
    mine = Invitation.objects.create(organization=organization, email="NEW@example.test")
    Invitation.objects.create(organization=other_organization, email="someone@example.test")
    Invitation.objects.create(
        organization=other_organization, email="new@example.test",
        expires_at=timezone.now() - timedelta(days=1),
    )
    client.force_login(user)
    content = client.get("/orgs/account/").content.decode()
    assert mine.get_absolute_url() in content
    assert "Join Acme" in content
    assert "Join Globex" not in content
