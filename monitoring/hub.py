"""One channel-layer membership per process and group; the process fans out to its own sockets.

With one membership per socket, every push wakes every socket's channel-layer receive (channels-
redis hands each a copy through its receive lock and buffers), which is most of a Channels
process's per-socket cost. Here each group a process watches has one `Feed`: one channel in the
group, one task reading it, and an in-memory list of the sockets that watch the group. A push costs
one Redis read per process and one queue put per socket; each socket sends from its own task, so
a slow socket delays only itself.

A feed joins its group when its first socket arrives and leaves it when its last socket goes (no
stale members after a burst of closes), and refreshes its membership before channels-redis'
`group_expiry` forgets it, so the members of a dead process still vanish within that expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any, Protocol

log = logging.getLogger(__name__)

# channels-redis forgets group members after `group_expiry` (300 s in settings, so members of dead
# processes go quickly); a live feed re-adds itself well before that.
GROUP_REFRESH_SECONDS = 120
# After a failed read (Redis down), wait this long before reading again.
RETRY_SECONDS = 1.0


class Subscriber(Protocol):
    def push(self, message: dict[str, Any]) -> None:
        """Take one group message without awaiting (the feed serves every socket in turn)."""


class Feed:
    """One group's membership in this process: a channel, its reader, the local subscribers."""

    def __init__(self, layer: Any, group: str, channel: str) -> None:
        self.layer = layer
        self.group = group
        self.channel = channel
        self.subscribers: set[Subscriber] = set()
        loop = asyncio.get_running_loop()
        self.reader = loop.create_task(self.read())
        self.refresher = loop.create_task(self.refresh())

    async def read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis went away: keep the feed, read again soon
                log.warning("could not read %s's feed; retrying", self.group, exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            # Every subscriber gets the same dict: they must treat it as read-only.
            for subscriber in tuple(self.subscribers):
                subscriber.push(message)

    async def refresh(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            try:
                await self.layer.group_add(self.group, self.channel)
            except Exception:  # noqa: BLE001 - try again next round
                log.warning("could not refresh %s", self.group, exc_info=True)

    async def close(self) -> None:
        self.reader.cancel()
        self.refresher.cancel()
        for task in (self.reader, self.refresher):
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Hub:
    """The feeds of one event loop (uvicorn runs one per process; tests one per scenario)."""

    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, group: str) -> asyncio.Lock:
        # Joins and leaves of one group are serialised, so a leave's group_discard can never land
        # in Redis after a join's group_add that followed it (the feed would be deaf). Locks are
        # kept (one per group this process ever watched): dropping one a waiter holds is a race.
        return self._locks.setdefault(group, asyncio.Lock())

    async def join(self, layer: Any, group: str, subscriber: Subscriber) -> None:
        """Subscribe to the group's pushes; raises (and subscribes nothing) if Redis is down."""
        async with self._lock(group):
            feed = self.feeds.get(group)
            if feed is None:
                channel = await layer.new_channel()
                await layer.group_add(group, channel)
                feed = self.feeds[group] = Feed(layer, group, channel)
            feed.subscribers.add(subscriber)

    async def leave(self, group: str, subscriber: Subscriber) -> None:
        async with self._lock(group):
            feed = self.feeds.get(group)
            if feed is None:
                return
            feed.subscribers.discard(subscriber)
            if feed.subscribers:
                return
            del self.feeds[group]
            await feed.close()
            try:
                await feed.layer.group_discard(group, feed.channel)
            except Exception:  # noqa: BLE001 - group_expiry removes it if Redis is down now
                log.warning("could not leave %s", group, exc_info=True)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (asyncio objects cannot be shared between loops)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
