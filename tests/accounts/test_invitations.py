"""Invitations by e-mail: invite, accept, expire, revoke, resend."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLogEntry, Invitation, Membership, Role
from tests.conftest import member_of
from tests.factories import UserFactory


@pytest.fixture
def invitation(organization, owner):
    return Invitation.objects.create(
        organization=organization, email="new@example.test", role=Role.MEMBER, invited_by=owner
    )


def invite(client, organization, email="new@example.test", role="member"):
    return client.post(f"/orgs/{organization.slug}/invitations/", {"email": email, "role": role})


def test_an_admin_invites_by_email_and_the_link_is_mailed(
    client, owner, organization, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client, organization, email="New@Example.test", role="admin")
    assert response.status_code == 302
    invitation = Invitation.objects.get(organization=organization)
    assert (invitation.email, invitation.role) == ("new@example.test", Role.ADMIN)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new@example.test"]
    assert f"/orgs/invitations/{invitation.token}/" in mailoutbox[0].body
    assert AuditLogEntry.objects.filter(action="invitation.created", target="new@example.test").exists()


def test_an_invalid_email_keeps_the_input_and_sends_nothing(client, owner, organization, mailoutbox):
    client.force_login(owner)
    response = invite(client, organization, email="not-an-address")
    assert response.status_code == 400
    assert b'value="not-an-address"' in response.content
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_inviting_an_existing_member_is_refused(client, owner, member, organization):
    client.force_login(owner)
    response = invite(client, organization, email="member@acme.test")
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_inviting_someone_with_an_open_invitation_is_refused(client, owner, invitation, organization):
    client.force_login(owner)
    response = invite(client, organization, email="new@example.test")
    assert response.status_code == 400
    assert Invitation.objects.count() == 1


def test_an_admin_cannot_invite_an_owner(client, owner, organization):
    admin = member_of(organization, Role.ADMIN, email="admin@acme.test")
    client.force_login(admin)
    response = invite(client, organization, role="owner")
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_a_member_cannot_invite(client, owner, member, organization):
    client.force_login(member)
    assert invite(client, organization).status_code == 403
    assert not Invitation.objects.exists()


def test_inviting_into_another_organization_is_a_404(client, outsider, organization, owner):
    client.force_login(outsider)
    assert invite(client, organization).status_code == 404
    assert not Invitation.objects.exists()


def test_the_invitee_signed_in_with_that_address_accepts_and_becomes_a_member(
    client, invitation, organization
):
    invitee = UserFactory(email="new@example.test")
    client.force_login(invitee)
    page = client.get(invitation.get_absolute_url())
    assert page.status_code == 200
    assert b"Join Acme" in page.content
    response = client.post(invitation.get_absolute_url())
    assert response.status_code == 302
    membership = Membership.objects.get(user=invitee, organization=organization)
    assert membership.role == Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.accepted_by == invitee
    assert invitation.accepted_at is not None
    assert AuditLogEntry.objects.filter(action="invitation.accepted", actor=invitee).exists()


def test_a_signed_out_visitor_is_offered_to_sign_in_or_sign_up(client, invitation):
    response = client.get(invitation.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert "/accounts/login/?next=" in content
    assert "/accounts/signup/?next=" in content
    assert not Membership.objects.filter(user__email="new@example.test").exists()


def test_someone_signed_in_with_another_address_cannot_accept(client, invitation, organization):
    stranger = UserFactory(email="stranger@example.test")
    client.force_login(stranger)
    response = client.post(invitation.get_absolute_url())
    assert response.status_code == 403
    assert "sent to new@example.test" in response.content.decode()
    assert not Membership.objects.filter(user=stranger).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_a_verified_secondary_address_may_accept(client, invitation, organization):
    from allauth.account.models import EmailAddress

    invitee = UserFactory(email="primary@example.test")
    EmailAddress.objects.create(user=invitee, email="new@example.test", verified=True)
    client.force_login(invitee)
    assert client.post(invitation.get_absolute_url()).status_code == 302
    assert Membership.objects.filter(user=invitee, organization=organization).exists()


def test_an_expired_invitation_says_so_and_grants_nothing(client, invitation, organization):
    invitation.expires_at = timezone.now() - timedelta(minutes=1)
    invitation.save()
    invitee = UserFactory(email="new@example.test")
    client.force_login(invitee)
    response = client.post(invitation.get_absolute_url())
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not Membership.objects.filter(user=invitee).exists()


def test_a_used_invitation_cannot_be_used_again(client, invitation, organization):
    invitee = UserFactory(email="new@example.test")
    client.force_login(invitee)
    client.post(invitation.get_absolute_url())
    Membership.objects.filter(user=invitee).delete()
    response = client.post(invitation.get_absolute_url())
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert not Membership.objects.filter(user=invitee).exists()


def test_an_unknown_token_is_a_404_with_a_clear_message(client, db):
    response = client.get("/orgs/invitations/no-such-token/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_a_revoked_invitation_link_stops_working(client, owner, invitation, organization):
    client.force_login(owner)
    response = client.post(f"/orgs/{organization.slug}/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    assert AuditLogEntry.objects.filter(action="invitation.revoked").exists()
    client.logout()
    client.force_login(UserFactory(email="new@example.test"))
    assert client.post(invitation.get_absolute_url()).status_code == 404


def test_resending_mails_the_link_again_with_a_fresh_expiry(
    client, owner, invitation, organization, mailoutbox, django_capture_on_commit_callbacks
):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/orgs/{organization.slug}/invitations/{invitation.pk}/resend/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    assert len(mailoutbox) == 1
    assert invitation.token in mailoutbox[0].body
    assert AuditLogEntry.objects.filter(action="invitation.resent").exists()


def test_a_viewer_cannot_revoke_an_invitation(client, viewer, invitation, organization):
    client.force_login(viewer)
    response = client.post(f"/orgs/{organization.slug}/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 403
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_revoking_another_organizations_invitation_is_a_404(
    client, outsider, invitation, organization
):
    client.force_login(outsider)
    response = client.post(f"/orgs/globex/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_open_invitations_are_listed_for_admins(client, owner, invitation, organization):
    client.force_login(owner)
    content = client.get(f"/orgs/{organization.slug}/members/").content.decode()
    assert "new@example.test" in content
    assert f"/invitations/{invitation.pk}/revoke/" in content


def test_accepting_while_already_a_member_keeps_the_current_role(
    client, owner, member, organization
):
    invitation = Invitation.objects.create(
        organization=organization, email="member@acme.test", role=Role.ADMIN
    )
    client.force_login(member)
    assert client.post(invitation.get_absolute_url()).status_code == 302
    assert Membership.objects.get(user=member, organization=organization).role == Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_an_email_link_points_at_the_configured_site_url(
    client, owner, organization, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://happa.example.com"
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, organization)
    token = Invitation.objects.get().token
    assert f"https://happa.example.com/orgs/invitations/{token}/" in mailoutbox[0].body
