"""Clusters, node pools, events and kubeconfig. Each route: access, validate, one operation."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field as F
from ninja import Path, Query, Router, Schema, Status

from accounts.audit import record_audit
from api.access import caller_of, clusters_of, get_cluster, get_pool, require_change
from api.errors import ApiError, conflict
from api.idempotency import run_idempotent
from api.present import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    cluster_out,
    event_out,
    node_pool_out,
    paginate,
)
from api.routes.organizations import PageParams
from api.schemas import (
    ClusterIn,
    ClusterOut,
    ClusterPage,
    ClusterPatch,
    ErrorOut,
    EventPage,
    KubeconfigOut,
    NodePoolIn,
    NodePoolOut,
    NodePoolPage,
    PlanOut,
    ScaleIn,
)
from clusters import operations
from clusters.events import record_event
from clusters.kubeconfig import KubeconfigUnavailable, context_name, render_kubeconfig
from clusters.models import Cluster, Event, NodePool
from clusters.provisioning.plan import plan_cluster
from clusters.specs import ClusterSpec, NodePoolSpec

router = Router(tags=["clusters"])

# Ids beyond a signed 64-bit integer cannot exist; refusing them keeps the database out of it.
MAX_ID = 2**63 - 1
PoolId = Path(..., ge=1, le=MAX_ID, description="The node pool's id.")

READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


class ClusterListParams(PageParams):
    name: str | None = F(None, max_length=100, description="Only the cluster with this name.")
    status: Cluster.Status | None = F(None, description="Only clusters in this status.")
    include_deleted: bool = F(False, description="Also list deleted clusters.")


class CreateParams(Schema):
    dry_run: bool = F(False, description="true: answer the plan (resources, cost); create nothing.")


class EventParams(Schema):
    after: int = F(
        0, ge=0, le=MAX_ID, description="Only events with a greater id (the last id you saw)."
    )
    limit: int = F(DEFAULT_LIMIT * 2, ge=1, le=MAX_LIMIT)


def _pool_spec(pool: NodePoolIn) -> NodePoolSpec:
    return NodePoolSpec(
        name=pool.name,
        instance_type=pool.instance_type,
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired_size=pool.desired_size,
    )


def _cluster_spec(payload: ClusterIn) -> ClusterSpec:
    return ClusterSpec(
        name=payload.name,
        region=payload.region,
        availability_zone_count=payload.availability_zone_count,
        kubernetes_version=payload.kubernetes_version,
        master_count=payload.master_count,
        node_pools=[_pool_spec(pool) for pool in payload.node_pools],
    )


def _fresh(cluster_id: str, caller) -> dict:  # noqa: ANN001 (a Caller)
    return cluster_out(clusters_of(caller).get(pk=cluster_id))


def _plan_out(plan) -> dict:  # noqa: ANN001 (a ClusterPlan)
    return {
        "resources": [
            {
                "kind": r.kind,
                "name": r.name,
                "availability_zone": r.availability_zone,
                "detail": r.detail,
            }
            for r in plan.resources
        ],
        "hourly_cost_usd": str(plan.hourly_cost_usd),
        "monthly_cost_usd": str(plan.monthly_cost_usd),
        "dns_names": list(plan.dns_names),
    }


@router.get("/clusters", response={200: ClusterPage, **READ_ERRORS})
def list_clusters(request: HttpRequest, params: Query[ClusterListParams]) -> dict:
    """The organization's clusters, newest first (deleted ones only on request)."""
    rows = clusters_of(caller_of(request))
    if not params.include_deleted:
        rows = rows.live()
    if params.name:
        rows = rows.filter(name=params.name)
    if params.status:
        rows = rows.filter(status=params.status)
    return paginate(rows.order_by("-created_at", "id"), params.limit, params.offset, cluster_out)


@router.post(
    "/clusters",
    response={200: PlanOut, 202: ClusterOut, **WRITE_ERRORS},
    summary="Create a cluster (202), or plan one with ?dry_run=true (200)",
)
def create_cluster(
    request: HttpRequest,
    response: HttpResponse,
    payload: ClusterIn,
    params: Query[CreateParams],
) -> Status:
    """Launch a cluster: answers 202 with the cluster in `pending`; provisioning runs after.

    With `?dry_run=true`, answers 200 with the resources it would create and their cost.
    Send an `Idempotency-Key` header to make retries safe.
    """
    caller = caller_of(request)
    spec = _cluster_spec(payload)
    if params.dry_run:
        return Status(200, _plan_out(plan_cluster(caller.organization, spec)))
    require_change(caller)

    def launch() -> tuple[int, dict]:
        taken = Cluster.objects.live().filter(organization=caller.organization, name=spec.name)
        if taken.exists():
            raise conflict(
                f"A cluster named {spec.name!r} already exists.",
                {"name": ["A live cluster already has this name."]},
            )
        cluster = operations.launch_cluster(caller.organization, caller.user, spec)
        return 202, _fresh(cluster.id, caller)

    return Status(*run_idempotent(request, response, caller, payload.dict(), launch))


@router.get("/clusters/{cluster_id}", response={200: ClusterOut, **READ_ERRORS})
def get_cluster_detail(request: HttpRequest, cluster_id: str) -> dict:
    return cluster_out(get_cluster(caller_of(request), cluster_id))


@router.patch("/clusters/{cluster_id}", response={200: ClusterOut, **WRITE_ERRORS})
def update_cluster(request: HttpRequest, cluster_id: str, payload: ClusterPatch) -> dict:
    """Rename a cluster. (Workers are changed through its node pools.)"""
    caller = caller_of(request)
    cluster = get_cluster(caller, cluster_id, write=True)
    if cluster.status == Cluster.Status.DELETED:
        raise conflict(f"The cluster {cluster.id} is deleted.")
    name = (payload.name or "").strip()
    if payload.name is not None and not name:
        raise ApiError(422, "invalid", "The name cannot be blank.", {"name": ["Required."]})
    if name and name != cluster.name:
        if Cluster.objects.live().filter(organization=cluster.organization, name=name).exists():
            raise conflict(
                f"A cluster named {name!r} already exists.",
                {"name": ["A live cluster already has this name."]},
            )
        with transaction.atomic():
            old = cluster.name
            Cluster.objects.filter(pk=cluster.pk).update(name=name)
            record_event(cluster, f"Renamed from {old!r} to {name!r}.", kind=Event.Kind.STATUS)
            record_audit(
                "cluster.renamed",
                organization=cluster.organization,
                actor=caller.user,
                request=request,
                target=cluster,
                old=old,
                new=name,
            )
    return _fresh(cluster.id, caller)


@router.delete("/clusters/{cluster_id}", response={202: ClusterOut, **WRITE_ERRORS})
def delete_cluster(request: HttpRequest, cluster_id: str) -> Status:
    """Start deleting the cluster and every AWS resource it has: answers 202 in `deleting`."""
    caller = caller_of(request)
    cluster = get_cluster(caller, cluster_id, write=True)
    if not cluster.is_deletable:
        raise conflict(f"The cluster {cluster.id} is already {cluster.status}.")
    with transaction.atomic():
        operations.request_cluster_deletion(cluster, caller.user)
    return Status(202, _fresh(cluster.id, caller))


@router.post("/clusters/{cluster_id}/retry", response={202: ClusterOut, **WRITE_ERRORS})
def retry_cluster(request: HttpRequest, response: HttpResponse, cluster_id: str) -> Status:
    """Run provisioning again for a cluster that failed."""
    caller = caller_of(request)
    cluster = get_cluster(caller, cluster_id, write=True)
    if cluster.status != Cluster.Status.FAILED:
        raise conflict(f"Only a failed cluster can be retried; {cluster.id} is {cluster.status}.")

    def retry() -> tuple[int, dict]:
        operations.retry_provisioning(cluster, caller.user)
        return 202, _fresh(cluster.id, caller)

    return Status(*run_idempotent(request, response, caller, {"retry": cluster.id}, retry))


@router.get("/clusters/{cluster_id}/node-pools", response={200: NodePoolPage, **READ_ERRORS})
def list_node_pools(request: HttpRequest, cluster_id: str, page: Query[PageParams]) -> dict:
    cluster = get_cluster(caller_of(request), cluster_id)
    rows = NodePool.objects.filter(cluster=cluster).exclude(status=Cluster.Status.DELETED)
    return paginate(rows, page.limit, page.offset, node_pool_out)


def _require_changeable(cluster: Cluster) -> None:
    if not cluster.is_changeable:
        raise conflict(
            f"The cluster {cluster.id} is {cluster.status}; node pools change once it is running."
        )


@router.post("/clusters/{cluster_id}/node-pools", response={202: NodePoolOut, **WRITE_ERRORS})
def add_node_pool(
    request: HttpRequest, response: HttpResponse, cluster_id: str, payload: NodePoolIn
) -> Status:
    """Add a node pool; answers 202 with the pool in `pending`."""
    caller = caller_of(request)
    cluster = get_cluster(caller, cluster_id, write=True)

    def add() -> tuple[int, dict]:
        _require_changeable(cluster)
        live = NodePool.objects.filter(cluster=cluster).exclude(status=Cluster.Status.DELETED)
        if live.filter(name=payload.name).exists():
            raise conflict(
                f"The cluster already has a node pool named {payload.name!r}.",
                {"name": ["A node pool already has this name."]},
            )
        pool = operations.add_node_pool(cluster, _pool_spec(payload), caller.user)
        return 202, node_pool_out(NodePool.objects.get(pk=pool.pk))

    return Status(*run_idempotent(request, response, caller, payload.dict(), add))


@router.get(
    "/clusters/{cluster_id}/node-pools/{pool_id}", response={200: NodePoolOut, **READ_ERRORS}
)
def get_node_pool(request: HttpRequest, cluster_id: str, pool_id: int = PoolId) -> dict:
    return node_pool_out(get_pool(caller_of(request), cluster_id, pool_id))


@router.patch(
    "/clusters/{cluster_id}/node-pools/{pool_id}", response={202: NodePoolOut, **WRITE_ERRORS}
)
def scale_node_pool(
    request: HttpRequest, cluster_id: str, payload: ScaleIn, pool_id: int = PoolId
) -> Status:
    """Scale a pool (min, max, desired) or change its instance type; answers 202."""
    caller = caller_of(request)
    pool = get_pool(caller, cluster_id, pool_id, write=True)
    _require_changeable(pool.cluster)
    if pool.status in (Cluster.Status.DELETING, Cluster.Status.DELETED):
        raise conflict(f"The node pool {pool.name} is {pool.status}.")
    with transaction.atomic():
        operations.request_scale(
            pool,
            min_size=payload.min_size,
            max_size=payload.max_size,
            desired_size=payload.desired_size,
            instance_type=payload.instance_type,
            user=caller.user,
        )
    return Status(202, node_pool_out(NodePool.objects.get(pk=pool.pk)))


@router.delete(
    "/clusters/{cluster_id}/node-pools/{pool_id}", response={202: NodePoolOut, **WRITE_ERRORS}
)
def delete_node_pool(
    request: HttpRequest, cluster_id: str, pool_id: int = PoolId
) -> Status:
    """Start removing a pool and its machines; answers 202 in `deleting`."""
    caller = caller_of(request)
    pool = get_pool(caller, cluster_id, pool_id, write=True)
    _require_changeable(pool.cluster)
    if pool.status in (Cluster.Status.DELETING, Cluster.Status.DELETED):
        raise conflict(f"The node pool {pool.name} is already {pool.status}.")
    with transaction.atomic():
        operations.request_node_pool_deletion(pool, caller.user)
    return Status(202, node_pool_out(NodePool.objects.get(pk=pool.pk)))


@router.get("/clusters/{cluster_id}/events", response={200: EventPage, **READ_ERRORS})
def list_events(request: HttpRequest, cluster_id: str, params: Query[EventParams]) -> dict:
    """The cluster's events in order; page with ?after=<last_id> (a cursor, also for polling)."""
    cluster = get_cluster(caller_of(request), cluster_id)
    rows = list(
        Event.objects.filter(cluster=cluster, id__gt=params.after).order_by("id")[
            : params.limit + 1
        ]
    )
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {
        "items": [event_out(event) for event in rows],
        "last_id": rows[-1].id if rows else None,
        "has_more": has_more,
    }


@router.get("/clusters/{cluster_id}/kubeconfig", response={200: KubeconfigOut, **WRITE_ERRORS})
def get_kubeconfig(request: HttpRequest, cluster_id: str) -> dict:
    """A kubeconfig for the cluster: its API URL, its CA, and an OIDC (kubelogin) user."""
    cluster = get_cluster(caller_of(request), cluster_id)
    try:
        text = render_kubeconfig(cluster)
    except KubeconfigUnavailable as error:
        raise ApiError(409, "kubeconfig_unavailable", str(error)) from None
    return {"context": context_name(cluster), "kubeconfig": text}
