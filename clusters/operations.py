"""What users ask of clusters, for every way in (web UI, API, manage.py): validated, then queued.

Each function checks the request against the rules (catalog, quota, names), changes the rows that
hold the desired state, records an event, and enqueues a reconcile after commit. Bad input raises
`InvalidRequest` with a message per field and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import Organization, User
from clusters.models import Cluster, NodePool


class InvalidRequest(Exception):
    """A request the rules refuse. `fields` maps a field name ("" for the whole) to messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k or 'request'}: {' '.join(v)}" for k, v in fields.items()))


@dataclass
class NodePoolSpec:
    name: str = "default"
    instance_type: str = "m5.xlarge"
    min_size: int = 3
    max_size: int = 3
    desired_size: int | None = None  # None: min_size


@dataclass
class ClusterSpec:
    name: str
    region: str = "eu-central-1"
    availability_zone_count: int = 2
    kubernetes_version: str | None = None  # None: the default release
    master_count: int = 1
    node_pools: list[NodePoolSpec] = field(default_factory=lambda: [NodePoolSpec()])


def launch_cluster(organization: Organization, user: User | None, spec: ClusterSpec) -> Cluster:
    raise NotImplementedError


def request_scale(
    pool: NodePool,
    *,
    min_size: int,
    max_size: int,
    desired_size: int | None = None,
    instance_type: str | None = None,
    user: User | None = None,
) -> NodePool:
    raise NotImplementedError


def add_node_pool(cluster: Cluster, spec: NodePoolSpec, user: User | None = None) -> NodePool:
    raise NotImplementedError


def request_node_pool_deletion(pool: NodePool, user: User | None = None) -> NodePool:
    raise NotImplementedError


def request_cluster_deletion(cluster: Cluster, user: User | None = None) -> Cluster:
    raise NotImplementedError


def retry_provisioning(cluster: Cluster, user: User | None = None) -> Cluster:
    raise NotImplementedError
