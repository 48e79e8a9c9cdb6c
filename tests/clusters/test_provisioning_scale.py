import pytest

from clusters.models import Cluster, Event, NodePool
from tests.clusters.engine_helpers import (
    assert_exactly_planned,
    client,
    live_instances,
    make_cluster,
    name_of,
    reconcile_until_settled,
    sandbox,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


def running_cluster() -> Cluster:
    cluster = reconcile_until_settled(make_cluster().id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    return cluster


def auto_scaling_group(name: str) -> dict:
    return client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def test_changing_a_pools_sizes_updates_its_auto_scaling_group():
    cluster = running_cluster()
    NodePool.objects.filter(cluster=cluster, name="default").update(
        min_size=3, max_size=6, desired_size=4, status=Cluster.Status.UPDATING
    )
    cluster = reconcile_until_settled(cluster.id)
    group = auto_scaling_group(f"{cluster.id}-worker-default")
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (3, 6, 4)
    assert cluster.status == Cluster.Status.RUNNING
    assert cluster.node_pools.get().status == Cluster.Status.RUNNING
    assert Event.objects.filter(cluster=cluster, kind=Event.Kind.SCALE).exists()


def test_a_running_cluster_with_a_changed_pool_passes_through_updating():
    cluster = running_cluster()
    NodePool.objects.filter(cluster=cluster).update(desired_size=3, status=Cluster.Status.UPDATING)
    reconcile_until_settled(cluster.id)
    statuses = list(Event.objects.filter(cluster=cluster, kind=Event.Kind.STATUS)
                    .values_list("data__status", flat=True))
    assert statuses[-2:] == [Cluster.Status.UPDATING, Cluster.Status.RUNNING]


def test_changing_the_instance_type_makes_a_new_template_version_and_replaces_the_nodes():
    cluster = running_cluster()
    NodePool.objects.filter(cluster=cluster).update(
        instance_type="m5.2xlarge", status=Cluster.Status.UPDATING
    )
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    ec2 = client("ec2")
    name = f"{cluster.id}-worker-default"
    template = ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"][0]
    assert template["LatestVersionNumber"] == 2
    latest = ec2.describe_launch_template_versions(
        LaunchTemplateName=name, Versions=["$Latest"])["LaunchTemplateVersions"][0]
    assert latest["LaunchTemplateData"]["InstanceType"] == "m5.2xlarge"
    workers = [i for i in live_instances(cluster.id) if name_of(i) == name
               and i["State"]["Name"] == "running"]
    assert [w["InstanceType"] for w in workers] == ["m5.2xlarge", "m5.2xlarge"]


def test_a_new_pool_gets_its_own_template_and_auto_scaling_group():
    cluster = running_cluster()
    NodePool.objects.create(cluster=cluster, name="gpu", instance_type="m5.large",
                            min_size=1, max_size=2, desired_size=1)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING
    group = auto_scaling_group(f"{cluster.id}-worker-gpu")
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 2, 1)
    assert cluster.node_pools.get(name="gpu").status == Cluster.Status.RUNNING
    assert_exactly_planned(cluster)


def test_a_pool_marked_deleting_is_removed_from_aws_and_marked_deleted():
    cluster = make_cluster(
        pools=[("default", "m5.xlarge", 1, 2, 1), ("batch", "m5.large", 1, 1, 1)]
    )
    cluster = reconcile_until_settled(cluster.id)
    NodePool.objects.filter(cluster=cluster, name="batch").update(status=Cluster.Status.DELETING)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING
    assert cluster.node_pools.get(name="batch").status == Cluster.Status.DELETED
    assert client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{cluster.id}-worker-batch"])["AutoScalingGroups"] == []
    assert not [i for i in live_instances(cluster.id) if name_of(i) == f"{cluster.id}-worker-batch"]
    assert_exactly_planned(cluster)
