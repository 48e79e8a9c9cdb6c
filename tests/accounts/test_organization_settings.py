"""Creating an organization and editing its settings."""

from accounts.middleware import SESSION_KEY
from accounts.models import AuditLogEntry, Membership, Organization, Role
from tests.factories import UserFactory

ED25519_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"
)
VALID = {
    "name": "Acme Corp",
    "allowed_ssh_cidrs": "203.0.113.0/24\n2001:db8::/32",
    "ssh_public_key": ED25519_KEY,
    "aws_role_arn": "arn:aws:iam::123456789012:role/happa-provisioner",
    "aws_external_id": "acme-7f3a",
}


def settings_url(organization):
    return f"/orgs/{organization.slug}/settings/"


def test_any_signed_in_user_creates_an_organization_and_owns_it(client, db):
    user = UserFactory()
    client.force_login(user)
    response = client.post("/orgs/new/", {"name": "Initech Labs"})
    assert response.status_code == 302
    organization = Organization.objects.get(slug="initech-labs")
    assert Membership.objects.get(user=user, organization=organization).role == Role.OWNER
    assert client.session[SESSION_KEY] == organization.id
    assert AuditLogEntry.objects.filter(action="organization.created", organization=organization).exists()


def test_creating_an_organization_with_a_taken_short_name_keeps_the_input(client, organization):
    client.force_login(UserFactory())
    response = client.post("/orgs/new/", {"name": "Acme again", "slug": "acme"})
    assert response.status_code == 400
    assert "is taken" in response.content.decode()
    assert b'value="Acme again"' in response.content
    assert Organization.objects.count() == 1


def test_a_malformed_short_name_is_refused(client, db):
    client.force_login(UserFactory())
    response = client.post("/orgs/new/", {"name": "X", "slug": "-Bad_Slug-"})
    assert response.status_code == 400
    assert not Organization.objects.exists()


def test_an_admin_saves_valid_settings(client, owner, organization):
    client.force_login(owner)
    response = client.post(settings_url(organization), VALID)
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.name == "Acme Corp"
    assert organization.allowed_ssh_cidrs == ["203.0.113.0/24", "2001:db8::/32"]
    assert organization.ssh_public_key == ED25519_KEY
    assert organization.aws_role_arn == VALID["aws_role_arn"]
    entry = AuditLogEntry.objects.get(action="organization.settings_changed")
    assert entry.details["fields"] == sorted(
        ["name", "allowed_ssh_cidrs", "ssh_public_key", "aws_role_arn", "aws_external_id"]
    )


def test_a_cidr_with_host_bits_gets_a_suggestion_and_nothing_is_saved(client, owner, organization):
    client.force_login(owner)
    response = client.post(settings_url(organization), {**VALID, "allowed_ssh_cidrs": "10.1.2.3/8"})
    assert response.status_code == 400
    assert "did you mean 10.0.0.0/8" in response.content.decode()
    organization.refresh_from_db()
    assert organization.allowed_ssh_cidrs == []
    assert organization.name == "Acme"


def test_a_cidr_that_is_not_a_network_is_named_in_the_error(client, owner, organization):
    client.force_login(owner)
    response = client.post(settings_url(organization), {**VALID, "allowed_ssh_cidrs": "300.1.1.0/24"})
    assert response.status_code == 400
    assert "300.1.1.0/24 is not an IPv4 or IPv6 network" in response.content.decode()
    assert b"300.1.1.0/24</textarea>" in response.content


def test_a_private_key_pasted_as_ssh_key_is_refused(client, owner, organization):
    client.force_login(owner)
    response = client.post(
        settings_url(organization),
        {**VALID, "ssh_public_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n"},
    )
    assert response.status_code == 400
    assert "not the private key" in response.content.decode()
    organization.refresh_from_db()
    assert organization.ssh_public_key == ""


def test_an_ssh_key_with_corrupt_data_is_refused(client, owner, organization):
    client.force_login(owner)
    response = client.post(
        settings_url(organization), {**VALID, "ssh_public_key": "ssh-ed25519 AAAAnotbase64!! x"}
    )
    assert response.status_code == 400
    assert "does not decode" in response.content.decode()


def test_a_malformed_role_arn_is_refused(client, owner, organization):
    client.force_login(owner)
    response = client.post(
        settings_url(organization), {**VALID, "aws_role_arn": "arn:aws:iam::12345:user/bob"}
    )
    assert response.status_code == 400
    assert "Enter an IAM role ARN" in response.content.decode()
    organization.refresh_from_db()
    assert organization.aws_role_arn == ""


def test_quotas_are_shown_but_not_editable(client, owner, organization):
    client.force_login(owner)
    response = client.post(settings_url(organization), {**VALID, "max_clusters": "999"})
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.max_clusters == 10
    page = client.get(settings_url(organization)).content.decode()
    assert "Clusters at once" in page
    assert 'name="max_clusters"' not in page


def test_a_member_cannot_open_or_post_the_settings(client, owner, member, organization):
    client.force_login(member)
    assert client.get(settings_url(organization)).status_code == 403
    assert client.post(settings_url(organization), VALID).status_code == 403
    organization.refresh_from_db()
    assert organization.name == "Acme"


def test_another_tenants_settings_post_is_a_404(client, outsider, organization):
    client.force_login(outsider)
    assert client.post(settings_url(organization), VALID).status_code == 404
    organization.refresh_from_db()
    assert organization.name == "Acme"


def test_saving_unchanged_settings_writes_no_audit_entry(client, owner, organization):
    client.force_login(owner)
    client.post(settings_url(organization), {"name": "Acme", "allowed_ssh_cidrs": ""})
    assert not AuditLogEntry.objects.exists()
