"""What the live pages show, rendered from one template (templates/monitoring/live.html).

The same partials render on first page load (the ui's pages include them with `live_context`) and
are pushed over the websocket as htmx out-of-band swaps (`render_cluster_push`,
`render_organization_push`), so markup lives in one place.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from clusters.models import Cluster, Event
from monitoring.models import Alert

TEMPLATE = "monitoring/live.html"
# A reconnecting page replays at most this many missed events; older ones are on the event list.
REPLAY_LIMIT = 500

# Which parts of a cluster page an event can change (the status badge and progress always go).
KINDS_CHANGING_ALERTS = {Event.Kind.ALERT, Event.Kind.HEALTH, Event.Kind.STATUS}
KINDS_CHANGING_NODES = {Event.Kind.SCALE, Event.Kind.STATUS, Event.Kind.HEALTH}
# Of the provisioning steps only these change node pools (their status goes to Running in
# ensure_node_pools, then "Step n of m done" follows); every other pool change writes a scale or
# status event. Skipping the pool query for the other steps is most of a step push's cost.
STEPS_CHANGING_NODES = {"ensure_masters", "ensure_node_pools", "delete_auto_scaling_groups"}


def changes_nodes(events: list[Event]) -> bool:
    return any(
        event.kind in KINDS_CHANGING_NODES
        or (event.kind == Event.Kind.STEP and event.step in STEPS_CHANGING_NODES)
        for event in events
    )


def firing_alerts(cluster: Cluster) -> list[Alert]:
    return list(cluster.alerts.firing().order_by("severity", "-starts_at")[:20])


def node_context(cluster: Cluster) -> dict[str, Any]:
    """What `node_counts` needs beyond the cluster."""
    pools = list(cluster.node_pools.exclude(status=Cluster.Status.DELETED))
    return {"pools": pools, "desired_nodes": sum(pool.desired_size for pool in pools)}


def live_context(cluster: Cluster) -> dict[str, Any]:
    """Everything the cluster partials need: pass it to `{% include %}` or merge into a view's."""
    return {"cluster": cluster, "alerts": firing_alerts(cluster), **node_context(cluster)}


def last_event_id(cluster: Cluster | None = None, organization_id: int | None = None) -> int:
    """The cursor a page renders into its ws-connect URL (`?after=`)."""
    events = Event.objects.all()
    if cluster is not None:
        events = events.filter(cluster=cluster)
    if organization_id is not None:
        events = events.filter(organization_id=organization_id)
    latest = events.order_by("-id").values_list("id", flat=True).first()
    return latest or 0


def _render(partial: str, context: dict[str, Any], *, oob: bool = True) -> str:
    return render_to_string(f"{TEMPLATE}#{partial}", {**context, "oob": oob})


def render_cluster_push(cluster_id: str, events: list[Event], kinds: set[str] | None = None) -> str:
    """One websocket message for a cluster page: new event rows plus the parts they change."""
    cluster = Cluster.objects.get(pk=cluster_id)
    context: dict[str, Any] = {"cluster": cluster}
    kinds = kinds if kinds is not None else {event.kind for event in events}
    parts = [_render("status_badge", context), _render("progress", context)]
    # Only the parts an event can change are queried and rendered: this runs for every event.
    if kinds & KINDS_CHANGING_ALERTS:
        parts.append(_render("alerts_banner", {**context, "alerts": firing_alerts(cluster)}))
        parts.append(_render("health", context))
    if kinds & KINDS_CHANGING_NODES or changes_nodes(events):
        nodes = node_context(cluster)
        parts.append(_render("node_counts", {**context, **nodes}))
        for pool in nodes["pools"]:  # the pool table's status and size cells
            parts.append(_render("pool_status", {"pool": pool}))
            parts.append(_render("pool_workers", {"pool": pool}))
    if events:
        parts.append(_render("event_rows_append", {**context, "events": events}))
    return "\n".join(parts)


def render_organization_push(clusters: list[Cluster], last_id: int) -> str:
    """One websocket message for the cluster list: the status cell of each cluster concerned."""
    return "\n".join(
        _render(
            "row_status",
            {"cluster": cluster, "firing_count": cluster.alerts.firing().count(),
             "event_id": last_id},
        )
        for cluster in clusters
    )


def missed_events(*, after: int, cluster_id: str | None = None,
                  organization_id: int | None = None) -> list[Event]:
    """Events after the page's cursor, oldest first, at most REPLAY_LIMIT (the newest ones)."""
    events = Event.objects.filter(id__gt=after)
    if cluster_id is not None:
        events = events.filter(cluster_id=cluster_id)
    if organization_id is not None:
        events = events.filter(organization_id=organization_id)
    newest_first = list(events.order_by("-id")[:REPLAY_LIMIT])
    return newest_first[::-1]


def render_cluster_event(event: Event) -> str:
    """The push for a cluster page about one new event (rendered once, by the publisher)."""
    return render_cluster_push(event.cluster_id, [event])


def render_organization_event(event: Event) -> str:
    """The push for a cluster list about one new event (rendered once, by the publisher)."""
    return render_organization_push([Cluster.objects.get(pk=event.cluster_id)], event.id)
