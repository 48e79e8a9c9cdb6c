"""Find the caller's objects: another tenant's cluster is a 404; a viewer's change is a 403."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from api.auth import Caller
from api.errors import forbidden
from clusters.models import Cluster, NodePool


def caller_of(request: HttpRequest) -> Caller:
    return request.auth  # set by the auth classes in api/auth.py


def require_change(caller: Caller) -> None:
    if not caller.can_change:
        raise forbidden(f"A {caller.role} can read but not change this organization's clusters.")


def clusters_of(caller: Caller) -> QuerySet[Cluster]:
    return (
        Cluster.objects.filter(organization=caller.organization)
        .select_related("organization", "release", "created_by")
        .prefetch_related("node_pools")
    )


def get_cluster(caller: Caller, cluster_id: str, *, write: bool = False) -> Cluster:
    cluster = clusters_of(caller).filter(pk=cluster_id).first()
    if cluster is None:
        raise Http404(f"No cluster {cluster_id} in your organization.")
    if write:
        require_change(caller)
    return cluster


def get_pool(caller: Caller, cluster_id: str, pool_id: int, *, write: bool = False) -> NodePool:
    cluster = get_cluster(caller, cluster_id)
    pool = NodePool.objects.filter(cluster=cluster, pk=pool_id).select_related("cluster").first()
    if pool is None:
        raise Http404(f"No node pool {pool_id} in cluster {cluster_id}.")
    if write:
        require_change(caller)
    return pool
