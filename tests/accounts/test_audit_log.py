"""The audit log page: org admins only, filterable, paginated, constant queries."""

import pytest

from accounts.audit import record_audit
from accounts.models import Role
from tests.conftest import member_of


def audit_url(organization):
    return f"/orgs/{organization.slug}/audit/"


def test_an_admin_sees_who_did_what_when_and_from_where(client, owner, organization):
    record_audit(
        "membership.role_changed", organization=organization, actor=owner, target="bob@acme.test",
        role="admin",
    )
    from accounts.models import AuditLogEntry

    AuditLogEntry.objects.update(ip_address="192.0.2.10")
    client.force_login(owner)
    content = client.get(audit_url(organization)).content.decode()
    assert "owner@acme.test" in content
    assert "membership.role_changed" in content
    assert "bob@acme.test" in content
    assert "192.0.2.10" in content


def test_the_log_shows_only_this_organizations_entries(client, owner, organization, other_organization):
    record_audit("organization.created", organization=other_organization, target="globex-secret")
    client.force_login(owner)
    assert b"globex-secret" not in client.get(audit_url(organization)).content


def test_filtering_by_action_shows_only_that_action(client, owner, organization):
    record_audit("invitation.created", organization=organization, actor=owner, target="a@x.test")
    record_audit("membership.removed", organization=organization, actor=owner, target="b@x.test")
    client.force_login(owner)
    content = client.get(audit_url(organization), {"action": "invitation.created"}).content.decode()
    assert "a@x.test" in content
    assert "b@x.test" not in content


def test_an_htmx_filter_request_gets_only_the_entries_fragment(client, owner, organization):
    record_audit("invitation.created", organization=organization, actor=owner, target="a@x.test")
    client.force_login(owner)
    response = client.get(
        audit_url(organization), {"action": "invitation.created"}, HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="audit-entries">')
    assert "<html" not in content


def test_the_log_is_paginated_newest_first(client, owner, organization):
    for n in range(55):
        record_audit("invitation.created", organization=organization, target=f"p{n:02d}@x.test")
    client.force_login(owner)
    first = client.get(audit_url(organization)).content.decode()
    assert "p54@x.test" in first
    assert "p04@x.test" not in first
    assert "Page 1 of 2" in first
    second = client.get(audit_url(organization), {"page": 2}).content.decode()
    assert "p04@x.test" in second


def test_a_member_cannot_read_the_audit_log(client, owner, member, organization):
    client.force_login(member)
    assert client.get(audit_url(organization)).status_code == 403


def test_another_tenants_audit_log_is_a_404(client, outsider, organization):
    client.force_login(outsider)
    assert client.get(audit_url(organization)).status_code == 404


@pytest.mark.parametrize("size", [2, 40])
def test_the_audit_log_runs_a_constant_number_of_queries(
    client, owner, organization, django_assert_num_queries, size
):
    admin = member_of(organization, Role.ADMIN, email="admin@acme.test")
    for n in range(size):
        record_audit("invitation.created", organization=organization, actor=admin, target=f"{n}@x")
    client.force_login(owner)
    client.get(audit_url(organization))
    # session, user, current membership, own membership, distinct actions, count, page rows,
    # the switcher's memberships.
    with django_assert_num_queries(8):
        response = client.get(audit_url(organization))
    assert response.content.count(b'id="audit-entry-') == size


def test_the_action_filter_lists_each_recorded_action_once(client, owner, organization):
    for _ in range(3):
        record_audit("invitation.created", organization=organization, actor=owner)
    record_audit("membership.removed", organization=organization, actor=owner)
    client.force_login(owner)
    content = client.get(audit_url(organization)).content.decode()
    assert content.count('<option value="invitation.created"') == 1
    assert content.count('<option value="membership.removed"') == 1
