"""Record a cluster's events and publish them after commit. The one home of channel group names.

Events are stored first, then pushed: a page that missed a push replays from the database by id.
Publishing never blocks or breaks the caller (a provisioning worker): if the channel layer is down,
the event is still stored and the pages catch up when they reconnect.

The publisher renders each group's HTML once and puts it in the group message, so a websocket
process only forwards it (per-socket work bounds fan-out, ARCHITECTURE.md). Clusters cannot import
monitoring, which owns the markup: monitoring registers its renderers here at start-up
(`register_push_renderer`, called from monitoring/apps.py). Without one, or if rendering fails, the
message carries only the event id and the consumer renders it itself.

Group messages go out through one long-lived event loop per process (`PublisherLoop`) instead of
`async_to_sync`: that makes a new event loop per call, and channels-redis a new Redis connection
per loop, i.e. a connection and ~3 ms per event on top of the Redis round trips.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any

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


# How long the publishing thread waits for its group messages to reach Redis. Waiting keeps one
# thread's events in order and lets a short-lived process (a management command) exit only after
# its pushes left; the bound keeps a stalled Redis from stalling a provisioning worker.
PUBLISH_WAIT_SECONDS = 2.0


class PublisherLoop:
    """An event loop in a daemon thread that sends this process's group messages.

    Safe from any thread (Django request threads, Celery tasks): callers hand it coroutines with
    `run_coroutine_threadsafe`. Celery's prefork pool forks workers after import: a child has no
    copy of the parent's thread, so the loop is dropped at fork and started again on first use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._loop = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="happa-event-publisher", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def submit(self, coroutine: Coroutine[Any, Any, None]) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())


publisher_loop = PublisherLoop()


def publish_event(event: Event) -> None:
    """Push the event's pre-rendered HTML to the cluster's and the organization's watchers."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        # The cluster page's message first; one at a time, each awaited before the next render:
        # rendering holds the GIL, which would keep the loop's thread from sending for up to
        # the interpreter's switch interval (5 ms).
        for group, audience in (
            (cluster_group(event.cluster_id), CLUSTER_AUDIENCE),
            (organization_group(event.organization_id), ORGANIZATION_AUDIENCE),
        ):
            sent = publisher_loop.submit(layer.group_send(group, push_message(event, audience)))
            sent.result(timeout=PUBLISH_WAIT_SECONDS)
    except Exception:  # noqa: BLE001 - a push is best effort; the event is stored and replayed
        log.warning("could not publish event %s; pages will replay it", event.id, exc_info=True)
