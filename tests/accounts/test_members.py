"""Members page: who sees what, who may change roles or remove whom."""

import pytest

from accounts.models import AuditLogEntry, Membership, Role
from tests.conftest import member_of


def membership_of(user, organization):
    return Membership.objects.get(user=user, organization=organization)


def test_every_member_sees_the_member_list_with_roles(client, owner, viewer, organization):
    client.force_login(viewer)
    response = client.get(f"/orgs/{organization.slug}/members/")
    assert response.status_code == 200
    assert b"owner@acme.test" in response.content
    assert b"viewer@acme.test" in response.content


def test_a_viewer_sees_no_role_or_remove_buttons(client, owner, viewer, organization):
    client.force_login(viewer)
    content = client.get(f"/orgs/{organization.slug}/members/").content.decode()
    assert "Change role" not in content
    assert ">Remove<" not in content
    assert "Send invitation" not in content


def test_an_admin_sees_role_and_remove_buttons(client, owner, member, organization):
    admin = member_of(organization, Role.ADMIN, email="admin@acme.test")
    client.force_login(admin)
    content = client.get(f"/orgs/{organization.slug}/members/").content.decode()
    assert "Change role" in content
    assert "Send invitation" in content
    assert f"/members/{membership_of(member, organization).pk}/remove/" in content


def test_another_organizations_member_list_is_a_404(client, outsider, organization, owner):
    client.force_login(outsider)
    assert client.get(f"/orgs/{organization.slug}/members/").status_code == 404


def test_changing_a_role_in_another_organization_is_a_404(client, outsider, owner, organization):
    client.force_login(outsider)
    target = membership_of(owner, organization)
    response = client.post(
        f"/orgs/{organization.slug}/members/{target.pk}/role/", {"role": "viewer"}
    )
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.role == Role.OWNER


def test_a_membership_id_of_another_organization_is_a_404_even_for_an_owner(
    client, owner, organization, outsider, other_organization
):
    client.force_login(owner)
    foreign = membership_of(outsider, other_organization)
    response = client.post(
        f"/orgs/{organization.slug}/members/{foreign.pk}/role/", {"role": "viewer"}
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.OWNER


def test_a_forged_role_change_by_a_viewer_is_refused_with_403(
    client, owner, viewer, member, organization
):
    client.force_login(viewer)
    target = membership_of(member, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/role/", {"role": "viewer"})
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_a_forged_removal_by_a_member_is_refused_with_403(client, owner, viewer, member, organization):
    client.force_login(member)
    target = membership_of(viewer, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/remove/")
    assert response.status_code == 403
    assert Membership.objects.filter(pk=target.pk).exists()


def test_an_admin_changes_a_members_role(client, owner, member, organization):
    admin = member_of(organization, Role.ADMIN, email="admin@acme.test")
    client.force_login(admin)
    target = membership_of(member, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/role/", {"role": "viewer"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == Role.VIEWER


def test_an_admin_cannot_make_someone_an_owner(client, owner, member, organization):
    admin = member_of(organization, Role.ADMIN, email="admin@acme.test")
    client.force_login(admin)
    target = membership_of(member, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/role/", {"role": "owner"})
    assert response.status_code == 400
    assert "Only an owner" in response.content.decode()
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_an_admin_cannot_demote_an_owner(client, owner, organization):
    member_of(organization, Role.OWNER, email="second-owner@acme.test")
    admin = member_of(organization, Role.ADMIN, email="admin@acme.test")
    client.force_login(admin)
    target = membership_of(owner, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/role/", {"role": "member"})
    assert response.status_code == 400
    target.refresh_from_db()
    assert target.role == Role.OWNER


def test_an_admin_cannot_remove_an_owner(client, owner, organization):
    admin = member_of(organization, Role.ADMIN, email="admin@acme.test")
    client.force_login(admin)
    target = membership_of(owner, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/remove/")
    assert response.status_code == 400
    assert Membership.objects.filter(pk=target.pk).exists()


def test_an_admin_cannot_raise_their_own_role(client, owner, organization):
    admin = member_of(organization, Role.ADMIN, email="admin@acme.test")
    client.force_login(admin)
    mine = membership_of(admin, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{mine.pk}/role/", {"role": "owner"})
    assert response.status_code == 400
    mine.refresh_from_db()
    assert mine.role == Role.ADMIN


def test_a_member_cannot_raise_their_own_role(client, owner, member, organization):
    client.force_login(member)
    mine = membership_of(member, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{mine.pk}/role/", {"role": "admin"})
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.role == Role.MEMBER


def test_an_owner_makes_another_member_an_owner(client, owner, member, organization):
    client.force_login(owner)
    target = membership_of(member, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/role/", {"role": "owner"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == Role.OWNER


def test_the_last_owner_cannot_be_demoted(client, owner, organization):
    client.force_login(owner)
    mine = membership_of(owner, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{mine.pk}/role/", {"role": "admin"})
    assert response.status_code == 400
    assert "last owner" in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_the_last_owner_cannot_leave(client, owner, member, organization):
    client.force_login(owner)
    mine = membership_of(owner, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{mine.pk}/remove/")
    assert response.status_code == 400
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_an_owner_with_a_co_owner_can_step_down(client, owner, organization):
    member_of(organization, Role.OWNER, email="second-owner@acme.test")
    client.force_login(owner)
    mine = membership_of(owner, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{mine.pk}/role/", {"role": "admin"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.role == Role.ADMIN


def test_an_owner_removes_a_co_owner(client, owner, organization):
    co_owner = member_of(organization, Role.OWNER, email="second-owner@acme.test")
    client.force_login(owner)
    target = membership_of(co_owner, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()


def test_a_viewer_can_leave_the_organization(client, owner, viewer, organization):
    client.force_login(viewer)
    mine = membership_of(viewer, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{mine.pk}/remove/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not Membership.objects.filter(pk=mine.pk).exists()
    assert AuditLogEntry.objects.filter(action="membership.left", actor=viewer).exists()


def test_an_unknown_role_is_refused(client, owner, member, organization):
    client.force_login(owner)
    target = membership_of(member, organization)
    response = client.post(f"/orgs/{organization.slug}/members/{target.pk}/role/", {"role": "god"})
    assert response.status_code == 400
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_a_role_change_is_audited_with_who_what_and_from_where(client, owner, member, organization):
    client.force_login(owner)
    target = membership_of(member, organization)
    client.post(
        f"/orgs/{organization.slug}/members/{target.pk}/role/", {"role": "admin"},
        REMOTE_ADDR="198.51.100.7",
    )
    entry = AuditLogEntry.objects.get(action="membership.role_changed")
    assert entry.organization == organization
    assert entry.actor == owner
    assert entry.target == "member@acme.test"
    assert entry.details == {"previous": "member", "role": "admin"}
    assert entry.ip_address == "198.51.100.7"


def test_a_removal_is_audited(client, owner, member, organization):
    client.force_login(owner)
    target = membership_of(member, organization)
    client.post(f"/orgs/{organization.slug}/members/{target.pk}/remove/")
    entry = AuditLogEntry.objects.get(action="membership.removed")
    assert (entry.actor, entry.target) == (owner, "member@acme.test")


def test_a_refused_change_writes_no_audit_entry(client, owner, organization):
    client.force_login(owner)
    mine = membership_of(owner, organization)
    client.post(f"/orgs/{organization.slug}/members/{mine.pk}/role/", {"role": "viewer"})
    assert not AuditLogEntry.objects.exists()


@pytest.mark.parametrize("size", [3, 30])
def test_the_member_list_runs_a_constant_number_of_queries(
    client, owner, organization, django_assert_num_queries, size
):
    for n in range(size):
        member_of(organization, Role.MEMBER, email=f"m{n}@acme.test")
    client.force_login(owner)
    url = f"/orgs/{organization.slug}/members/"
    client.get(url)  # warm the session
    # session, user, current membership (middleware), member's own membership, members,
    # invitations, the switcher's memberships.
    with django_assert_num_queries(7):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.count(b'id="member-') == size + 1
