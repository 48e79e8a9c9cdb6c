"""The customer pages for clusters. Each view checks access, validates, calls one function, renders.

Access: a cluster is found through `Cluster.objects.visible_to(user)`, so another tenant's cluster
is a 404; a viewer of the right organization gets the page without buttons and a 403 on any POST.
Markup lives once, in one template per page with named partials (`"clusters/detail.html#diagram"`)
used for the first render and for htmx swaps alike.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import membership_for
from accounts.models import Membership
from clusters import catalog, operations
from clusters.diagram import render_diagram
from clusters.forms import (
    AddPoolForm,
    ClusterListFilter,
    CreateClusterForm,
    DeleteClusterForm,
    ScalePoolForm,
    apply_invalid_request,
)
from clusters.models import Cluster, Event, NodePool
from clusters.provisioning.plan import monthly_cost_of, plan_cluster
from clusters.specs import InvalidRequest

PAGE_SIZE = 25
TIMELINE_LENGTH = 100
# Served by the API (api/); a link, not a view of this app.
KUBECONFIG_URL = "/api/v1/clusters/{id}/kubeconfig"


def _cluster_for(
    request: HttpRequest, cluster_id: str, *, write: bool = False
) -> tuple[Cluster, Membership]:
    """The cluster and the user's membership in its organization: 404 for other tenants, 403 for
    a viewer who tries to change something."""
    cluster = get_object_or_404(
        Cluster.objects.visible_to(request.user).select_related("organization", "release"),
        pk=cluster_id,
    )
    membership = membership_for(request.user, cluster.organization)
    if membership is None:  # visible_to already checked; a membership removed mid-request
        raise Http404("No such cluster.")
    if write and not membership.can_change:
        raise PermissionDenied("Viewers cannot change clusters.")
    return cluster, membership


def _pool_for(cluster: Cluster, pool_id: int) -> NodePool:
    return get_object_or_404(cluster.node_pools.exclude(status=Cluster.Status.DELETED), pk=pool_id)


def _live_pools() -> Prefetch:
    return Prefetch(
        "node_pools",
        queryset=NodePool.objects.exclude(status=Cluster.Status.DELETED).order_by(
            "created_at", "id"
        ),
        to_attr="live_pools",
    )


def _last_event_id(**filters) -> int:  # noqa: ANN003
    return Event.objects.filter(**filters).order_by("-id").values_list("id", flat=True).first() or 0


# --- the cluster list ---------------------------------------------------------------------------


def _page_of(clusters: QuerySet, order: tuple[str, ...], start: int, total: int) -> list[Cluster]:
    """Rows start..start+PAGE_SIZE of `clusters` in `order`.

    An OFFSET makes the database walk every row before the page, so the last of 400 pages cost
    three times the first. Pages in the second half are read from the other end instead, in the
    reversed order with a small offset, and turned round: the last page costs what the first
    does. Every sort ends in the primary key, so both directions list the same rows.
    """
    end = min(start + PAGE_SIZE, total)
    if start <= total // 2:
        return list(clusters.order_by(*order)[start:end])
    backwards = [field[1:] if field.startswith("-") else f"-{field}" for field in order]
    rows = list(clusters.order_by(*backwards)[total - end : total - start])
    rows.reverse()
    return rows


def _firing_alert_counts(cluster_ids: list[str]) -> dict[str, int]:
    """Firing alerts per cluster of one page.

    Not an annotation on the page query: a COUNT over a join makes the database group every
    cluster of the organization before it can sort and cut one page (75-95 ms at 10,000 clusters
    against 20 ms at 100). Through the relation's name: clusters never import monitoring.
    """
    if not cluster_ids:
        return {}
    return dict(
        Cluster.objects.filter(pk__in=cluster_ids, alerts__status="firing")
        .order_by()
        .values("pk")
        .annotate(firing=Count("alerts"))
        .values_list("pk", "firing")
    )


@login_required
@require_GET
def cluster_list(request: HttpRequest) -> HttpResponse:
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        return render(request, "clusters/list.html", {"membership": None})
    params = ClusterListFilter(request.GET).values()
    clusters = Cluster.objects.filter(organization=membership.organization).live()
    if params["q"]:
        clusters = clusters.filter(Q(name__icontains=params["q"]) | Q(id__icontains=params["q"]))
    if params["status"]:
        clusters = clusters.filter(status=params["status"])
    total = clusters.count()
    # Offset pages over an indexed, filtered query: a COUNT and one page of rows, whatever the
    # number of clusters; the page never loads more than PAGE_SIZE rows and their pools.
    # "Newest first" walks the (organization, created_at, id) index and stops after one page;
    # the alert counts are a separate query over this page's ids only (bench/cluster_list.py).
    last_page = max(1, -(-total // PAGE_SIZE))
    page = min(params["page"], last_page)
    start = (page - 1) * PAGE_SIZE
    rows = _page_of(
        clusters.prefetch_related(_live_pools()), ClusterListFilter.SORTS[params["sort"]],
        start, total,
    )
    firing = _firing_alert_counts([cluster.pk for cluster in rows])
    price = catalog.price_lookup()
    for cluster in rows:
        cluster.firing_alerts = firing.get(cluster.pk, 0)
        cluster.node_count = sum(pool.desired_size for pool in cluster.live_pools)
        cluster.instance_types = sorted({p.instance_type for p in cluster.live_pools})
        cluster.monthly_cost = monthly_cost_of(cluster, cluster.live_pools, price)
        cluster.kubeconfig_url = KUBECONFIG_URL.format(id=cluster.id)
    query = {k: v for k, v in params.items() if k != "page" and v and v != "newest"}
    template = "clusters/list.html#table" if request.htmx else "clusters/list.html"
    return render(
        request,
        template,
        {
            "membership": membership,
            "organization": membership.organization,
            "clusters": rows,
            "params": params,
            "filter_form": ClusterListFilter(initial=params),
            "total": total,
            "page": page,
            "last_page": last_page,
            "query": query,
            "last_event_id": _last_event_id(organization=membership.organization),
            "status_choices": ClusterListFilter.base_fields["status"].choices,
        },
    )


# --- create, with the live preview --------------------------------------------------------------


@login_required
def cluster_create(request: HttpRequest) -> HttpResponse:
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        raise Http404("You are not a member of any organization.")
    if not membership.can_change:
        raise PermissionDenied("Viewers cannot create clusters.")
    form = CreateClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cluster = operations.launch_cluster(
                membership.organization, request.user, form.to_spec()
            )
        except InvalidRequest as error:
            apply_invalid_request(form, error)
        else:
            messages.success(request, f"Creating {cluster.name}. You can follow every step here.")
            return redirect(cluster)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "clusters/create.html",
        {"form": form, "organization": membership.organization, **_preview(membership, form)},
        status=status,
    )


def _preview(membership: Membership, form: CreateClusterForm) -> dict:
    """The plan of a bound, valid form; nothing for an unbound one or one with errors."""
    if not form.is_bound or not form.is_valid():
        return {"plan": None}
    try:
        plan = plan_cluster(membership.organization, form.to_spec())
    except InvalidRequest as error:
        apply_invalid_request(form, error)
        return {"plan": None}
    return {"plan": plan}


@login_required
@require_POST
def cluster_preview(request: HttpRequest) -> HttpResponse:
    """The create form's preview: cost and resources for what is typed so far, with its errors.

    Always 200 so htmx swaps it (errors are part of a preview, not a failed request); the field
    errors ride along as out-of-band swaps onto the form's error slots.
    """
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        raise Http404("You are not a member of any organization.")
    if not membership.can_change:
        raise PermissionDenied("Viewers cannot create clusters.")
    form = CreateClusterForm(request.POST)
    context = {"form": form, **_preview(membership, form), "oob": True}
    return render(request, "clusters/create.html#preview", context)


# --- the cluster page ---------------------------------------------------------------------------


def _detail_context(
    cluster: Cluster,
    membership: Membership,
    *,
    bound_scale: ScalePoolForm | None = None,
    add_form: AddPoolForm | None = None,
    delete_form: DeleteClusterForm | None = None,
) -> dict:
    pools = list(cluster.node_pools.exclude(status=Cluster.Status.DELETED))
    can_change = membership.can_change
    pool_rows = []
    for pool in pools:
        form = None
        if can_change:
            form = bound_scale if bound_scale and bound_scale.pool.pk == pool.pk else ScalePoolForm(
                pool=pool
            )
        pool_rows.append({"pool": pool, "form": form})
    events = list(reversed(cluster.events.order_by("-id")[:TIMELINE_LENGTH]))
    resources = list(cluster.resources.filter(deleted_at=None))
    return {
        "cluster": cluster,
        "membership": membership,
        "can_change": can_change,
        "pool_rows": pool_rows,
        # What monitoring's live partials (templates/monitoring/live.html) read; the same names
        # as monitoring.live.live_context, built here because clusters never import monitoring.
        "pools": pools,
        "desired_nodes": sum(p.desired_size for p in pools),
        "alerts": list(cluster.alerts.firing().order_by("severity", "-starts_at")[:20]),
        "monthly_cost": monthly_cost_of(cluster, pools),
        "events": events,
        "last_event_id": events[-1].id if events else 0,
        "resources": resources,
        "diagram": render_diagram(cluster, resources=resources, pools=pools),
        "add_form": (add_form or AddPoolForm(cluster=cluster)) if can_change else None,
        "delete_form": (delete_form or DeleteClusterForm(cluster=cluster)) if can_change else None,
        "kubeconfig_url": KUBECONFIG_URL.format(id=cluster.id),
    }


@login_required
@require_GET
def cluster_detail(request: HttpRequest, cluster_id: str) -> HttpResponse:
    cluster, membership = _cluster_for(request, cluster_id)
    return render(request, "clusters/detail.html", _detail_context(cluster, membership))


@login_required
@require_GET
def cluster_diagram(request: HttpRequest, cluster_id: str) -> HttpResponse:
    """The architecture diagram alone: refreshed by the page when the cluster's socket speaks."""
    cluster, _ = _cluster_for(request, cluster_id)
    resources = list(cluster.resources.filter(deleted_at=None))
    return render(
        request,
        "clusters/detail.html#diagram",
        {"cluster": cluster, "resources": resources,
         "diagram": render_diagram(cluster, resources=resources)},
    )


@login_required
@require_POST
def pool_scale(request: HttpRequest, cluster_id: str, pool_id: int) -> HttpResponse:
    cluster, membership = _cluster_for(request, cluster_id, write=True)
    pool = _pool_for(cluster, pool_id)
    form = ScalePoolForm(request.POST, pool=pool)
    if form.is_valid():
        try:
            operations.request_scale(pool, **form.scale_arguments(), user=request.user)
        except InvalidRequest as error:
            apply_invalid_request(form, error)
        else:
            messages.success(request, f"Scaling node pool {pool.name}.")
            return redirect(f"{cluster.get_absolute_url()}#pool-{pool.pk}")
    context = _detail_context(cluster, membership, bound_scale=form)
    return render(request, "clusters/detail.html", context, status=422)


@login_required
@require_POST
def pool_add(request: HttpRequest, cluster_id: str) -> HttpResponse:
    cluster, membership = _cluster_for(request, cluster_id, write=True)
    form = AddPoolForm(request.POST, cluster=cluster)
    if form.is_valid():
        try:
            pool = operations.add_node_pool(cluster, form.to_spec(), user=request.user)
        except InvalidRequest as error:
            apply_invalid_request(form, error)
        else:
            messages.success(request, f"Adding node pool {pool.name}.")
            return redirect(f"{cluster.get_absolute_url()}#pools")
    context = _detail_context(cluster, membership, add_form=form)
    return render(request, "clusters/detail.html", context, status=422)


@login_required
@require_POST
def pool_delete(request: HttpRequest, cluster_id: str, pool_id: int) -> HttpResponse:
    cluster, _ = _cluster_for(request, cluster_id, write=True)
    pool = _pool_for(cluster, pool_id)
    try:
        operations.request_node_pool_deletion(pool, user=request.user)
    except InvalidRequest as error:
        for text in (m for msgs in error.fields.values() for m in msgs):
            messages.error(request, text)
    else:
        messages.success(request, f"Removing node pool {pool.name}.")
    return redirect(f"{cluster.get_absolute_url()}#pools")


@login_required
@require_POST
def cluster_delete(request: HttpRequest, cluster_id: str) -> HttpResponse:
    cluster, membership = _cluster_for(request, cluster_id, write=True)
    form = DeleteClusterForm(request.POST, cluster=cluster)
    if form.is_valid():
        try:
            operations.request_cluster_deletion(cluster, user=request.user)
        except InvalidRequest as error:
            apply_invalid_request(form, error)
        else:
            messages.success(request, f"Deleting {cluster.name}: its AWS resources go now.")
            return redirect("clusters:list")
    context = _detail_context(cluster, membership, delete_form=form)
    return render(request, "clusters/detail.html", context, status=422)


@login_required
@require_POST
def cluster_retry(request: HttpRequest, cluster_id: str) -> HttpResponse:
    cluster, _ = _cluster_for(request, cluster_id, write=True)
    try:
        operations.retry_provisioning(cluster, user=request.user)
    except InvalidRequest as error:
        for text in (m for msgs in error.fields.values() for m in msgs):
            messages.error(request, text)
    else:
        messages.success(request, "Provisioning starts again from the step that failed.")
    return redirect(cluster)
