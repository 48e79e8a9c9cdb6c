"""The whole life of a cluster through the operations users call (clusters/operations.py),
with the engine run the way the task runs it, verified in the sandbox AWS."""

import pytest

from clusters.models import Cluster, KubernetesRelease
from clusters.operations import (
    ClusterSpec,
    NodePoolSpec,
    add_node_pool,
    launch_cluster,
    request_cluster_deletion,
    request_node_pool_deletion,
    request_scale,
)
from tests.clusters.engine_helpers import (
    SANDBOX_AMI,
    assert_exactly_planned,
    aws_inventory,
    client,
    nothing_tagged,
    reconcile_until_settled,
    sandbox,  # noqa: F401 - fixture
)
from tests.factories import InstanceTypeFactory, KubernetesReleaseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


@pytest.fixture
def catalog():
    KubernetesReleaseFactory(version="1.31.4", is_default=True,
                             images={"eu-central-1": SANDBOX_AMI})
    InstanceTypeFactory(name="m5.xlarge")
    InstanceTypeFactory(name="m5.large", vcpus=2, memory_mib=8192)


def group_sizes(name: str) -> tuple[int, int, int]:
    group = client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return group["MinSize"], group["MaxSize"], group["DesiredCapacity"]


def test_launch_scale_add_and_remove_a_pool_then_delete_leaves_nothing(organization, owner,
                                                                        catalog):
    cluster = launch_cluster(organization, owner, ClusterSpec(
        name="life", node_pools=[NodePoolSpec(name="default", min_size=1, max_size=3)]))
    assert KubernetesRelease.objects.get().images["eu-central-1"] == SANDBOX_AMI
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert_exactly_planned(cluster)

    request_scale(cluster.node_pools.get(name="default"), min_size=2, max_size=5,
                  desired_size=3, user=owner)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert group_sizes(f"{cluster.id}-worker-default") == (2, 5, 3)

    add_node_pool(cluster, NodePoolSpec(name="extra", instance_type="m5.large",
                                        min_size=1, max_size=2), user=owner)
    cluster = reconcile_until_settled(cluster.id)
    assert group_sizes(f"{cluster.id}-worker-extra") == (1, 2, 1)
    assert_exactly_planned(cluster)

    request_node_pool_deletion(cluster.node_pools.get(name="extra"), user=owner)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING
    assert f"{cluster.id}-worker-extra" not in aws_inventory(cluster.id)["auto_scaling_group"]
    assert_exactly_planned(cluster)

    request_cluster_deletion(cluster, user=owner)
    cluster = reconcile_until_settled(cluster.id, runs=30)
    assert cluster.status == Cluster.Status.DELETED, cluster.status_reason
    assert nothing_tagged(cluster.id), aws_inventory(cluster.id)
