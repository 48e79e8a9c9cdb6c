"""The resource plan of a cluster spec: what will be created in AWS, and what it costs a month.

Used by the create form's live preview, the API's dry run and the engine's progress ("step 7 of
19"). `plan_cluster` raises InvalidRequest for a spec the rules refuse (the same rules as launch:
clusters/rules.py). Resources are listed in creation order (docs/catalog.md, ARCHITECTURE.md), each
with the Name tag it will carry; the `*_name` helpers below are the one home of those names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from accounts.models import Organization
from clusters import catalog, rules
from clusters.models import Cluster, NodePool
from clusters.provisioning.network import (
    INGRESS_HTTP_NODE_PORT,
    INGRESS_HTTPS_NODE_PORT,
    SECURITY_GROUPS,
    subnet_cidrs,
)
from clusters.specs import ClusterSpec

HOURS_PER_MONTH = catalog.HOURS_PER_MONTH
PLACEHOLDER_ID = "<id>"

# Hourly list prices of what every cluster runs besides instances (AWS pricing pages for VPC/NAT
# https://aws.amazon.com/vpc/pricing/ and Elastic Load Balancing https://aws.amazon.com/elasticloadbalancing/pricing/,
# as published 2024-2025). Per-GB processing, LCUs, EBS volumes and the hosted zone's
# $0.50/month are usage-dependent or negligible and left out; docs/catalog.md says so.
NAT_GATEWAY_HOURLY = {
    "eu-central-1": Decimal("0.052"),
    "eu-west-1": Decimal("0.048"),
    "us-east-1": Decimal("0.045"),
    "us-west-2": Decimal("0.045"),
}
LOAD_BALANCER_HOURLY = {  # Network Load Balancer, per LB-hour
    "eu-central-1": Decimal("0.0270"),
    "eu-west-1": Decimal("0.0252"),
    "us-east-1": Decimal("0.0225"),
    "us-west-2": Decimal("0.0225"),
}
PUBLIC_IPV4_HOURLY = Decimal("0.005")  # every public IPv4 address since February 2024
FALLBACK_REGION = "us-east-1"  # prices of a region missing from the tables above


@dataclass
class PlannedResource:
    kind: str  # "vpc", "subnet", "nat_gateway", "bastion", "load_balancer", "dns_record", …
    name: str  # the Name tag it will carry, e.g. "x7k2p-private-eu-central-1a"
    availability_zone: str = ""
    detail: str = ""


@dataclass
class CostLine:
    item: str
    quantity: int
    hourly_unit_usd: Decimal

    @property
    def hourly_usd(self) -> Decimal:
        return self.hourly_unit_usd * self.quantity


@dataclass
class ClusterPlan:
    resources: list[PlannedResource] = field(default_factory=list)
    hourly_cost_usd: Decimal = Decimal("0")
    dns_names: list[str] = field(default_factory=list)
    cost_lines: list[CostLine] = field(default_factory=list)
    vpc_cidr: str = ""
    availability_zones: list[str] = field(default_factory=list)

    @property
    def monthly_cost_usd(self) -> Decimal:
        return (self.hourly_cost_usd * HOURS_PER_MONTH).quantize(Decimal("0.01"))

    def of_kind(self, kind: str) -> list[PlannedResource]:
        return [resource for resource in self.resources if resource.kind == kind]


# --- Names ------------------------------------------------------------------------------------


def vpc_name(cluster_id: str) -> str:
    return f"{cluster_id}-vpc"


def subnet_name(cluster_id: str, tier: str, zone: str) -> str:
    return f"{cluster_id}-{tier}-{zone}"


def bastion_name(cluster_id: str, zone: str) -> str:
    return f"{cluster_id}-bastion-{zone}"


def master_name(cluster_id: str) -> str:
    return f"{cluster_id}-master"


def worker_name(cluster_id: str, pool: str) -> str:
    return f"{cluster_id}-worker-{pool}"


# --- The plan -----------------------------------------------------------------------------------


@dataclass
class PoolShape:
    name: str
    instance_type: str
    min_size: int
    max_size: int
    desired_size: int


def plan_cluster(
    organization: Organization, spec: ClusterSpec, *, cluster_id: str = PLACEHOLDER_ID
) -> ClusterPlan:
    """Validate the spec like a launch would, then list what it creates and what it costs."""
    valid = rules.validate_launch(organization, spec)
    cidr = rules.free_vpc_cidr(organization) or ""
    pools = [
        PoolShape(p.name, p.instance_type, p.min_size, p.max_size, p.desired_size or p.min_size)
        for p in valid.node_pools
    ]
    return build_plan(cluster_id, spec.region, valid.availability_zones, spec.master_count, pools,
                      cidr)


def monthly_cost_of(cluster: Cluster, pools: list[NodePool],
                    price: Callable[[str, str], Decimal] = catalog.price_of) -> Decimal:
    """The running cluster's estimate, by the same formula as its plan (pools given by the caller,
    so a list page can prefetch them)."""
    shapes = [PoolShape(p.name, p.instance_type, p.min_size, p.max_size, p.desired_size)
              for p in pools]
    lines = cost_lines(cluster.region, len(cluster.availability_zones), cluster.master_count,
                       shapes, price)
    hourly = sum((line.hourly_usd for line in lines), Decimal("0"))
    return (hourly * HOURS_PER_MONTH).quantize(Decimal("0.01"))


def plan_for(cluster: Cluster) -> ClusterPlan:
    """The plan of an existing cluster, from its rows (no validation): its live node pools."""
    pools = [
        PoolShape(p.name, p.instance_type, p.min_size, p.max_size, p.desired_size)
        for p in cluster.node_pools.exclude(
            status__in=[Cluster.Status.DELETING, Cluster.Status.DELETED]
        )
    ]
    return build_plan(cluster.id, cluster.region, list(cluster.availability_zones),
                      cluster.master_count, pools, cluster.vpc_cidr)


def build_plan(cluster_id: str, region: str, zones: list[str], master_count: int,
               pools: list[PoolShape], vpc_cidr: str) -> ClusterPlan:
    plan = ClusterPlan(vpc_cidr=vpc_cidr, availability_zones=list(zones))
    add = plan.resources.append
    zone_name = f"{cluster_id}.{settings.HAPPA_BASE_DOMAIN}"

    add(PlannedResource("vpc", vpc_name(cluster_id), detail=vpc_cidr))
    add(PlannedResource("internet_gateway", f"{cluster_id}-igw"))
    publics, privates = subnet_cidrs(vpc_cidr, len(zones)) if vpc_cidr else ([""] * 3, [""] * 3)
    for zone, public, private in zip(zones, publics, privates, strict=False):
        add(PlannedResource("subnet", subnet_name(cluster_id, "public", zone), zone,
                            f"public {public}".strip()))
        add(PlannedResource("subnet", subnet_name(cluster_id, "private", zone), zone,
                            f"private {private}".strip()))
    for zone in zones:
        add(PlannedResource("elastic_ip", f"{cluster_id}-nat-{zone}", zone, "for the NAT gateway"))
        add(PlannedResource("nat_gateway", f"{cluster_id}-nat-{zone}", zone,
                            f"in {subnet_name(cluster_id, 'public', zone)}"))
    add(PlannedResource("route_table", f"{cluster_id}-public",
                        detail="0.0.0.0/0 → internet gateway"))
    for zone in zones:
        add(PlannedResource("route_table", f"{cluster_id}-private-{zone}", zone,
                            f"0.0.0.0/0 → {cluster_id}-nat-{zone}"))
    for role, detail in SECURITY_GROUPS.items():
        add(PlannedResource("security_group", f"{cluster_id}-{role}", detail=detail))
    for role in ("master", "worker", "bastion"):
        add(PlannedResource("iam_role", f"{cluster_id}-{role}", detail="least privilege"))
        add(PlannedResource("instance_profile", f"{cluster_id}-{role}"))
    add(PlannedResource("kms_key", f"{cluster_id}-kms", detail="EBS and secrets encryption"))
    add(PlannedResource("key_pair", f"{cluster_id}-ssh", detail="the organization's SSH key"))
    for zone in zones:
        add(PlannedResource("bastion", bastion_name(cluster_id, zone), zone,
                            f"{catalog.bastion_instance_type()}, public IP"))
    add(PlannedResource("load_balancer", f"{cluster_id}-api", detail="443 → masters 6443"))
    add(PlannedResource("target_group", f"{cluster_id}-api", detail="masters 6443"))
    add(PlannedResource("load_balancer", f"{cluster_id}-ingress",
                        detail="internet-facing, 80/443 → workers' ingress node ports"))
    add(PlannedResource("target_group", f"{cluster_id}-ingress-http",
                        detail=f"workers {INGRESS_HTTP_NODE_PORT}"))
    add(PlannedResource("target_group", f"{cluster_id}-ingress-https",
                        detail=f"workers {INGRESS_HTTPS_NODE_PORT}"))
    add(PlannedResource("launch_template", master_name(cluster_id),
                        detail=f"{catalog.master_instance_type()}, kubeadm init"))
    add(PlannedResource("autoscaling_group", master_name(cluster_id),
                        detail=f"{master_count}/{master_count}/{master_count}"))
    for pool in pools:
        add(PlannedResource("launch_template", worker_name(cluster_id, pool.name),
                            detail=f"{pool.instance_type}, kubeadm join"))
        add(PlannedResource("autoscaling_group", worker_name(cluster_id, pool.name),
                            detail=f"min {pool.min_size}, max {pool.max_size}, "
                                   f"desired {pool.desired_size}"))
    add(PlannedResource("hosted_zone", zone_name,
                        detail=f"{cluster_id}-zone, delegated from {settings.HAPPA_BASE_DOMAIN}"))
    plan.dns_names = [f"api.{zone_name}", f"ingress.{zone_name}", f"*.{zone_name}"]
    add(PlannedResource("dns_record", plan.dns_names[0], detail=f"alias → {cluster_id}-api"))
    add(PlannedResource("dns_record", plan.dns_names[1], detail=f"alias → {cluster_id}-ingress"))
    add(PlannedResource("dns_record", plan.dns_names[2], detail=f"CNAME → {plan.dns_names[1]}"))

    plan.cost_lines = cost_lines(region, len(zones), master_count, pools)
    plan.hourly_cost_usd = sum((line.hourly_usd for line in plan.cost_lines), Decimal("0"))
    return plan


def cost_lines(region: str, zone_count: int, master_count: int, pools: list[PoolShape],
               price: Callable[[str, str], Decimal] = catalog.price_of) -> list[CostLine]:
    """What the cluster costs an hour, item by item. `price(type, region)` prices an instance
    type: the catalog by default; list pages pass prices they loaded once for all rows."""
    nat = NAT_GATEWAY_HOURLY.get(region, NAT_GATEWAY_HOURLY[FALLBACK_REGION])
    lb = LOAD_BALANCER_HOURLY.get(region, LOAD_BALANCER_HOURLY[FALLBACK_REGION])
    lines = [
        CostLine(f"master ({catalog.master_instance_type()})", master_count,
                 price(catalog.master_instance_type(), region)),
        CostLine(f"bastion ({catalog.bastion_instance_type()})", zone_count,
                 price(catalog.bastion_instance_type(), region)),
    ]
    lines += [
        CostLine(f"pool {pool.name} ({pool.instance_type})", pool.desired_size,
                 price(pool.instance_type, region))
        for pool in pools
    ]
    lines += [
        CostLine("NAT gateway", zone_count, nat),
        CostLine("load balancer (API, ingress)", 2, lb),
        # One Elastic IP per NAT gateway and one public IP per bastion.
        CostLine("public IPv4 address", zone_count * 2, PUBLIC_IPV4_HOURLY),
    ]
    return lines
