"""Record a cluster's events and publish them after commit. The one home of channel group names.

Events are stored first, then pushed: a page that missed a push replays from the database by id.
Publishing never blocks or breaks the caller (a provisioning worker): if the channel layer is down,
the event is still stored and the pages catch up when they reconnect.

The publisher renders each group's HTML once and puts it in the group message, so a websocket
process only forwards it (per-socket work bounds fan-out, ARCHITECTURE.md). Clusters cannot import
monitoring, which owns the markup: monitoring registers its renderers here at start-up
(`register_push_renderer`, called from monitoring/apps.py). Without one, or if rendering fails, the
message carries only the event id and the consumer renders it itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from clusters.models import Cluster, Event

log = logging.getLogger(__name__)

# The message type consumers handle (monitoring/consumers.py): `event_created`.
EVENT_MESSAGE_TYPE = "event.created"


def cluster_group(cluster_id: str) -> str:
    return f"cluster.{cluster_id}"


def organization_group(organization_id: int) -> str:
    return f"org.{organization_id}"


# Who watches a group, i.e. which markup its message carries: a cluster page or a cluster list.
CLUSTER_AUDIENCE = "cluster"
ORGANIZATION_AUDIENCE = "organization"

PushRenderer = Callable[[Event], str]
_push_renderers: dict[str, PushRenderer] = {}


def register_push_renderer(audience: str, renderer: PushRenderer) -> None:
    """Render `audience`'s HTML for an event in the publisher (after commit, may query)."""
    _push_renderers[audience] = renderer


def record_event(
    cluster: Cluster,
    message: str,
    *,
    kind: str = Event.Kind.STEP,
    level: str = Event.Level.INFO,
    step: str = "",
    aws_id: str = "",
    **data: Any,
) -> Event:
    """Store one event for the cluster and push it to the cluster's and org's watchers."""
    event = Event.objects.create(
        cluster=cluster,
        organization_id=cluster.organization_id,
        kind=kind,
        level=level,
        step=step,
        message=message,
        aws_id=aws_id,
        data=data,
    )
    transaction.on_commit(lambda: publish_event(event))
    return event


def push_message(event: Event, audience: str) -> dict[str, Any]:
    """The group message for one audience: the event id, plus its HTML when a renderer exists."""
    message: dict[str, Any] = {
        "type": EVENT_MESSAGE_TYPE,
        "event_id": event.id,
        "cluster_id": event.cluster_id,
        "kind": event.kind,
    }
    renderer = _push_renderers.get(audience)
    if renderer is not None:
        try:
            message["html"] = renderer(event)
        except Exception:  # noqa: BLE001 - without html the consumers render it themselves
            log.warning("could not render event %s for %s pages", event.id, audience,
                        exc_info=True)
    return message


async def _send_to_groups(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in messages:
        await layer.group_send(group, message)


def publish_event(event: Event) -> None:
    """Push the event's pre-rendered HTML to the cluster's and the organization's watchers."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        messages = [
            (cluster_group(event.cluster_id), push_message(event, CLUSTER_AUDIENCE)),
            (organization_group(event.organization_id),
             push_message(event, ORGANIZATION_AUDIENCE)),
        ]
        # One async_to_sync for both groups: each call runs a new event loop, and channels-redis
        # opens a Redis connection per loop, so two calls cost two connections per event.
        async_to_sync(_send_to_groups)(layer, messages)
    except Exception:  # noqa: BLE001 - a push is best effort; the event is stored and replayed
        log.warning("could not publish event %s; pages will replay it", event.id, exc_info=True)
