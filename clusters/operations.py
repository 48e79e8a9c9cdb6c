"""What users ask of clusters, for every way in (web UI, API, manage.py): validated, then queued.

Each function checks the request against the rules (catalog, quota, names), changes the rows that
hold the desired state, records an event, and enqueues a reconcile after commit. Bad input raises
`InvalidRequest` with a message per field and changes nothing.
"""

from __future__ import annotations

from accounts.models import Organization, User
from clusters.models import Cluster, NodePool
from clusters.specs import ClusterSpec, InvalidRequest, NodePoolSpec

__all__ = ["ClusterSpec", "InvalidRequest", "NodePoolSpec"]


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
