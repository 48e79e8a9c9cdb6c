from decimal import Decimal

import pytest

from clusters.models import Cluster
from clusters.provisioning.plan import plan_cluster, plan_for
from clusters.specs import ClusterSpec, InvalidRequest, NodePoolSpec
from tests.factories import ClusterFactory, KubernetesReleaseFactory, NodePoolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _release(settings):
    settings.HAPPA_BASE_DOMAIN = "k8s.example.com"
    images = {"eu-central-1": "ami-ekslinux", "us-east-1": "ami-ekslinux"}
    return KubernetesReleaseFactory(version="1.31.4", is_default=True, images=images)


def names(plan, kind: str) -> list[str]:
    return [resource.name for resource in plan.of_kind(kind)]


def test_two_zones_get_a_public_and_a_private_subnet_each(organization):
    plan = plan_cluster(organization, ClusterSpec(name="demo"), cluster_id="x7k2p")
    assert names(plan, "subnet") == [
        "x7k2p-public-eu-central-1a",
        "x7k2p-private-eu-central-1a",
        "x7k2p-public-eu-central-1b",
        "x7k2p-private-eu-central-1b",
    ]
    assert names(plan, "nat_gateway") == ["x7k2p-nat-eu-central-1a", "x7k2p-nat-eu-central-1b"]
    assert len(plan.of_kind("elastic_ip")) == 2
    assert names(plan, "bastion") == ["x7k2p-bastion-eu-central-1a", "x7k2p-bastion-eu-central-1b"]


@pytest.mark.parametrize("zones", [1, 2, 3])
def test_per_zone_resources_follow_the_zone_count(organization, zones):
    plan = plan_cluster(organization, ClusterSpec(name="demo", availability_zone_count=zones))
    assert len(plan.of_kind("subnet")) == 2 * zones
    assert len(plan.of_kind("nat_gateway")) == zones
    assert len(plan.of_kind("bastion")) == zones
    assert len(plan.of_kind("route_table")) == 1 + zones
    assert len(plan.of_kind("vpc")) == 1
    assert len(plan.of_kind("load_balancer")) == 2


def test_resources_are_listed_in_creation_order(organization):
    plan = plan_cluster(organization, ClusterSpec(name="demo"), cluster_id="x7k2p")
    first_of = {}
    for index, resource in enumerate(plan.resources):
        first_of.setdefault(resource.kind, index)
    order = ["vpc", "internet_gateway", "subnet", "elastic_ip", "nat_gateway", "route_table",
             "security_group", "iam_role", "kms_key", "key_pair", "bastion", "load_balancer",
             "launch_template", "autoscaling_group", "hosted_zone", "dns_record"]
    assert [first_of[kind] for kind in order] == sorted(first_of[kind] for kind in order)


def test_names_follow_the_tagging_convention(organization):
    plan = plan_cluster(
        organization,
        ClusterSpec(name="demo", node_pools=[NodePoolSpec(name="default"),
                                             NodePoolSpec(name="batch", instance_type="c5.2xlarge",
                                                          min_size=1, max_size=2)]),
        cluster_id="x7k2p",
    )
    assert names(plan, "vpc") == ["x7k2p-vpc"]
    assert names(plan, "load_balancer") == ["x7k2p-api", "x7k2p-ingress"]
    assert names(plan, "autoscaling_group") == [
        "x7k2p-master", "x7k2p-worker-default", "x7k2p-worker-batch"
    ]
    assert names(plan, "hosted_zone") == ["x7k2p.k8s.example.com"]
    assert plan.dns_names == [
        "api.x7k2p.k8s.example.com", "ingress.x7k2p.k8s.example.com", "*.x7k2p.k8s.example.com"
    ]


def test_without_an_id_the_plan_uses_a_placeholder(organization):
    plan = plan_cluster(organization, ClusterSpec(name="demo"))
    assert names(plan, "vpc") == ["<id>-vpc"]


def test_the_cost_adds_masters_bastions_workers_nat_gateways_and_load_balancers(organization):
    plan = plan_cluster(
        organization,
        ClusterSpec(name="demo", node_pools=[NodePoolSpec(min_size=3, max_size=3)]),
    )
    # eu-central-1, shipped table: master m5.large 0.115, 2 bastions t3.micro 0.012, 3 workers
    # m5.xlarge 0.23, 2 NAT gateways 0.052, 2 NLBs 0.027, 4 public IPv4 addresses 0.005.
    expected = (Decimal("0.115") + 2 * Decimal("0.012") + 3 * Decimal("0.23")
                + 2 * Decimal("0.052") + 2 * Decimal("0.027") + 4 * Decimal("0.005"))
    assert plan.hourly_cost_usd == expected
    assert plan.monthly_cost_usd == (expected * 730).quantize(Decimal("0.01"))
    assert plan.monthly_cost_usd == Decimal("735.11")


def test_workers_are_costed_at_their_desired_size(organization):
    small = plan_cluster(organization, ClusterSpec(
        name="demo", node_pools=[NodePoolSpec(min_size=1, max_size=10, desired_size=1)]))
    large = plan_cluster(organization, ClusterSpec(
        name="demo", node_pools=[NodePoolSpec(min_size=1, max_size=10, desired_size=4)]))
    assert large.hourly_cost_usd - small.hourly_cost_usd == 3 * Decimal("0.23")


def test_prices_are_those_of_the_chosen_region(organization):
    plan = plan_cluster(organization, ClusterSpec(name="demo", region="us-east-1"))
    workers = next(line for line in plan.cost_lines if line.item.startswith("pool default"))
    assert workers.hourly_unit_usd == Decimal("0.1920")


def test_a_spec_the_rules_refuse_has_no_plan(organization):
    with pytest.raises(InvalidRequest) as refusal:
        plan_cluster(organization, ClusterSpec(
            name="demo", node_pools=[NodePoolSpec(min_size=5, max_size=2)]))
    assert "node_pools.0.min_size" in refusal.value.fields
    assert not Cluster.objects.exists()


def test_the_plan_shows_the_vpc_range_a_launch_would_get(organization):
    ClusterFactory(organization=organization, vpc_cidr="10.0.0.0/16")
    plan = plan_cluster(organization, ClusterSpec(name="demo"))
    assert plan.vpc_cidr == "10.1.0.0/16"
    assert plan.of_kind("vpc")[0].detail == "10.1.0.0/16"


def test_an_existing_clusters_plan_uses_its_live_pools(organization):
    cluster = ClusterFactory(id="b0b0b", organization=organization, vpc_cidr="10.4.0.0/16",
                             availability_zones=["eu-central-1a"])
    NodePoolFactory(cluster=cluster, name="default")
    NodePoolFactory(cluster=cluster, name="gone", status=Cluster.Status.DELETING)
    plan = plan_for(cluster)
    assert names(plan, "autoscaling_group") == ["b0b0b-master", "b0b0b-worker-default"]
    assert plan.of_kind("subnet")[0].detail == "public 10.4.0.0/20"
    assert plan.of_kind("subnet")[1].detail == "private 10.4.128.0/20"
