"""The architecture diagram: drawn from the ledger, missing parts dashed until they exist."""

import re

import pytest

from clusters.diagram import render_diagram
from tests.factories import ClusterFactory, NodePoolFactory, ResourceRecordFactory

pytestmark = pytest.mark.django_db


def states(svg: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for state, part in re.findall(r'data-state="(\w+)" data-part="([^"]+)"', svg):
        found.setdefault(part, []).append(state)
    return found


@pytest.fixture
def cluster():
    cluster = ClusterFactory(availability_zones=["eu-central-1a", "eu-central-1b"], master_count=1)
    NodePoolFactory(cluster=cluster, name="default")
    return cluster


def test_a_cluster_with_no_resources_is_drawn_entirely_planned(cluster):
    drawn = states(render_diagram(cluster))
    assert drawn["Public subnet"] == ["planned", "planned"]
    assert drawn["Private subnet"] == ["planned", "planned"]
    assert drawn["NAT gateway"] == ["planned", "planned"]
    assert drawn["Bastion"] == ["planned", "planned"]
    assert drawn["Pool default"] == ["planned"]
    assert all(s == "planned" for parts in drawn.values() for s in parts)


def test_resources_in_the_ledger_are_drawn_present_in_their_zone(cluster):
    ResourceRecordFactory(cluster=cluster, key="vpc", kind="vpc", aws_id="vpc-1")
    ResourceRecordFactory(
        cluster=cluster, key="subnet/private/eu-central-1b", kind="subnet", aws_id="subnet-b"
    )
    ResourceRecordFactory(
        cluster=cluster, key="nat_gateway/eu-central-1a", kind="nat_gateway", aws_id="nat-a"
    )
    svg = render_diagram(cluster)
    drawn = states(svg)
    assert drawn[f"VPC {cluster.vpc_cidr}"] == ["present"]
    assert drawn["Private subnet"] == ["planned", "present"]
    assert drawn["NAT gateway"] == ["present", "planned"]
    assert "subnet-b" in svg
    assert "nat-a" in svg


def test_load_balancers_masters_and_pools_are_recognised(cluster):
    for key, kind in [
        ("load_balancer/api", "load_balancer"),
        ("auto_scaling_group/master", "auto_scaling_group"),
        ("auto_scaling_group/worker/default", "auto_scaling_group"),
    ]:
        ResourceRecordFactory(cluster=cluster, key=key, kind=kind)
    drawn = states(render_diagram(cluster))
    assert drawn["API load balancer"] == ["present"]
    assert drawn["Ingress load balancer"] == ["planned"]
    assert drawn["Master ×1"] == ["present"]
    assert drawn["Pool default"] == ["present"]


def test_deleted_ledger_records_are_drawn_as_missing(cluster):
    from django.utils import timezone

    ResourceRecordFactory(cluster=cluster, key="vpc", kind="vpc", deleted_at=timezone.now())
    assert states(render_diagram(cluster))[f"VPC {cluster.vpc_cidr}"] == ["planned"]


def test_names_in_the_drawing_are_escaped():
    cluster = ClusterFactory(name="<script>alert(1)</script>")
    svg = render_diagram(cluster)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_a_launch_template_alone_does_not_make_the_masters_present(cluster):
    ResourceRecordFactory(cluster=cluster, key="launch_template/master", kind="launch_template")
    assert states(render_diagram(cluster))["Master ×1"] == ["planned"]


def test_a_bastion_is_placed_in_its_zone(cluster):
    ResourceRecordFactory(
        cluster=cluster, key="bastion/eu-central-1b", kind="instance", aws_id="i-b",
        data={"az": "eu-central-1b"},
    )
    assert states(render_diagram(cluster))["Bastion"] == ["planned", "present"]
