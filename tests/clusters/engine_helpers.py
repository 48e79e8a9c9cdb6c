"""Shared by the engine's tests: a fresh sandbox AWS, clusters that can really be built there,
and what AWS actually holds for a cluster (describe calls, not our ledger)."""

from __future__ import annotations

import boto3
import pytest
import requests
from django.conf import settings

from clusters.models import Cluster
from clusters.provisioning import reconcile as engine
from tests.factories import ClusterFactory, KubernetesReleaseFactory, NodePoolFactory

# An Amazon Linux image moto ships in eu-central-1 (describe_images Owners=["amazon"]).
SANDBOX_AMI = "ami-760aaa0f"


def reset_sandbox() -> None:
    requests.post(f"{settings.AWS_ENDPOINT_URL}/moto-api/reset", timeout=10).raise_for_status()


def client(service: str):  # noqa: ANN201
    return boto3.client(service, region_name="eu-central-1", endpoint_url=settings.AWS_ENDPOINT_URL)


def make_cluster(
    organization=None,  # noqa: ANN001
    *,
    pools=(("default", "m5.xlarge", 2, 4, 2),),
    **fields,
) -> Cluster:
    release = KubernetesReleaseFactory(images={"eu-central-1": SANDBOX_AMI})
    extra = {"organization": organization} if organization else {}
    cluster = ClusterFactory(release=release, **extra, **fields)
    for name, instance_type, low, high, desired in pools:
        NodePoolFactory(cluster=cluster, name=name, instance_type=instance_type,
                        min_size=low, max_size=high, desired_size=desired)
    return cluster


def reconcile_until_settled(cluster_id: str, runs: int = 20) -> Cluster:
    """Run the engine like the task would, rescheduling at once instead of after a countdown."""
    attempt = 0
    for _ in range(runs):
        outcome = engine.reconcile(cluster_id, attempt=attempt)
        assert not outcome.busy
        if outcome.retry_in is None:
            break
        attempt = outcome.attempt
    return Cluster.objects.get(pk=cluster_id)


def tag_filter(cluster_id: str) -> list[dict]:
    return [{"Name": "tag:happa.io/cluster", "Values": [cluster_id]}]


def live_instances(cluster_id: str) -> list[dict]:
    reservations = client("ec2").describe_instances(Filters=tag_filter(cluster_id))["Reservations"]
    return [i for r in reservations for i in r["Instances"] if i["State"]["Name"] != "terminated"]


def name_of(item: dict) -> str:
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}.get("Name", "")


def aws_inventory(cluster_id: str) -> dict[str, list[str]]:
    """Name tags (or names) of the cluster's live resources in the sandbox, per kind."""
    ec2 = client("ec2")
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"]
            if n["State"] != "deleted"
            and {"Key": "happa.io/cluster", "Value": cluster_id} in n.get("Tags", [])]
    groups = client("autoscaling").describe_auto_scaling_groups(
        Filters=[{"Name": "tag:happa.io/cluster", "Values": [cluster_id]}])["AutoScalingGroups"]
    lbs = client("elbv2").describe_load_balancers()["LoadBalancers"]
    zones = client("route53").list_hosted_zones()["HostedZones"]
    iam_path = f"/happa/{cluster_id}/"
    kms = client("kms")
    keys = [k for k in kms.list_keys()["Keys"]
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
            and {"TagKey": "happa.io/cluster", "TagValue": cluster_id}
            in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]]
    return {
        "vpc": sorted(name_of(v) for v in ec2.describe_vpcs(
            Filters=tag_filter(cluster_id))["Vpcs"]),
        "subnet": sorted(name_of(s) for s in ec2.describe_subnets(
            Filters=tag_filter(cluster_id))["Subnets"]),
        "internet_gateway": sorted(name_of(g) for g in ec2.describe_internet_gateways(
            Filters=tag_filter(cluster_id))["InternetGateways"]),
        "nat_gateway": sorted(name_of(n) for n in nats),
        "elastic_ip": sorted(name_of(a) for a in ec2.describe_addresses(
            Filters=tag_filter(cluster_id))["Addresses"]),
        "route_table": sorted(name_of(t) for t in ec2.describe_route_tables(
            Filters=tag_filter(cluster_id))["RouteTables"]),
        "security_group": sorted(name_of(g) for g in ec2.describe_security_groups(
            Filters=tag_filter(cluster_id))["SecurityGroups"]),
        "key_pair": sorted(k["KeyName"] for k in ec2.describe_key_pairs(
            Filters=tag_filter(cluster_id))["KeyPairs"]),
        "bastion": sorted(name_of(i) for i in live_instances(cluster_id)
                          if "bastion" in name_of(i)),
        "launch_template": sorted(t["LaunchTemplateName"] for t in ec2.describe_launch_templates(
            Filters=tag_filter(cluster_id))["LaunchTemplates"]),
        "auto_scaling_group": sorted(g["AutoScalingGroupName"] for g in groups),
        "load_balancer": sorted(lb["LoadBalancerName"] for lb in lbs
                                if lb["LoadBalancerName"].startswith(f"{cluster_id}-")),
        "hosted_zone": sorted(z["Name"] for z in zones if z["Name"].startswith(f"{cluster_id}.")),
        # Filtered by path here too: moto's list_instance_profiles ignores PathPrefix.
        "iam_role": sorted(r["RoleName"] for r in client("iam").list_roles(
            PathPrefix=iam_path)["Roles"] if r["Path"] == iam_path),
        "instance_profile": sorted(p["InstanceProfileName"]
                                   for p in client("iam").list_instance_profiles(
                                       PathPrefix=iam_path)["InstanceProfiles"]
                                   if p["Path"] == iam_path),
        "kms_key": [k["KeyId"] for k in keys],
        "alarm": sorted(a["AlarmName"] for a in client("cloudwatch").describe_alarms(
            AlarmNamePrefix=f"{cluster_id}-")["MetricAlarms"]),
    }


def planned_inventory(cluster: Cluster) -> dict[str, list[str]]:
    """What one cluster with the given AZs and pools must have in AWS: one of each."""
    cid, azs = cluster.id, list(cluster.availability_zones)
    pools = [p.name for p in cluster.node_pools.exclude(status__in=["deleted", "deleting"])]
    return {
        "vpc": [f"{cid}-vpc"],
        "subnet": sorted([f"{cid}-public-{az}" for az in azs]
                         + [f"{cid}-private-{az}" for az in azs]),
        "internet_gateway": [f"{cid}-igw"],
        "nat_gateway": sorted(f"{cid}-nat-{az}" for az in azs),
        "elastic_ip": sorted(f"{cid}-nat-{az}" for az in azs),
        "route_table": sorted([f"{cid}-public"] + [f"{cid}-private-{az}" for az in azs]),
        "security_group": sorted(f"{cid}-{role}" for role in
                                 ("bastion", "api-lb", "ingress-lb", "master", "worker")),
        "key_pair": [f"{cid}-ssh"],
        "bastion": sorted(f"{cid}-bastion-{az}" for az in azs),
        "launch_template": sorted([f"{cid}-master"] + [f"{cid}-worker-{p}" for p in pools]),
        "auto_scaling_group": sorted([f"{cid}-master"] + [f"{cid}-worker-{p}" for p in pools]),
        "load_balancer": [f"{cid}-api", f"{cid}-ingress"],
        "hosted_zone": [f"{cluster.dns_zone}."],
        "iam_role": sorted(f"{cid}-{r}" for r in ("bastion", "master", "worker")),
        "instance_profile": sorted(f"{cid}-{r}" for r in ("bastion", "master", "worker")),
        "kms_key": ["<one>"],
        "alarm": [f"{cid}-ingress-unhealthy-hosts"],
    }


def assert_exactly_planned(cluster: Cluster) -> None:
    actual = aws_inventory(cluster.id)
    planned = planned_inventory(cluster)
    keys = actual.pop("kms_key")
    planned.pop("kms_key")
    differences = {k: {"aws": actual[k], "planned": planned[k]} for k in planned
                   if actual[k] != planned[k]}
    assert not differences, differences
    assert len(keys) == 1, keys


def nothing_tagged(cluster_id: str) -> bool:
    inventory = aws_inventory(cluster_id)
    return not any(inventory.values())


@pytest.fixture
def sandbox():
    reset_sandbox()
    return
