import pytest

from clusters.models import Cluster, Event, ResourceRecord
from tests.clusters.engine_helpers import (
    assert_exactly_planned,
    client,
    live_instances,
    make_cluster,
    name_of,
    reconcile_until_settled,
    sandbox,  # noqa: F401 - fixture
    tag_filter,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


def test_reconcile_brings_a_pending_cluster_to_running_with_exactly_the_planned_resources():
    cluster = make_cluster()
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert_exactly_planned(cluster)


def test_every_tagged_resource_carries_the_cluster_and_organization_tags():
    cluster = reconcile_until_settled(make_cluster().id)
    resources = client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "happa.io/cluster", "Values": [cluster.id]}]
    )["ResourceTagMappingList"]
    assert len(resources) > 20
    for resource in resources:
        tags = {t["Key"]: t["Value"] for t in resource["Tags"]}
        assert tags["happa.io/organization"] == cluster.organization.slug, resource["ResourceARN"]
        assert tags["Name"].startswith(f"{cluster.id}-"), resource["ResourceARN"]


def test_ec2_auto_scaling_and_load_balancer_resources_also_carry_the_kubernetes_tag():
    cluster = reconcile_until_settled(make_cluster().id)
    k8s = {"Key": f"kubernetes.io/cluster/{cluster.id}", "Value": "owned"}
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(
        Filters=[{"Name": "tag:Name", "Values": [f"{cluster.id}-vpc"]}]
    )["Vpcs"][0]
    assert k8s in vpc["Tags"]
    groups = client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{cluster.id}-master", f"{cluster.id}-worker-default"]
    )["AutoScalingGroups"]
    assert len(groups) == 2
    for group in groups:
        assert any(t["Key"] == k8s["Key"] and t["Value"] == "owned" for t in group["Tags"])
    elbv2 = client("elbv2")
    arns = [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers(
        Names=[f"{cluster.id}-api", f"{cluster.id}-ingress"])["LoadBalancers"]]
    for description in elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]:
        assert k8s in description["Tags"]


def test_masters_and_workers_run_in_private_subnets_without_public_ips():
    cluster = reconcile_until_settled(make_cluster().id)
    ec2 = client("ec2")
    private_names = [f"{cluster.id}-private-{az}" for az in cluster.availability_zones]
    private = {s["SubnetId"] for s in ec2.describe_subnets(Filters=[
        {"Name": "tag:Name", "Values": private_names}
    ])["Subnets"]}
    nodes = [i for i in live_instances(cluster.id) if "bastion" not in name_of(i)]
    assert {name_of(i) for i in nodes} == {f"{cluster.id}-master", f"{cluster.id}-worker-default"}
    assert len(nodes) == 1 + 2  # one master, the pool's desired two workers
    for node in nodes:
        assert node["SubnetId"] in private
        assert not node.get("PublicIpAddress")


def test_bastions_are_the_only_machines_with_public_ips_one_per_zone():
    cluster = reconcile_until_settled(make_cluster().id)
    bastions = [i for i in live_instances(cluster.id) if "bastion" in name_of(i)]
    public_names = [f"{cluster.id}-public-{az}" for az in cluster.availability_zones]
    subnets = client("ec2").describe_subnets(
        Filters=[{"Name": "tag:Name", "Values": public_names}]
    )["Subnets"]
    public_subnets = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}
    assert sorted(public_subnets[b["SubnetId"]] for b in bastions) == cluster.availability_zones
    assert all(b.get("PublicIpAddress") for b in bastions)


def test_private_subnets_route_through_their_zones_nat_gateway_and_public_ones_through_the_igw():
    cluster = reconcile_until_settled(make_cluster().id)
    ec2 = client("ec2")
    tables = ec2.describe_route_tables(Filters=tag_filter(cluster.id))["RouteTables"]
    by_name = {name_of(t): t for t in tables}
    default = lambda t: next(r for r in t["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")  # noqa: E731
    assert default(by_name[f"{cluster.id}-public"])["GatewayId"].startswith("igw-")
    for az in cluster.availability_zones:
        nat_id = default(by_name[f"{cluster.id}-private-{az}"])["NatGatewayId"]
        nat = ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]
        assert name_of(nat) == f"{cluster.id}-nat-{az}"


def test_dns_zone_has_api_ingress_and_wildcard_records():
    cluster = reconcile_until_settled(make_cluster().id)
    route53 = client("route53")
    zone = route53.list_hosted_zones_by_name(DNSName=cluster.dns_zone)["HostedZones"][0]
    records = {(r["Name"], r["Type"]) for r in route53.list_resource_record_sets(
        HostedZoneId=zone["Id"])["ResourceRecordSets"]}
    assert (f"{cluster.api_hostname}.", "A") in records
    assert (f"{cluster.ingress_hostname}.", "A") in records
    assert (f"\\052.{cluster.dns_zone}.", "CNAME") in records or \
        (f"*.{cluster.dns_zone}.", "CNAME") in records


def test_reconcile_twice_creates_one_of_each_resource():
    cluster = reconcile_until_settled(make_cluster().id)
    Cluster.objects.filter(pk=cluster.id).update(status=Cluster.Status.CREATING)
    records_before = ResourceRecord.objects.filter(cluster=cluster).count()
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING
    assert ResourceRecord.objects.filter(cluster=cluster).count() == records_before
    assert_exactly_planned(cluster)


def test_a_lost_ledger_is_rebuilt_from_tags_without_creating_duplicates():
    cluster = reconcile_until_settled(make_cluster().id)
    ResourceRecord.objects.filter(cluster=cluster).delete()
    Cluster.objects.filter(pk=cluster.id).update(status=Cluster.Status.CREATING, steps_done=0)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert_exactly_planned(cluster)


def test_each_step_and_each_created_resource_writes_an_event():
    cluster = reconcile_until_settled(make_cluster().id)
    events = Event.objects.filter(cluster=cluster)
    steps = set(events.filter(kind=Event.Kind.STEP).values_list("step", flat=True))
    assert {"ensure_vpc", "ensure_nat_gateways", "ensure_bastions", "ensure_dns"} <= steps
    vpc = ResourceRecord.objects.get(cluster=cluster, key="vpc")
    assert events.filter(kind=Event.Kind.RESOURCE, aws_id=vpc.aws_id).count() == 1
    assert events.filter(kind=Event.Kind.STATUS).last().message == "Cluster is running"
    cluster.refresh_from_db()
    assert cluster.steps_done == cluster.steps_total == 17


def test_an_organization_role_is_assumed_for_its_clusters(organization):
    organization.aws_role_arn = "arn:aws:iam::123456789012:role/happa-provisioner"
    organization.aws_external_id = "acme-external"
    organization.save()
    cluster = reconcile_until_settled(make_cluster(organization).id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert_exactly_planned(cluster)
