"""The per-process feeds: one group membership per process, fanned out to local subscribers."""

from __future__ import annotations

import asyncio

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from monitoring.hub import hub

TIMEOUT = 5


class Inbox:
    """A subscriber that keeps what it is pushed (the consumer queues it the same way)."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[dict] = asyncio.Queue()

    def push(self, message: dict) -> None:
        self.messages.put_nowait(message)


def test_two_subscribers_share_one_membership_that_goes_with_the_last_of_them():
    layer = get_channel_layer()
    group = "cluster.test-hub-sharing"
    store = redis.Redis.from_url(settings.REDIS_URL)
    group_key = layer._group_key(group)

    async def scenario() -> tuple[int, list[dict], list[dict], int, int]:
        first, second = Inbox(), Inbox()
        await hub().join(layer, group, first)
        await hub().join(layer, group, second)
        members_with_two = store.zcard(group_key)
        await layer.group_send(group, {"type": "event.created", "event_id": 7, "html": "<p/>"})
        got = [await asyncio.wait_for(inbox.messages.get(), TIMEOUT) for inbox in (first, second)]
        await hub().leave(group, first)
        members_with_one = store.zcard(group_key)
        await layer.group_send(group, {"type": "event.created", "event_id": 8, "html": "<p/>"})
        later = [await asyncio.wait_for(second.messages.get(), TIMEOUT)]
        assert first.messages.empty()
        await hub().leave(group, second)
        return members_with_two, got, later, members_with_one, store.zcard(group_key)

    with_two, got, later, with_one, with_none = async_to_sync(scenario)()
    assert with_two == 1
    assert [message["event_id"] for message in got] == [7, 7]
    assert with_one == 1
    assert [message["event_id"] for message in later] == [8]
    assert with_none == 0
