"""The ops panel (Django admin at /ops/) for accounts: pages render, changes are audited."""

import hashlib

import pytest
from django.urls import reverse

from accounts.audit import record_audit
from accounts.models import (
    ApiToken,
    AuditLogEntry,
    IdentityProvider,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)
from tests.factories import UserFactory

SECRET = "idp-client-secret-value-42"  # noqa: S105


@pytest.fixture
def ops(db):
    return UserFactory(email="ops@happa.test", is_staff=True, is_superuser=True)


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


@pytest.fixture
def objects(organization, owner, member):
    token_hash = hashlib.sha256(b"secret-token").hexdigest()
    return {
        "organization": organization,
        "user": owner,
        "membership": Membership.objects.get(user=member),
        "invitation": Invitation.objects.create(
            organization=organization, email="new@example.test", invited_by=owner
        ),
        "identityprovider": IdentityProvider.objects.create(
            organization=organization, name="Acme SSO", issuer="http://127.0.0.1:9/",
            client_id="happa", client_secret=SECRET,
        ),
        "apitoken": ApiToken.objects.create(
            organization=organization, user=owner, name="ci", prefix="hp_abcd",
            token_hash=token_hash,
        ),
        "auditlogentry": record_audit("organization.created", organization=organization),
    }


MODELS = [
    "organization", "user", "membership", "invitation", "identityprovider", "apitoken",
    "auditlogentry",
]


@pytest.mark.parametrize("model", MODELS)
def test_the_changelist_renders_for_a_superuser(ops_client, objects, model):
    response = ops_client.get(reverse(f"admin:accounts_{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_the_change_view_renders_for_a_superuser(ops_client, objects, model):
    obj = objects[model]
    response = ops_client.get(reverse(f"admin:accounts_{model}_change", args=[obj.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["organization", "user", "membership", "invitation", "identityprovider"])
def test_the_add_view_renders_for_a_superuser(ops_client, objects, model):
    assert ops_client.get(reverse(f"admin:accounts_{model}_add")).status_code == 200


def test_a_customer_without_staff_flag_cannot_open_the_ops_panel(client, owner):
    client.force_login(owner)
    response = client.get(reverse("admin:accounts_organization_changelist"))
    assert response.status_code == 302
    assert "/ops/login/" in response["Location"]


def test_the_organization_list_shows_member_counts(ops_client, objects, organization):
    content = ops_client.get(reverse("admin:accounts_organization_changelist")).content.decode()
    assert 'class="field-member_count">2<' in content


def test_searching_users_by_email_finds_them(ops_client, objects):
    url = reverse("admin:accounts_user_changelist")
    content = ops_client.get(url, {"q": "owner@acme"}).content.decode()
    assert "owner@acme.test" in content
    assert "member@acme.test" not in content


def test_editing_quotas_in_the_list_is_saved_and_audited(ops_client, ops, organization):
    response = ops_client.post(
        reverse("admin:accounts_organization_changelist"),
        {
            "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000", "form-0-id": str(organization.pk),
            "form-0-max_clusters": "25", "form-0-max_nodes": "300", "_save": "Save",
        },
    )
    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.max_clusters, organization.max_nodes) == (25, 300)
    entry = AuditLogEntry.objects.get(action="admin.organization.changed")
    assert entry.actor == ops
    assert entry.organization == organization
    assert entry.details["changes"] == [{"changed": {"fields": ["Max clusters", "Max nodes"]}}]


def test_changing_a_role_in_the_panel_is_audited(ops_client, ops, objects, organization):
    membership = objects["membership"]
    response = ops_client.post(
        reverse("admin:accounts_membership_change", args=[membership.pk]),
        {"user": membership.user_id, "organization": organization.pk, "role": "admin"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    assert AuditLogEntry.objects.filter(
        action="admin.membership.changed", organization=organization, actor=ops
    ).exists()


def test_deleting_a_membership_in_the_panel_is_audited(ops_client, objects, organization):
    membership = objects["membership"]
    response = ops_client.post(
        reverse("admin:accounts_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditLogEntry.objects.filter(
        action="admin.membership.deleted", organization=organization
    ).exists()


def test_creating_a_user_in_the_panel_is_audited(ops_client, db):
    response = ops_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "new-ops@happa.test", "usable_password": "true",
            "password1": "a-long-enough-passphrase-9", "password2": "a-long-enough-passphrase-9",
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(email="new-ops@happa.test").exists()
    assert AuditLogEntry.objects.filter(action="admin.user.created", target="new-ops@happa.test").exists()


def test_the_identity_providers_client_secret_is_never_displayed(ops_client, objects):
    provider = objects["identityprovider"]
    content = ops_client.get(
        reverse("admin:accounts_identityprovider_change", args=[provider.pk])
    ).content.decode()
    assert SECRET not in content
    assert 'type="password"' in content


def test_saving_an_identity_provider_without_a_new_secret_keeps_the_old_one(ops_client, objects):
    provider = objects["identityprovider"]
    response = ops_client.post(
        reverse("admin:accounts_identityprovider_change", args=[provider.pk]),
        {
            "organization": provider.organization_id, "name": "Acme Login",
            "issuer": provider.issuer, "client_id": "happa", "groups_claim": "groups",
            "group_roles": "{}", "default_role": "member", "allowed_email_domains": "[]",
            "new_client_secret": "",
        },
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.name == "Acme Login"
    assert provider.client_secret == SECRET


def test_revoking_tokens_from_the_panel_marks_them_revoked_and_audits(ops_client, objects):
    token = objects["apitoken"]
    response = ops_client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [str(token.pk)]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not ApiToken.objects.usable().filter(pk=token.pk).exists()
    assert AuditLogEntry.objects.filter(action="admin.apitoken.revoked").exists()


def test_the_token_hash_is_read_only(ops_client, objects):
    token = objects["apitoken"]
    content = ops_client.get(
        reverse("admin:accounts_apitoken_change", args=[token.pk])
    ).content.decode()
    assert 'name="token_hash"' not in content
    assert token.token_hash in content


def test_audit_entries_cannot_be_deleted_from_the_panel(ops_client, objects):
    entry = objects["auditlogentry"]
    response = ops_client.post(
        reverse("admin:accounts_auditlogentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert AuditLogEntry.objects.filter(pk=entry.pk).exists()


def test_audit_entries_filter_by_organization_and_action(ops_client, objects, other_organization):
    record_audit("invitation.created", organization=other_organization, target="globex-entry")
    url = reverse("admin:accounts_auditlogentry_changelist")
    content = ops_client.get(
        url, {"organization__id__exact": other_organization.pk, "action": "invitation.created"}
    ).content.decode()
    assert "globex-entry" in content
    assert Organization.objects.count() == 2


def test_the_panel_validates_ssh_networks_like_the_settings_page(ops_client, organization):
    response = ops_client.post(
        reverse("admin:accounts_organization_change", args=[organization.pk]),
        {
            "name": "Acme", "slug": "acme", "max_clusters": "10", "max_nodes": "100",
            "allowed_ssh_cidrs": "10.1.2.3/8", "ssh_public_key": "", "aws_role_arn": "",
            "aws_external_id": "", "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "did you mean 10.0.0.0/8" in response.content.decode()
    organization.refresh_from_db()
    assert organization.allowed_ssh_cidrs == []


def test_adding_a_member_inline_on_the_organization_page_is_audited(ops_client, organization):
    newcomer = UserFactory(email="inline@acme.test")
    response = ops_client.post(
        reverse("admin:accounts_organization_change", args=[organization.pk]),
        {
            "name": "Acme", "slug": "acme", "max_clusters": "10", "max_nodes": "100",
            "allowed_ssh_cidrs": "", "ssh_public_key": "", "aws_role_arn": "",
            "aws_external_id": "", "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0", "memberships-0-user": str(newcomer.pk),
            "memberships-0-role": "viewer",
        },
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=newcomer, organization=organization).role == Role.VIEWER
    entry = AuditLogEntry.objects.get(action="admin.organization.changed")
    assert entry.details["changes"][0]["added"]["name"] == "membership"
