"""Live status over websockets: join the groups, replay what the page missed, then forward.

The group message carries the HTML rendered once by the publisher (clusters/events.py), so
forwarding a push costs a duplicate check and a send per socket. A socket for a cluster or
organization the user cannot see is closed with 4404 before it is accepted (a 404, not a 403 that
confirms it exists). On connect the consumer joins the group first and replays from the database
second, so an event committed in between is sent twice rather than never; the consumer and the
page both drop duplicates by event id. "Joining" means subscribing to this process's feed for the
group (monitoring/hub.py: one channel-layer membership per process and group); pushes that arrive
during the replay wait in the socket's queue, which is forwarded only after the replay was sent.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.models import Organization
from clusters.events import cluster_group, organization_group
from clusters.models import Cluster, Event
from monitoring import live, metrics
from monitoring.hub import hub

log = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400
# Not one of the codes htmx's ws extension reconnects on by itself (1006/1011/1012/1013): 1011 is.
CLOSE_TRY_AGAIN = 1011

# Pushes a socket may have waiting (a replay in progress, a slow client) before it is closed to
# catch up by replay; channels-redis' per-channel capacity is 200 in settings.
PUSH_BACKLOG = 200

# redis-py's asyncio pool holds at most 100 connections and fails (not waits) beyond that: a burst
# of sockets opening or closing at once in one process must queue for Redis instead of failing.
REDIS_CONCURRENCY = 50
_redis_slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def redis_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slot = _redis_slots.get(loop)
    if slot is None:
        slot = _redis_slots[loop] = asyncio.Semaphore(REDIS_CONCURRENCY)
    return slot


class FragmentCache:
    """Renders a pushed event once per process when its message came without HTML.

    Publishers normally render (clusters/events.py `push_message`); this is the fallback for a
    message without `html`. Per-socket work bounds fan-out (ARCHITECTURE.md), so the first consumer
    renders and the others await the same task. Entries are per event loop: a task cannot be
    awaited from another loop.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[tuple, tuple[asyncio.AbstractEventLoop, asyncio.Task]] = (
            OrderedDict()
        )

    async def get(self, key: tuple, render: Callable[[], Awaitable[str]]) -> str:
        loop = asyncio.get_running_loop()
        entry = self._entries.get(key)
        if entry is None or entry[0] is not loop:
            entry = (loop, loop.create_task(render()))
            self._entries[key] = entry
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        try:
            return await asyncio.shield(entry[1])
        except Exception:
            self._entries.pop(key, None)
            raise


fragments = FragmentCache()


NO_REPLAY = -1


def parse_after(query_string: bytes) -> int | None:
    """`?after=<event id>` (≥ 0); absent means NO_REPLAY; None when it is not a whole number."""
    values = parse_qs(query_string.decode("latin-1")).get("after")
    if not values:
        return NO_REPLAY
    try:
        after = int(values[-1])
    except ValueError:
        return None
    return after if after >= 0 else None


class LiveConsumer(AsyncWebsocketConsumer):
    """The shared shape; subclasses say which groups and what to render."""

    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        self.sent_ids: deque[int] = deque(maxlen=2048)
        # Pushes wait here while the replay runs (so they follow it) and while a send is slow.
        self.pushes: asyncio.Queue[dict] = asyncio.Queue(maxsize=PUSH_BACKLOG)
        self.sender: asyncio.Task | None = None
        self.is_counted = False
        self.is_lagging = False
        after = parse_after(self.scope.get("query_string", b""))
        if after is None:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self.authorize(user):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        try:
            async with redis_slot():
                for group in self.groups_to_join():
                    await hub().join(self.channel_layer, group, self)
                    self.groups_joined.append(group)
                await metrics.connection_opened()
                self.is_counted = True
        except Exception:  # noqa: BLE001 - Redis down: refuse; the page retries and replays
            log.warning("channel layer unavailable; refusing socket", exc_info=True)
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        await self.accept()
        await self.replay(after)
        self.sender = asyncio.get_running_loop().create_task(self.forward_pushes())

    async def disconnect(self, code: int) -> None:
        if self.sender is not None:
            self.sender.cancel()
        if not self.groups_joined:
            return
        async with redis_slot():
            for group in self.groups_joined:
                await hub().leave(group, self)
            if self.is_counted:
                await metrics.connection_closed()
        self.groups_joined = []

    def push(self, message: dict) -> None:
        """Called by this process's feed (monitoring/hub.py) for every message to a joined group."""
        try:
            self.pushes.put_nowait(message)
        except asyncio.QueueFull:
            # A socket this far behind would only fall further: close it, and the page reconnects
            # and replays from its cursor instead of the feed buffering without bound.
            if not self.is_lagging:
                self.is_lagging = True
                log.info("socket %s is %d pushes behind; closing it", self.channel_name,
                         PUSH_BACKLOG)
                # Kept on the consumer: the loop holds only a weak reference to a task.
                self.closing = asyncio.get_running_loop().create_task(
                    self.close(code=CLOSE_TRY_AGAIN)
                )

    async def forward_pushes(self) -> None:
        try:
            while True:
                await self.event_created(await self.pushes.get())
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the socket is gone; disconnect() cleans up
            log.debug("stopped forwarding to %s", self.channel_name, exc_info=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page only listens; anything it sends is ignored."""

    async def event_created(self, message: dict) -> None:
        # channels-redis hands the same message dict to every socket of this process: read only.
        event_id = int(message["event_id"])
        if event_id in self.sent_ids:
            return
        html = message.get("html")
        if html is None:  # the publisher had no renderer or its render failed
            html = await fragments.get(
                (self.fragment_scope, event_id), lambda: self.render_pushed(event_id)
            )
        self.sent_ids.append(event_id)
        if html:
            await self.send(text_data=html)

    async def send_html(self, html: str, event_ids: list[int]) -> None:
        self.sent_ids.extend(event_ids)
        if html:
            await self.send(text_data=html)

    # Subclasses:
    fragment_scope = ""

    async def authorize(self, user) -> bool:  # noqa: ANN001
        raise NotImplementedError

    def groups_to_join(self) -> list[str]:
        raise NotImplementedError

    async def replay(self, after: int) -> None:
        raise NotImplementedError

    async def render_pushed(self, event_id: int) -> str:
        raise NotImplementedError


class ClusterConsumer(LiveConsumer):
    """`/ws/clusters/<id>/?after=<event id>`: one cluster page."""

    fragment_scope = "cluster"

    async def authorize(self, user) -> bool:  # noqa: ANN001
        self.cluster_id = self.scope["url_route"]["kwargs"]["cluster_id"]
        return await database_sync_to_async(
            Cluster.objects.visible_to(user).filter(pk=self.cluster_id).exists
        )()

    def groups_to_join(self) -> list[str]:
        return [cluster_group(self.cluster_id)]

    async def replay(self, after: int) -> None:
        if after == NO_REPLAY:
            return  # a page without a cursor rendered everything itself
        events, html = await database_sync_to_async(self._render_replay)(after)
        await self.send_html(html, [event.id for event in events])

    def _render_replay(self, after: int) -> tuple[list[Event], str]:
        events = live.missed_events(after=after, cluster_id=self.cluster_id)
        if not events:
            return events, ""
        return events, live.render_cluster_push(self.cluster_id, events)

    async def render_pushed(self, event_id: int) -> str:
        return await database_sync_to_async(self._render_one)(event_id)

    def _render_one(self, event_id: int) -> str:
        event = Event.objects.filter(pk=event_id).first()
        if event is None:
            return ""
        return live.render_cluster_push(event.cluster_id, [event])


class OrganizationConsumer(LiveConsumer):
    """`/ws/organizations/<org id>/?after=<event id>`: the cluster list of one organization."""

    fragment_scope = "organization"

    async def authorize(self, user) -> bool:  # noqa: ANN001
        self.organization_id = self.scope["url_route"]["kwargs"]["organization_id"]
        return await database_sync_to_async(
            Organization.objects.visible_to(user).filter(pk=self.organization_id).exists
        )()

    def groups_to_join(self) -> list[str]:
        return [organization_group(self.organization_id)]

    async def replay(self, after: int) -> None:
        if after == NO_REPLAY:
            return
        events, html = await database_sync_to_async(self._render_replay)(after)
        await self.send_html(html, [event.id for event in events])

    def _render_replay(self, after: int) -> tuple[list[Event], str]:
        events = live.missed_events(after=after, organization_id=self.organization_id)
        if not events:
            return events, ""
        cluster_ids = list(dict.fromkeys(event.cluster_id for event in events))
        clusters = list(Cluster.objects.filter(pk__in=cluster_ids))
        return events, live.render_organization_push(clusters, events[-1].id)

    async def render_pushed(self, event_id: int) -> str:
        return await database_sync_to_async(self._render_one)(event_id)

    def _render_one(self, event_id: int) -> str:
        event = Event.objects.select_related("cluster").filter(pk=event_id).first()
        if event is None:
            return ""
        return live.render_organization_push([event.cluster], event.id)
