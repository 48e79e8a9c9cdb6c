import ipaddress
from functools import partial

import pytest

from accounts.models import AuditLogEntry
from clusters.models import CatalogPolicy, Cluster, Event, InstanceType, NodePool
from clusters.operations import (
    ClusterSpec,
    InvalidRequest,
    NodePoolSpec,
    add_node_pool,
    launch_cluster,
    request_cluster_deletion,
    request_node_pool_deletion,
    request_scale,
    retry_provisioning,
)
from clusters.tasks import reconcile_cluster
from tests.factories import (
    ClusterFactory,
    InstanceTypeFactory,
    KubernetesReleaseFactory,
    NodePoolFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_eager_tasks(settings):
    # Launching only enqueues; these tests never run the engine.
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def release():
    images = {region: "ami-ekslinux" for region in ("eu-central-1", "us-east-1", "us-west-1")}
    return KubernetesReleaseFactory(version="1.31.4", is_default=True, images=images)


def spec(**overrides) -> ClusterSpec:
    values = {"name": "demo", "node_pools": [NodePoolSpec(min_size=3, max_size=3)]}
    values.update(overrides)
    return ClusterSpec(**values)


def counts() -> tuple[int, int, int, int]:
    return (
        Cluster.objects.count(),
        NodePool.objects.count(),
        Event.objects.count(),
        AuditLogEntry.objects.count(),
    )


def refused(organization, user, cluster_spec: ClusterSpec) -> dict[str, list[str]]:
    """Launch, expect a refusal that changed nothing, and return the messages."""
    before = counts()
    with pytest.raises(InvalidRequest) as refusal:
        launch_cluster(organization, user, cluster_spec)
    assert counts() == before
    return refusal.value.fields


def reconciles_enqueued(callbacks) -> list[str]:
    return [
        cb.args[0]
        for cb in callbacks
        if isinstance(cb, partial) and cb.func == reconcile_cluster.delay
    ]


# --- launch ---------------------------------------------------------------------------------------


def test_launch_creates_a_pending_cluster_with_its_pool(organization, member, release):
    cluster = launch_cluster(organization, member, spec())
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.PENDING
    assert cluster.organization == organization
    assert cluster.release == release
    assert cluster.availability_zones == ["eu-central-1a", "eu-central-1b"]
    assert cluster.created_by == member
    pool = cluster.node_pools.get()
    assert (pool.name, pool.instance_type) == ("default", "m5.xlarge")
    assert (pool.min_size, pool.max_size, pool.desired_size) == (3, 3, 3)


def test_launch_records_a_requested_event_and_an_audit_entry(organization, member, release):
    cluster = launch_cluster(organization, member, spec())
    assert cluster.events.get().message == "Cluster requested"
    entry = AuditLogEntry.objects.get(action="cluster.launched")
    assert (entry.organization, entry.actor, entry.target) == (organization, member, cluster.id)


def test_launch_enqueues_a_reconcile_after_commit(
    organization, member, release, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        cluster = launch_cluster(organization, member, spec())
    assert reconciles_enqueued(callbacks) == [cluster.id]


def test_launch_with_three_zones_picks_three_distinct_zones(organization, member, release):
    cluster = launch_cluster(organization, member, spec(availability_zone_count=3))
    assert cluster.availability_zones == ["eu-central-1a", "eu-central-1b", "eu-central-1c"]


def test_desired_size_defaults_to_the_minimum(organization, member, release):
    cluster = launch_cluster(
        organization, member, spec(node_pools=[NodePoolSpec(min_size=2, max_size=5)])
    )
    assert cluster.node_pools.get().desired_size == 2


def test_clusters_of_one_organization_get_non_overlapping_vpc_ranges(organization, member, release):
    cidrs = [
        launch_cluster(organization, member, spec(name=f"demo {n}")).vpc_cidr for n in range(4)
    ]
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    for index, network in enumerate(networks):
        assert network.prefixlen == 16
        assert not any(network.overlaps(other) for other in networks[index + 1 :])


def test_a_deleted_clusters_vpc_range_is_reused(organization, member, release):
    ClusterFactory(organization=organization, vpc_cidr="10.0.0.0/16", status="deleted")
    ClusterFactory(organization=organization, vpc_cidr="10.1.0.0/16")
    assert launch_cluster(organization, member, spec()).vpc_cidr == "10.0.0.0/16"


def test_another_organizations_vpc_ranges_do_not_count(
    organization, other_organization, member, release
):
    ClusterFactory(organization=other_organization, vpc_cidr="10.0.0.0/16")
    assert launch_cluster(organization, member, spec()).vpc_cidr == "10.0.0.0/16"


def test_the_name_is_trimmed(organization, member, release):
    assert launch_cluster(organization, member, spec(name="  my cluster ")).name == "my cluster"


# --- launch refusals: each changes nothing ---------------------------------------------------


def test_an_unknown_instance_type_is_refused(organization, member, release):
    fields = refused(
        organization, member, spec(node_pools=[NodePoolSpec(instance_type="m5.huge")])
    )
    assert fields["node_pools.0.instance_type"] == [
        '"m5.huge" is not an EC2 instance type we know.'
    ]


def test_an_instance_type_not_offered_in_the_region_is_refused(organization, member, release):
    InstanceTypeFactory(name="x9.large", regions=["us-east-1"], is_recommended=True)
    fields = refused(
        organization, member, spec(node_pools=[NodePoolSpec(instance_type="x9.large")])
    )
    assert fields["node_pools.0.instance_type"] == ["x9.large is not offered in eu-central-1."]


def test_a_type_ops_do_not_allow_is_refused(organization, member, release):
    InstanceTypeFactory(name="t3.large", regions=["eu-central-1"], is_recommended=False)
    InstanceTypeFactory(name="m5.xlarge", regions=["eu-central-1"], is_recommended=True)
    CatalogPolicy.objects.update_or_create(pk=1, defaults={"allow_other_types": False})
    fields = refused(
        organization, member, spec(node_pools=[NodePoolSpec(instance_type="t3.large")])
    )
    assert fields["node_pools.0.instance_type"] == [
        "t3.large is not one of the recommended instance types (m5.xlarge)."
    ]


def test_a_type_outside_the_recommended_list_is_accepted_when_ops_allow_others(
    organization, member, release
):
    InstanceTypeFactory(name="t3.large", regions=["eu-central-1"], is_recommended=False)
    CatalogPolicy.objects.update_or_create(pk=1, defaults={"allow_other_types": True})
    cluster = launch_cluster(
        organization, member, spec(node_pools=[NodePoolSpec(instance_type="t3.large")])
    )
    assert cluster.node_pools.get().instance_type == "t3.large"


def test_min_above_max_is_refused(organization, member, release):
    fields = refused(organization, member, spec(node_pools=[NodePoolSpec(min_size=5, max_size=3)]))
    assert fields["node_pools.0.min_size"] == [
        "The minimum size (5) cannot be larger than the maximum size (3)."
    ]


def test_desired_outside_min_and_max_is_refused(organization, member, release):
    fields = refused(
        organization, member,
        spec(node_pools=[NodePoolSpec(min_size=2, max_size=4, desired_size=7)]),
    )
    assert fields["node_pools.0.desired_size"] == [
        "The desired size (7) must be between the minimum (2) and the maximum (4)."
    ]


def test_a_pool_of_zero_nodes_is_refused(organization, member, release):
    fields = refused(organization, member, spec(node_pools=[NodePoolSpec(min_size=0, max_size=0)]))
    assert fields["node_pools.0.min_size"] == ["A node pool needs at least 1 node."]


def test_a_pool_above_the_sane_maximum_is_refused(organization, member, release):
    organization.max_nodes = 1000
    organization.save()
    fields = refused(
        organization, member, spec(node_pools=[NodePoolSpec(min_size=3, max_size=101)])
    )
    assert fields["node_pools.0.max_size"] == ["A node pool can have at most 100 nodes."]


def test_exceeding_the_node_quota_is_refused(organization, member, release):
    organization.max_nodes = 10
    organization.save()
    NodePoolFactory(cluster=ClusterFactory(organization=organization), max_size=8)
    fields = refused(organization, member, spec(node_pools=[NodePoolSpec(min_size=3, max_size=3)]))
    assert fields["node_pools"] == [
        "This would bring Acme to 11 worker nodes (the maximum size of all its node pools); "
        "the organization's quota is 10."
    ]


def test_deleted_clusters_do_not_count_against_the_node_quota(organization, member, release):
    organization.max_nodes = 10
    organization.save()
    deleted = ClusterFactory(organization=organization, status=Cluster.Status.DELETED)
    NodePoolFactory(cluster=deleted, max_size=8)
    assert launch_cluster(organization, member, spec()).status == Cluster.Status.PENDING


def test_exceeding_the_cluster_quota_is_refused(organization, member, release):
    organization.max_clusters = 1
    organization.save()
    ClusterFactory(organization=organization)
    fields = refused(organization, member, spec())
    assert fields[""] == [
        "Acme already has 1 clusters, its quota. Delete one or ask us to raise the quota."
    ]


def test_a_duplicate_name_is_refused(organization, member, release):
    ClusterFactory(organization=organization, name="demo")
    fields = refused(organization, member, spec(name="demo"))
    assert fields["name"] == ['Acme already has a cluster named "demo".']


def test_the_same_name_in_another_organization_is_fine(
    organization, other_organization, member, release
):
    ClusterFactory(organization=other_organization, name="demo")
    assert launch_cluster(organization, member, spec(name="demo")).name == "demo"


@pytest.mark.parametrize("name", ["ab", "x" * 101, "demo_1", "démo!", ""])
def test_a_bad_name_is_refused(organization, member, release, name):
    fields = refused(organization, member, spec(name=name))
    assert fields["name"] == ["Use 3–100 letters, digits, spaces and hyphens for the cluster name."]


@pytest.mark.parametrize("count", [0, 4])
def test_an_availability_zone_count_outside_one_to_three_is_refused(
    organization, member, release, count
):
    fields = refused(organization, member, spec(availability_zone_count=count))
    assert fields["availability_zone_count"] == ["Choose 1, 2 or 3 availability zones."]


def test_more_zones_than_the_region_has_is_refused(organization, member, release, settings):
    # The sandbox's us-west-1 has two availability zones, like the real one.
    settings.HAPPA_REGIONS = ["eu-central-1", "us-west-1"]
    InstanceTypeFactory(name="m5.xlarge", regions=["us-west-1"])
    fields = refused(organization, member, spec(region="us-west-1", availability_zone_count=3))
    assert fields["availability_zone_count"] == [
        "us-west-1 has only 2 availability zones available."
    ]


def test_a_region_we_do_not_offer_is_refused(organization, member, release):
    fields = refused(organization, member, spec(region="ap-south-2"))
    assert fields["region"] == [
        '"ap-south-2" is not a region we offer (eu-central-1, eu-west-1, us-east-1, us-west-2).'
    ]


def test_an_inactive_release_is_refused(organization, member, release):
    KubernetesReleaseFactory(version="1.29.0", is_default=False, is_active=False)
    fields = refused(organization, member, spec(kubernetes_version="1.29.0"))
    assert fields["kubernetes_version"] == [
        "Kubernetes 1.29.0 is not offered for new clusters (offered: 1.31.4)."
    ]


def test_an_unknown_release_is_refused(organization, member, release):
    fields = refused(organization, member, spec(kubernetes_version="9.9.9"))
    assert "Kubernetes 9.9.9 is not offered" in fields["kubernetes_version"][0]


def test_without_a_default_release_a_version_must_be_given(organization, member):
    KubernetesReleaseFactory(version="1.30.8", is_default=False)
    fields = refused(organization, member, spec())
    assert fields["kubernetes_version"] == ["No default Kubernetes release is set; pick one."]


def test_a_release_without_an_image_for_the_region_is_refused_on_real_aws(
    organization, member, release, settings
):
    settings.AWS_ENDPOINT_URL = ""  # outside the sandbox there is no stand-in image
    # An out-of-range zone count skips the zone lookup: this test must not call real AWS.
    fields = refused(organization, member, spec(region="eu-west-1", availability_zone_count=0))
    assert fields["kubernetes_version"] == [
        "Kubernetes 1.31.4 has no node image for eu-west-1 yet."
    ]


@pytest.mark.parametrize("masters", [0, 2, 5])
def test_master_count_must_be_one_or_three(organization, member, release, masters):
    fields = refused(organization, member, spec(master_count=masters))
    assert fields["master_count"] == [
        "Run 1 master, or 3 for a highly available control plane."
    ]


def test_three_masters_need_two_zones(organization, member, release):
    fields = refused(organization, member, spec(master_count=3, availability_zone_count=1))
    assert fields["master_count"] == ["Three masters need at least 2 availability zones."]


def test_two_pools_with_one_name_are_refused(organization, member, release):
    fields = refused(organization, member, spec(node_pools=[NodePoolSpec(), NodePoolSpec()]))
    assert fields["node_pools"] == ["Give each node pool its own name."]


def test_every_problem_is_reported_at_once(organization, member, release):
    fields = refused(
        organization, member,
        spec(name="x", availability_zone_count=9,
             node_pools=[NodePoolSpec(instance_type="nope", min_size=4, max_size=2)]),
    )
    assert set(fields) == {
        "name", "availability_zone_count", "node_pools.0.instance_type", "node_pools.0.min_size"
    }


# --- scale, pools, delete, retry ------------------------------------------------------------


@pytest.fixture
def running(organization, release):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    NodePoolFactory(cluster=cluster, name="default", min_size=3, max_size=3, desired_size=3,
                    status=Cluster.Status.RUNNING)
    return cluster


def test_scaling_writes_the_sizes_and_marks_pool_and_cluster_updating(
    running, member, django_capture_on_commit_callbacks
):
    pool = running.node_pools.get()
    with django_capture_on_commit_callbacks() as callbacks:
        request_scale(pool, min_size=2, max_size=6, desired_size=4, user=member)
    pool.refresh_from_db()
    running.refresh_from_db()
    assert (pool.min_size, pool.max_size, pool.desired_size) == (2, 6, 4)
    assert pool.status == Cluster.Status.UPDATING
    assert running.status == Cluster.Status.UPDATING
    assert running.events.get(kind=Event.Kind.SCALE).message == (
        "Node pool default scale requested: min 2, max 6, desired 4"
    )
    assert AuditLogEntry.objects.get(action="cluster.pool_scaled").actor == member
    assert reconciles_enqueued(callbacks) == [running.id]


def test_scaling_without_desired_keeps_the_current_size_within_bounds(running):
    pool = running.node_pools.get()
    request_scale(pool, min_size=5, max_size=8)
    pool.refresh_from_db()
    assert pool.desired_size == 5


def test_scaling_can_change_the_instance_type(running):
    pool = running.node_pools.get()
    request_scale(pool, min_size=3, max_size=3, instance_type="m5.2xlarge")
    pool.refresh_from_db()
    assert pool.instance_type == "m5.2xlarge"


def test_scaling_to_an_unknown_type_is_refused_and_changes_nothing(running):
    pool = running.node_pools.get()
    with pytest.raises(InvalidRequest) as refusal:
        request_scale(pool, min_size=3, max_size=5, instance_type="m5.huge")
    assert refusal.value.fields == {
        "instance_type": ['"m5.huge" is not an EC2 instance type we know.']
    }
    pool.refresh_from_db()
    running.refresh_from_db()
    assert (pool.max_size, pool.instance_type, pool.status) == (3, "m5.xlarge", "running")
    assert running.status == Cluster.Status.RUNNING
    assert not running.events.exists()


def test_scaling_min_above_max_is_refused(running):
    pool = running.node_pools.get()
    with pytest.raises(InvalidRequest) as refusal:
        request_scale(pool, min_size=6, max_size=4)
    assert "min_size" in refusal.value.fields
    pool.refresh_from_db()
    assert (pool.min_size, pool.max_size) == (3, 3)


def test_scaling_above_the_node_quota_is_refused(running, organization):
    organization.max_nodes = 10
    organization.save()
    pool = running.node_pools.get()
    with pytest.raises(InvalidRequest) as refusal:
        request_scale(pool, min_size=3, max_size=11)
    assert refusal.value.fields["max_size"] == [
        "This would bring Acme to 11 worker nodes (the maximum size of all its node pools); "
        "the organization's quota is 10."
    ]
    pool.refresh_from_db()
    assert pool.max_size == 3


def test_scaling_a_cluster_that_is_still_creating_is_refused(organization, release):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    pool = NodePoolFactory(cluster=cluster)
    with pytest.raises(InvalidRequest) as refusal:
        request_scale(pool, min_size=3, max_size=5)
    assert refusal.value.fields[""] == [
        f"Cluster {cluster.id} is creating; its node pools can be changed once it is running."
    ]


def test_adding_a_pool_creates_it_pending_and_marks_the_cluster_updating(running, member):
    pool = add_node_pool(running, NodePoolSpec(name="batch", instance_type="c5.2xlarge",
                                               min_size=1, max_size=4), user=member)
    running.refresh_from_db()
    assert pool.status == Cluster.Status.PENDING
    assert (pool.desired_size, pool.instance_type) == (1, "c5.2xlarge")
    assert running.status == Cluster.Status.UPDATING
    assert AuditLogEntry.objects.get(action="cluster.pool_added").target == f"{running.id}/batch"


def test_adding_a_pool_with_a_taken_name_is_refused(running):
    before = counts()
    with pytest.raises(InvalidRequest) as refusal:
        add_node_pool(running, NodePoolSpec(name="default"))
    assert refusal.value.fields["name"] == [
        f'Cluster {running.id} already has a node pool named "default".'
    ]
    assert counts() == before


def test_adding_a_pool_beyond_the_node_quota_is_refused(running, organization):
    organization.max_nodes = 5
    organization.save()
    before = counts()
    with pytest.raises(InvalidRequest) as refusal:
        add_node_pool(running, NodePoolSpec(name="more", min_size=1, max_size=3))
    assert "max_size" in refusal.value.fields
    assert counts() == before


def test_deleting_a_pool_marks_it_deleting(running):
    extra = NodePoolFactory(cluster=running, name="extra", status=Cluster.Status.RUNNING)
    request_node_pool_deletion(extra)
    extra.refresh_from_db()
    running.refresh_from_db()
    assert extra.status == Cluster.Status.DELETING
    assert running.status == Cluster.Status.UPDATING


def test_the_last_pool_cannot_be_deleted(running):
    pool = running.node_pools.get()
    with pytest.raises(InvalidRequest) as refusal:
        request_node_pool_deletion(pool)
    assert refusal.value.fields[""] == [
        "default is the cluster's last node pool; delete the cluster instead."
    ]
    pool.refresh_from_db()
    assert pool.status == Cluster.Status.RUNNING


def test_deleting_a_cluster_marks_it_deleting_and_enqueues(
    running, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        request_cluster_deletion(running, user=member)
    running.refresh_from_db()
    assert running.status == Cluster.Status.DELETING
    assert AuditLogEntry.objects.get(action="cluster.deletion_requested").actor == member
    assert reconciles_enqueued(callbacks) == [running.id]


def test_deleting_a_cluster_twice_is_refused(running):
    request_cluster_deletion(running)
    with pytest.raises(InvalidRequest) as refusal:
        request_cluster_deletion(running)
    assert refusal.value.fields[""] == [f"Cluster {running.id} is already deleting."]
    assert running.events.count() == 1


def test_retrying_a_cluster_that_failed_while_creating_sets_it_pending(organization, release):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.FAILED,
                             status_reason="Instance limit exceeded")
    pool = NodePoolFactory(cluster=cluster, status=Cluster.Status.FAILED)
    retry_provisioning(cluster)
    cluster.refresh_from_db()
    pool.refresh_from_db()
    assert (cluster.status, cluster.status_reason) == (Cluster.Status.PENDING, "")
    assert pool.status == Cluster.Status.PENDING


def test_retrying_a_cluster_that_failed_while_deleting_resumes_deleting(running):
    request_cluster_deletion(running)
    Cluster.objects.filter(pk=running.pk).update(status=Cluster.Status.FAILED)
    retry_provisioning(running)
    running.refresh_from_db()
    assert running.status == Cluster.Status.DELETING


def test_retrying_a_cluster_that_had_been_running_sets_it_updating(running):
    Event.objects.create(cluster=running, organization=running.organization,
                         kind=Event.Kind.STATUS, message="Cluster is running",
                         data={"status": "running"})
    Cluster.objects.filter(pk=running.pk).update(status=Cluster.Status.FAILED)
    retry_provisioning(running)
    running.refresh_from_db()
    assert running.status == Cluster.Status.UPDATING


def test_retrying_a_cluster_that_did_not_fail_is_refused(running):
    with pytest.raises(InvalidRequest):
        retry_provisioning(running)
    running.refresh_from_db()
    assert running.status == Cluster.Status.RUNNING


def test_on_the_sandbox_a_release_without_an_image_uses_the_sandbox_image(
    organization, member, release
):
    cluster = launch_cluster(organization, member, spec(region="eu-west-1"))
    assert cluster.release == release


def test_an_empty_catalog_is_filled_from_the_shipped_table_on_first_launch(
    organization, member, release
):
    assert not InstanceType.objects.exists()
    launch_cluster(organization, member, spec())
    assert InstanceType.objects.get(name="m5.xlarge").is_recommended
