import pytest

from clusters.models import Cluster, KubernetesRelease, NodePool, ResourceRecord
from tests.clusters.engine_helpers import (
    assert_exactly_planned,
    aws_inventory,
    client,
    make_cluster,
    nothing_tagged,
    reconcile_until_settled,
    sandbox,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


def request_deletion(cluster: Cluster) -> None:
    Cluster.objects.filter(pk=cluster.pk).update(status=Cluster.Status.DELETING)


def tagging_api_leftovers(cluster_id: str) -> list[str]:
    """What the tagging API lists for the cluster that is still alive (it also lists terminated
    instances, deleted NAT gateways and keys pending deletion, which are gone or going)."""
    resources = client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "happa.io/cluster", "Values": [cluster_id]}]
    )["ResourceTagMappingList"]
    ec2, kms = client("ec2"), client("kms")
    alive = []
    for resource in resources:
        arn = resource["ResourceARN"]
        resource_id = arn.rsplit("/", 1)[-1]
        if ":instance/" in arn:
            state = ec2.describe_instances(InstanceIds=[resource_id])["Reservations"][0][
                "Instances"][0]["State"]["Name"]
            if state == "terminated":
                continue
        elif ":natgateway/" in arn:
            if ec2.describe_nat_gateways(NatGatewayIds=[resource_id])["NatGateways"][0][
                    "State"] == "deleted":
                continue
        elif (
            ":key/" in arn
            and kms.describe_key(KeyId=resource_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
        ):
            continue
        alive.append(arn)
    return alive


def test_deleting_a_running_cluster_leaves_nothing_tagged_in_aws():
    cluster = reconcile_until_settled(make_cluster().id)
    assert cluster.status == Cluster.Status.RUNNING
    request_deletion(cluster)
    cluster = reconcile_until_settled(cluster.id, runs=30)
    assert cluster.status == Cluster.Status.DELETED, cluster.status_reason
    assert cluster.deleted_at is not None
    assert nothing_tagged(cluster.id), aws_inventory(cluster.id)
    assert tagging_api_leftovers(cluster.id) == []
    assert not ResourceRecord.objects.filter(cluster=cluster, deleted_at__isnull=True).exists()
    assert set(cluster.node_pools.values_list("status", flat=True)) == {Cluster.Status.DELETED}


def test_deleting_a_cluster_leaves_the_other_clusters_resources_alone():
    keep = reconcile_until_settled(make_cluster().id)
    doomed = reconcile_until_settled(make_cluster().id)
    request_deletion(doomed)
    reconcile_until_settled(doomed.id, runs=30)
    assert_exactly_planned(keep)


def test_deleting_a_cluster_that_failed_half_way_removes_what_was_made(missing_node_image):
    cluster = make_cluster()
    # A node image AWS does not have: provisioning fails at the bastions, after the network.
    KubernetesRelease.objects.filter(pk=cluster.release_id).update(images=missing_node_image)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.FAILED
    assert aws_inventory(cluster.id)["vpc"] == [f"{cluster.id}-vpc"]
    request_deletion(cluster)
    cluster = reconcile_until_settled(cluster.id, runs=30)
    assert cluster.status == Cluster.Status.DELETED, cluster.status_reason
    assert nothing_tagged(cluster.id), aws_inventory(cluster.id)
    assert tagging_api_leftovers(cluster.id) == []


def test_the_sweep_removes_tagged_resources_the_ledger_never_recorded():
    cluster = reconcile_until_settled(make_cluster().id)
    ec2 = client("ec2")
    vpc_id = ResourceRecord.objects.get(cluster=cluster, key="vpc").aws_id
    stray = ec2.create_security_group(
        GroupName="stray", Description="made outside the engine", VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [
            {"Key": "happa.io/cluster", "Value": cluster.id}]}],
    )["GroupId"]
    ResourceRecord.objects.filter(cluster=cluster, key__startswith="subnet/").delete()
    request_deletion(cluster)
    cluster = reconcile_until_settled(cluster.id, runs=30)
    assert cluster.status == Cluster.Status.DELETED
    assert ec2.describe_security_groups(Filters=[
        {"Name": "group-id", "Values": [stray]}])["SecurityGroups"] == []
    assert nothing_tagged(cluster.id), aws_inventory(cluster.id)


def test_deleting_a_cluster_that_never_started_finishes_at_once():
    cluster = make_cluster()
    request_deletion(cluster)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.DELETED
    assert NodePool.objects.filter(cluster=cluster, status=Cluster.Status.DELETED).count() == 1
