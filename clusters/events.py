"""Record a cluster's events and publish them after commit. The one home of channel group names.

Events are stored first, then pushed: a page that missed a push replays from the database by id.
Publishing never blocks or breaks the caller (a provisioning worker): if the channel layer is down,
the event is still stored and the pages catch up when they reconnect.
"""

from __future__ import annotations

import logging
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


def publish_event(event: Event) -> None:
    """Tell the groups that an event exists; consumers load and render it themselves."""
    layer = get_channel_layer()
    if layer is None:
        return
    payload = {
        "type": EVENT_MESSAGE_TYPE,
        "event_id": event.id,
        "cluster_id": event.cluster_id,
        "kind": event.kind,
    }
    try:
        async_to_sync(layer.group_send)(cluster_group(event.cluster_id), payload)
        async_to_sync(layer.group_send)(organization_group(event.organization_id), payload)
    except Exception:  # noqa: BLE001 - a push is best effort; the event is stored and replayed
        log.warning("could not publish event %s; pages will replay it", event.id, exc_info=True)
