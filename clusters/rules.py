"""The launch rules: what a cluster or node pool request must satisfy, shared by launch and plan.

Every check adds a message under the field it concerns (`InvalidRequest.fields`) so a form can show
it next to the input; checks run to the end so the user sees every problem at once. Pool fields of a
launch are keyed `node_pools.<index>.<field>`; those of a scale or a new pool by the bare name.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import cast

from botocore.exceptions import BotoCoreError, ClientError

from accounts.models import Organization
from clusters import catalog
from clusters.models import Cluster, KubernetesRelease, NodePool
from clusters.specs import ClusterSpec, InvalidRequest, NodePoolSpec

NAME_PATTERN = re.compile(r"^[A-Za-z0-9 -]{3,100}$")
POOL_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$")
MAX_AVAILABILITY_ZONES = 3
MASTER_COUNTS = (1, 3)
# A pool beyond this is a typo more often than a plan; ops raise the org quota, not this.
MAX_POOL_SIZE = 100
MAX_POOLS_PER_CLUSTER = 10
# Each cluster gets 10.<n>.0.0/16, n distinct among the organization's live clusters, so any two
# of them can be peered later.
VPC_CIDR_TEMPLATE = "10.{}.0.0/16"
VPC_CIDR_SLOTS = range(256)


class Problems:
    """Collects messages per field, then raises them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def raise_any(self) -> None:
        if self.fields:
            raise InvalidRequest(self.fields)


@dataclass
class ValidLaunch:
    """A launch request that passed the rules, with the choices the rules made."""

    spec: ClusterSpec
    release: KubernetesRelease
    availability_zones: list[str]
    node_pools: list[NodePoolSpec] = field(default_factory=list)  # desired sizes filled in


def live_pools(organization: Organization):  # noqa: ANN201 - a NodePool queryset
    return NodePool.objects.filter(cluster__organization=organization).exclude(
        cluster__status=Cluster.Status.DELETED
    ).exclude(status=Cluster.Status.DELETED)


def nodes_in_use(organization: Organization, *, excluding_pool: NodePool | None = None) -> int:
    """Worker nodes counted against the quota: the max size of every live pool."""
    pools = live_pools(organization)
    if excluding_pool is not None:
        pools = pools.exclude(pk=excluding_pool.pk)
    return sum(pools.values_list("max_size", flat=True))


def check_node_quota(problems: Problems, organization: Organization, adding: int, where: str,
                     *, excluding_pool: NodePool | None = None) -> None:
    total = nodes_in_use(organization, excluding_pool=excluding_pool) + adding
    if total > organization.max_nodes:
        problems.add(
            where,
            f"This would bring {organization.name} to {total} worker nodes (the maximum size of "
            f"all its node pools); the organization's quota is {organization.max_nodes}.",
        )


def check_pool(problems: Problems, pool: NodePoolSpec, region: str, prefix: str = "") -> None:
    """Name, instance type and sizes of one pool (quota is checked by the caller)."""
    if not POOL_NAME_PATTERN.match(pool.name or ""):
        problems.add(
            f"{prefix}name",
            "Use 1–30 lower-case letters, digits and hyphens for a node pool name, starting and "
            "ending with a letter or digit.",
        )
    problem = catalog.instance_type_problem(pool.instance_type or "", region)
    if problem:
        problems.add(f"{prefix}instance_type", problem)
    check_sizes(problems, pool.min_size, pool.max_size, pool.desired_size, prefix)


def check_sizes(problems: Problems, min_size: int, max_size: int, desired: int | None,
                prefix: str = "") -> None:
    if min_size < 1:
        problems.add(f"{prefix}min_size", "A node pool needs at least 1 node.")
    if max_size > MAX_POOL_SIZE:
        problems.add(f"{prefix}max_size", f"A node pool can have at most {MAX_POOL_SIZE} nodes.")
    if min_size > max_size:
        problems.add(
            f"{prefix}min_size",
            f"The minimum size ({min_size}) cannot be larger than the maximum size ({max_size}).",
        )
    elif desired is not None and not min_size <= desired <= max_size:
        problems.add(
            f"{prefix}desired_size",
            f"The desired size ({desired}) must be between the minimum ({min_size}) and the "
            f"maximum ({max_size}).",
        )


def with_desired(pool: NodePoolSpec) -> NodePoolSpec:
    desired = pool.min_size if pool.desired_size is None else pool.desired_size
    return NodePoolSpec(pool.name, pool.instance_type, pool.min_size, pool.max_size, desired)


def validate_launch(organization: Organization, spec: ClusterSpec) -> ValidLaunch:
    """Apply every launch rule; raise InvalidRequest with all problems, or return the choices."""
    problems = Problems()
    name = (spec.name or "").strip()
    live = Cluster.objects.filter(organization=organization).live()
    if not NAME_PATTERN.match(name):
        problems.add("name", "Use 3–100 letters, digits, spaces and hyphens for the cluster name.")
    elif live.filter(name=name).exists():
        problems.add("name", f'{organization.name} already has a cluster named "{name}".')

    if live.count() >= organization.max_clusters:
        problems.add(
            "",
            f"{organization.name} already has {organization.max_clusters} clusters, its quota. "
            "Delete one or ask us to raise the quota.",
        )

    zones: list[str] = []
    region_ok = spec.region in catalog.offered_regions()
    if not region_ok:
        problems.add(
            "region",
            f'"{spec.region}" is not a region we offer ({", ".join(catalog.offered_regions())}).',
        )
    count = spec.availability_zone_count
    if not 1 <= count <= MAX_AVAILABILITY_ZONES:
        problems.add("availability_zone_count", "Choose 1, 2 or 3 availability zones.")
    elif region_ok:
        try:
            available = catalog.availability_zones(spec.region)
        except (BotoCoreError, ClientError):
            available = None
            problems.add(
                "availability_zone_count",
                f"Could not list the availability zones of {spec.region} right now; try again.",
            )
        if available is not None and count > len(available):
            problems.add(
                "availability_zone_count",
                f"{spec.region} has only {len(available)} availability zones available.",
            )
        elif available is not None:
            zones = available[:count]

    release = find_release(problems, spec.kubernetes_version, spec.region if region_ok else None)

    if spec.master_count not in MASTER_COUNTS:
        problems.add("master_count", "Run 1 master, or 3 for a highly available control plane.")
    elif spec.master_count > 1 and count < 2:
        # Three masters in one AZ survive a machine, not the zone: the point of HA is lost.
        problems.add("master_count", "Three masters need at least 2 availability zones.")

    pools = [with_desired(pool) for pool in spec.node_pools]
    if not pools:
        problems.add("node_pools", "A cluster needs at least one node pool.")
    if len(pools) > MAX_POOLS_PER_CLUSTER:
        problems.add("node_pools", f"A cluster can have at most {MAX_POOLS_PER_CLUSTER} pools.")
    names = [pool.name for pool in pools]
    if len(set(names)) != len(names):
        problems.add("node_pools", "Give each node pool its own name.")
    for index, pool in enumerate(pools):
        check_pool(problems, pool, spec.region, prefix=f"node_pools.{index}.")
    if not any(key.startswith("node_pools.") for key in problems.fields):
        check_node_quota(problems, organization, sum(p.max_size for p in pools), "node_pools")

    problems.raise_any()
    spec.name = name
    # find_release added a problem (raised above) whenever it found no release.
    return ValidLaunch(
        spec=spec, release=cast(KubernetesRelease, release), availability_zones=zones,
        node_pools=pools,
    )


def find_release(problems: Problems, version: str | None, region: str | None
                 ) -> KubernetesRelease | None:
    if version:
        release = KubernetesRelease.objects.filter(version=version).first()
        if release is None or not release.is_active:
            offered = ", ".join(r.version for r in catalog.offered_releases()) or "none"
            problems.add(
                "kubernetes_version",
                f"Kubernetes {version} is not offered for new clusters (offered: {offered}).",
            )
            return None
    else:
        release = catalog.default_release()
        if release is None:
            problems.add("kubernetes_version", "No default Kubernetes release is set; pick one.")
            return None
    if region and catalog.node_image(release, region) is None:
        problems.add(
            "kubernetes_version",
            f"Kubernetes {release.version} has no node image for {region} yet.",
        )
    return release


def free_vpc_cidr(organization: Organization) -> str | None:
    """The first 10.<n>.0.0/16 that overlaps none of the organization's live clusters."""
    taken = [
        ipaddress.ip_network(cidr, strict=False)
        for cidr in Cluster.objects.filter(organization=organization)
        .live()
        .values_list("vpc_cidr", flat=True)
        if cidr
    ]
    for slot in VPC_CIDR_SLOTS:
        candidate = ipaddress.ip_network(VPC_CIDR_TEMPLATE.format(slot))
        if not any(candidate.overlaps(other) for other in taken):
            return str(candidate)
    return None
