from functools import partial

import pytest
from django.urls import reverse

from accounts.models import AuditLogEntry
from clusters.kubeconfig import ensure_cluster_ca
from clusters.models import CatalogPolicy, Cluster, InstanceType, KubernetesRelease
from clusters.tasks import reconcile_cluster
from tests.factories import (
    ClusterFactory,
    InstanceTypeFactory,
    KubernetesReleaseFactory,
    NodePoolFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_eager_tasks(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def ops(client):
    staff = UserFactory(email="ops@happa.test", is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.staff = staff
    return client


def changelist(model: str) -> str:
    return reverse(f"admin:clusters_{model}_changelist")


def run_action(ops, action: str, clusters):
    return ops.post(
        changelist("cluster"),
        {"action": action, "_selected_action": [c.pk for c in clusters]},
        follow=True,
    )


def test_the_cluster_list_shows_clusters_of_every_organization(ops, organization,
                                                               other_organization):
    ClusterFactory(id="aaaaa", organization=organization, name="prod")
    ClusterFactory(id="bbbbb", organization=other_organization, name="staging")
    response = ops.get(changelist("cluster"))
    assert response.status_code == 200
    assert b"aaaaa" in response.content
    assert b"bbbbb" in response.content


def test_the_cluster_list_filters_by_status_and_searches_by_organization(
    ops, organization, other_organization
):
    ClusterFactory(id="aaaaa", organization=organization, status=Cluster.Status.FAILED)
    ClusterFactory(id="bbbbb", organization=other_organization, status=Cluster.Status.RUNNING)
    failed = ops.get(changelist("cluster"), {"status__exact": "failed"})
    assert b"aaaaa" in failed.content
    assert b"bbbbb" not in failed.content
    globex = ops.get(changelist("cluster"), {"q": "globex"})
    assert b"bbbbb" in globex.content
    assert b"aaaaa" not in globex.content


def test_the_cluster_page_shows_pools_ledger_and_recent_events(ops, organization):
    cluster = ClusterFactory(id="ccccc", organization=organization)
    NodePoolFactory(cluster=cluster, name="batch", instance_type="c5.2xlarge")
    cluster.resources.create(key="vpc", kind="vpc", aws_id="vpc-0123", step="ensure_vpc")
    cluster.events.create(organization=organization, kind="step", message="VPC created")
    response = ops.get(reverse("admin:clusters_cluster_change", args=[cluster.pk]))
    assert response.status_code == 200
    for text in (b"c5.2xlarge", b"vpc-0123", b"VPC created"):
        assert text in response.content


def test_the_cluster_page_never_shows_the_ca_private_key(ops, organization):
    cluster = ClusterFactory(organization=organization)
    ensure_cluster_ca(cluster)
    response = ops.get(reverse("admin:clusters_cluster_change", args=[cluster.pk]))
    key_body = cluster.ca_private_key.splitlines()[1]
    assert response.status_code == 200
    assert key_body.encode() not in response.content


def test_clusters_cannot_be_deleted_as_rows(ops, organization):
    cluster = ClusterFactory(organization=organization)
    response = ops.get(reverse("admin:clusters_cluster_delete", args=[cluster.pk]))
    assert response.status_code == 403
    assert Cluster.objects.filter(pk=cluster.pk).exists()


def test_retrying_a_failed_cluster_from_the_ops_panel_is_audited(
    ops, organization, django_capture_on_commit_callbacks
):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.FAILED,
                             status_reason="Quota exceeded")
    with django_capture_on_commit_callbacks() as callbacks:
        response = run_action(ops, "retry_provisioning", [cluster])
    assert response.status_code == 200
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.PENDING
    entry = AuditLogEntry.objects.get(action="admin.cluster.retried")
    assert (entry.actor, entry.organization, entry.target) == (ops.staff, organization, cluster.id)
    assert entry.ip_address == "127.0.0.1"
    assert any(isinstance(cb, partial) and cb.func == reconcile_cluster.delay
               and cb.args == (cluster.id,) for cb in callbacks)


def test_retrying_a_running_cluster_is_refused_with_a_message(ops, organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    response = run_action(ops, "retry_provisioning", [cluster])
    assert b"Only a failed cluster can be retried" in response.content
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.RUNNING
    assert not AuditLogEntry.objects.filter(action__startswith="admin.cluster").exists()


def test_force_deleting_a_cluster_requests_deletion_and_is_audited(ops, organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.FAILED)
    run_action(ops, "force_delete", [cluster])
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.DELETING
    entry = AuditLogEntry.objects.get(action="admin.cluster.force_deleted")
    assert (entry.actor, entry.target) == (ops.staff, cluster.id)


def test_force_deleting_a_cluster_stuck_in_deleting_runs_the_teardown_again(
    ops, organization, django_capture_on_commit_callbacks
):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.DELETING)
    with django_capture_on_commit_callbacks() as callbacks:
        run_action(ops, "force_delete", [cluster])
    assert any(isinstance(cb, partial) and cb.func == reconcile_cluster.delay
               and cb.args == (cluster.id,) for cb in callbacks)
    assert AuditLogEntry.objects.filter(action="admin.cluster.force_deleted").count() == 1


def test_ops_choose_recommended_types_in_the_list(ops):
    m5 = InstanceTypeFactory(name="m5.xlarge", is_recommended=True)
    t3 = InstanceTypeFactory(name="t3.large", is_recommended=False, vcpus=2, memory_mib=8192)
    rows = [m5, t3]
    data = {
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2", "_save": "Save",
        **{f"form-{i}-id": str(row.pk) for i, row in enumerate(rows)},
        # Only checked boxes are sent: m5 off, t3 on.
        "form-1-is_recommended": "on",
    }
    response = ops.post(changelist("instancetype"), data)
    assert response.status_code == 302
    assert not InstanceType.objects.get(name="m5.xlarge").is_recommended
    assert InstanceType.objects.get(name="t3.large").is_recommended
    assert AuditLogEntry.objects.filter(action="admin.instancetype.changed").count() == 2


def test_the_sync_action_refreshes_the_catalog_from_ec2(ops, settings):
    settings.HAPPA_REGIONS = ["eu-central-1"]
    seed = InstanceTypeFactory(name="m5.xlarge", vcpus=1, memory_mib=1)
    response = ops.post(changelist("instancetype"),
                        {"action": "sync_from_ec2", "_selected_action": [seed.pk]}, follow=True)
    assert b"Catalog synced from EC2" in response.content
    seed.refresh_from_db()
    assert (seed.vcpus, seed.memory_mib) == (4, 16384)
    assert AuditLogEntry.objects.filter(action="admin.catalog.synced").exists()


def test_the_catalog_policy_switch_is_saved_and_audited(ops):
    policy = CatalogPolicy.current()
    response = ops.post(reverse("admin:clusters_catalogpolicy_change", args=[policy.pk]), {})
    assert response.status_code == 302
    assert CatalogPolicy.current().allow_other_types is False
    assert AuditLogEntry.objects.filter(action="admin.catalogpolicy.changed").exists()


def test_a_new_default_release_takes_over_from_the_old_one(ops):
    KubernetesReleaseFactory(version="1.31.4", is_default=True)
    response = ops.post(reverse("admin:clusters_kubernetesrelease_add"), {
        "version": "1.32.0", "images": '{"eu-central-1": "ami-ekslinux"}',
        "is_default": "on", "is_active": "on",
    })
    assert response.status_code == 302
    assert list(KubernetesRelease.objects.filter(is_default=True).values_list(
        "version", flat=True)) == ["1.32.0"]


def test_a_release_with_a_malformed_image_is_refused(ops):
    response = ops.post(reverse("admin:clusters_kubernetesrelease_add"), {
        "version": "1.32.0", "images": '{"eu-central-1": "ubuntu"}', "is_active": "on",
    })
    assert response.status_code == 200
    assert b"These are not AMI ids" in response.content
    assert not KubernetesRelease.objects.exists()
