"""The live-status sockets: who may connect, what they receive, what a reconnect replays."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import override_settings

from clusters.events import cluster_group, organization_group, record_event
from clusters.models import Cluster, Event
from monitoring.metrics import websocket_connections
from monitoring.routing import websocket_urlpatterns
from tests.factories import ClusterFactory, NodePoolFactory
from tests.monitoring.live import ANONYMOUS, communicator, session_headers

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5


def event_ids(html: str) -> list[int]:
    return [int(value) for value in re.findall(r'<li id="event-(\d+)"', html)]


def test_member_receives_the_event_row_and_status_after_an_event_is_recorded(
    organization, member
):
    cluster = ClusterFactory(
        organization=organization, status=Cluster.Status.CREATING, steps_total=19, steps_done=6
    )

    headers = session_headers(member)

    async def scenario() -> tuple[Event, str]:
        socket = communicator(f"/ws/clusters/{cluster.id}/?after=0", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        assert await socket.receive_nothing(timeout=0.2)

        def advance() -> Event:
            Cluster.objects.filter(pk=cluster.pk).update(steps_done=7, current_step="nat_gateways")
            return record_event(cluster, "NAT gateways available", step="nat_gateways")

        event = await database_sync_to_async(advance)()
        html = await socket.receive_from(timeout=TIMEOUT)
        await socket.disconnect()
        return event, html

    event, html = async_to_sync(scenario)()
    assert event_ids(html) == [event.id]
    assert f'id="cluster-{cluster.id}-events" hx-swap-oob="beforeend"' in html
    assert f'id="cluster-{cluster.id}-status"' in html
    assert "step 7 of 19: nat_gateways" in html
    assert "NAT gateways available" in html


def test_a_scale_event_pushes_the_node_counts(organization, member):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    NodePoolFactory(cluster=cluster, name="workers", desired_size=5, min_size=3, max_size=10)

    headers = session_headers(member)

    async def scenario() -> str:
        socket = communicator(f"/ws/clusters/{cluster.id}/", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        await database_sync_to_async(record_event)(cluster, "scaled", kind=Event.Kind.SCALE)
        html = await socket.receive_from(timeout=TIMEOUT)
        await socket.disconnect()
        return html

    html = async_to_sync(scenario)()
    assert f'id="cluster-{cluster.id}-nodes" class="node-counts" hx-swap-oob="true"' in html
    assert "5 workers" in html


def test_a_socket_for_another_organizations_cluster_is_refused_like_a_404(
    organization, outsider
):
    cluster = ClusterFactory(organization=organization)

    headers = session_headers(outsider)

    async def scenario() -> tuple[bool, int]:
        socket = communicator(f"/ws/clusters/{cluster.id}/?after=0", headers)
        connected, code = await socket.connect(timeout=TIMEOUT)
        await socket.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4404)


def test_a_socket_for_another_organization_is_refused_like_a_404(other_organization, member):
    headers = session_headers(member)

    async def scenario() -> tuple[bool, int]:
        socket = communicator(f"/ws/organizations/{other_organization.id}/?after=0", headers)
        connected, code = await socket.connect(timeout=TIMEOUT)
        await socket.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4404)


def test_an_anonymous_socket_is_refused(organization):
    cluster = ClusterFactory(organization=organization)

    async def scenario() -> tuple[bool, int]:
        socket = communicator(f"/ws/clusters/{cluster.id}/?after=0", ANONYMOUS)
        connected, code = await socket.connect(timeout=TIMEOUT)
        await socket.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4404)


def test_a_cursor_that_is_not_a_number_is_refused_as_a_bad_request(organization, member):
    cluster = ClusterFactory(organization=organization)

    headers = session_headers(member)

    async def scenario() -> tuple[bool, int]:
        socket = communicator(f"/ws/clusters/{cluster.id}/?after=abc", headers)
        connected, code = await socket.connect(timeout=TIMEOUT)
        await socket.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4400)


def test_reconnecting_after_an_event_replays_exactly_the_missed_events_in_order(
    organization, member
):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    other = ClusterFactory(organization=organization)
    events = [record_event(cluster, f"step {n}") for n in range(1, 6)]
    record_event(other, "another cluster's event")

    headers = session_headers(member)

    async def scenario() -> tuple[str, bool]:
        socket = communicator(f"/ws/clusters/{cluster.id}/?after={events[1].id}", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        html = await socket.receive_from(timeout=TIMEOUT)
        quiet = await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()
        return html, quiet

    html, quiet = async_to_sync(scenario)()
    assert event_ids(html) == [event.id for event in events[2:]]
    assert quiet, "the replay is one message, then nothing until the next event"


def test_an_event_replayed_on_connect_is_not_sent_again_when_its_push_arrives(
    organization, member
):
    cluster = ClusterFactory(organization=organization)
    before = record_event(cluster, "before the socket")

    headers = session_headers(member)

    async def scenario() -> list[str]:
        socket = communicator(f"/ws/clusters/{cluster.id}/?after=0", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        replay = await socket.receive_from(timeout=TIMEOUT)
        # The push of an event the socket already replayed (committed while it was connecting).
        await get_channel_layer().group_send(
            cluster_group(cluster.id),
            {"type": "event.created", "event_id": before.id, "cluster_id": cluster.id,
             "kind": "step"},
        )
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        return [replay]

    (replay,) = async_to_sync(scenario)()
    assert event_ids(replay) == [before.id]


def test_the_cluster_group_message_carries_the_fragment_rendered_by_the_publisher(organization):
    cluster = ClusterFactory(
        organization=organization, status=Cluster.Status.CREATING, steps_total=19, steps_done=3
    )
    layer = get_channel_layer()

    async def scenario() -> tuple[Event, dict]:
        channel = await layer.new_channel()
        await layer.group_add(cluster_group(cluster.id), channel)
        event = await database_sync_to_async(record_event)(cluster, "VPC available", step="vpc")
        message = await asyncio.wait_for(layer.receive(channel), TIMEOUT)
        await layer.group_discard(cluster_group(cluster.id), channel)
        return event, message

    event, message = async_to_sync(scenario)()
    assert message["type"] == "event.created"
    assert message["event_id"] == event.id
    assert event_ids(message["html"]) == [event.id]
    assert "step 3 of 19" in message["html"]


def test_the_organization_group_message_carries_the_row_status_rendered_by_the_publisher(
    organization,
):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    layer = get_channel_layer()

    async def scenario() -> tuple[Event, dict]:
        channel = await layer.new_channel()
        await layer.group_add(organization_group(organization.id), channel)
        event = await database_sync_to_async(record_event)(cluster, "healthy")
        message = await asyncio.wait_for(layer.receive(channel), TIMEOUT)
        await layer.group_discard(organization_group(organization.id), channel)
        return event, message

    event, message = async_to_sync(scenario)()
    assert f'id="cluster-{cluster.id}-row-status"' in message["html"]
    assert f'data-event-id="{event.id}"' in message["html"]


def test_the_consumer_forwards_the_pushed_html_as_is_without_rendering_it(organization, member):
    cluster = ClusterFactory(organization=organization)
    headers = session_headers(member)
    # No such event row: a consumer that loaded or rendered it would have nothing to send.
    pushed = {"type": "event.created", "event_id": 10**9, "cluster_id": cluster.id,
              "kind": "step", "html": '<p id="pre-rendered">as the publisher rendered it</p>'}

    async def scenario() -> str:
        socket = communicator(f"/ws/clusters/{cluster.id}/", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        await get_channel_layer().group_send(cluster_group(cluster.id), pushed)
        html = await socket.receive_from(timeout=TIMEOUT)
        await socket.disconnect()
        return html

    assert async_to_sync(scenario)() == pushed["html"]


def test_a_push_without_html_is_rendered_by_the_consumer(organization, member):
    cluster = ClusterFactory(organization=organization)
    # Stored without record_event, so nothing was published for it.
    event = Event.objects.create(
        cluster=cluster, organization_id=organization.id, message="rendered by the consumer"
    )
    headers = session_headers(member)

    async def scenario() -> str:
        socket = communicator(f"/ws/clusters/{cluster.id}/", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        await get_channel_layer().group_send(
            cluster_group(cluster.id),
            {"type": "event.created", "event_id": event.id, "cluster_id": cluster.id,
             "kind": "step"},
        )
        html = await socket.receive_from(timeout=TIMEOUT)
        await socket.disconnect()
        return html

    html = async_to_sync(scenario)()
    assert event_ids(html) == [event.id]
    assert "rendered by the consumer" in html


def test_replayed_then_pushed_events_reach_the_socket_in_id_order_once_each(
    organization, member
):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    before = [record_event(cluster, f"before {n}") for n in range(2)]
    headers = session_headers(member)

    async def scenario() -> tuple[list[int], list[int]]:
        socket = communicator(f"/ws/clusters/{cluster.id}/?after=0", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        received = [await socket.receive_from(timeout=TIMEOUT)]
        after = [
            await database_sync_to_async(record_event)(cluster, f"after {n}") for n in range(2)
        ]
        # A late duplicate of a replayed event, as a publisher racing the replay would send it.
        await get_channel_layer().group_send(
            cluster_group(cluster.id),
            {"type": "event.created", "event_id": before[1].id, "cluster_id": cluster.id,
             "kind": "step", "html": f'<li id="event-{before[1].id}"></li>'},
        )
        received += [await socket.receive_from(timeout=TIMEOUT) for _ in after]
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        shown = [event_id for html in received for event_id in event_ids(html)]
        return shown, [event.id for event in before + after]

    shown, recorded = async_to_sync(scenario)()
    assert shown == recorded


def test_the_organization_socket_pushes_the_row_status_of_the_cluster_concerned(
    organization, member
):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)

    headers = session_headers(member)

    async def scenario() -> tuple[Event, str]:
        socket = communicator(f"/ws/organizations/{organization.id}/?after=0", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected

        def finish() -> Event:
            Cluster.objects.filter(pk=cluster.pk).update(status=Cluster.Status.RUNNING)
            return record_event(cluster, "running", kind=Event.Kind.STATUS)

        event = await database_sync_to_async(finish)()
        html = await socket.receive_from(timeout=TIMEOUT)
        await socket.disconnect()
        return event, html

    event, html = async_to_sync(scenario)()
    assert f'id="cluster-{cluster.id}-row-status"' in html
    assert f'data-event-id="{event.id}"' in html
    assert "Running" in html


def test_a_closed_socket_leaves_its_group_in_redis(organization, member):
    cluster = ClusterFactory(organization=organization)
    layer = get_channel_layer()
    group_key = layer._group_key(cluster_group(cluster.id))
    store = redis.Redis.from_url(settings.REDIS_URL)

    headers = session_headers(member)

    async def scenario() -> tuple[int, int]:
        socket = communicator(f"/ws/clusters/{cluster.id}/", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        while_open = store.zcard(group_key)
        await socket.disconnect()
        return while_open, store.zcard(group_key)

    assert async_to_sync(scenario)() == (1, 0)


def test_recording_an_event_with_the_channel_layer_down_stores_it_and_does_not_raise(
    organization, caplog
):
    cluster = ClusterFactory(organization=organization)
    down = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Nothing listens on port 9 (discard) on loopback here: the connection is refused.
            "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},
        }
    }
    with override_settings(CHANNEL_LAYERS=down), caplog.at_level(logging.WARNING):
        event = record_event(cluster, "stored even though nobody hears it")

    assert Event.objects.filter(pk=event.pk).exists()
    assert "pages will replay it" in caplog.text


def test_open_sockets_are_counted_for_the_metrics_gauge(organization, member):
    cluster = ClusterFactory(organization=organization)
    headers = session_headers(member)
    before = websocket_connections()

    async def scenario() -> tuple[int, int]:
        socket = communicator(f"/ws/clusters/{cluster.id}/", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        while_open = await database_sync_to_async(websocket_connections)()
        await socket.disconnect()
        return while_open, await database_sync_to_async(websocket_connections)()

    assert async_to_sync(scenario)() == (before + 1, before)


def test_a_thousand_sockets_share_one_group_member_and_leave_none_when_closing_together(
    organization, member
):
    app = URLRouter(websocket_urlpatterns)  # the consumer itself; the session was tested above
    group_key = get_channel_layer()._group_key(organization_group(organization.id))
    store = redis.Redis.from_url(settings.REDIS_URL)
    pushed = {"type": "event.created", "event_id": 1, "cluster_id": "x", "kind": "step",
              "html": "<p>to all</p>"}

    async def scenario() -> tuple[int, list[str], int]:
        sockets = []
        for _ in range(1000):
            socket = WebsocketCommunicator(app, f"/ws/organizations/{organization.id}/")
            socket.scope["user"] = member
            sockets.append(socket)
        for start in range(0, len(sockets), 100):  # they open over time, in bursts of 100
            results = await asyncio.gather(
                *(s.connect(timeout=60) for s in sockets[start : start + 100])
            )
            assert all(connected for connected, _ in results)
        # One membership for this process, whatever its number of sockets: the hub fans out.
        while_open = store.zcard(group_key)
        await get_channel_layer().group_send(organization_group(organization.id), pushed)
        received = await asyncio.gather(*(s.receive_from(timeout=60) for s in sockets))
        await asyncio.gather(*(s.disconnect(timeout=60) for s in sockets))
        return while_open, received, store.zcard(group_key)

    while_open, received, after_closing = async_to_sync(scenario)()
    assert while_open == 1
    assert received == [pushed["html"]] * 1000
    assert after_closing == 0


def test_an_idle_socket_still_receives_events_after_the_redis_read_timeout(organization, member):
    # channels-redis waits up to 5 s per BZPOPMIN; redis-py 8 times reads out after 5 s by default.
    cluster = ClusterFactory(organization=organization)
    headers = session_headers(member)

    async def scenario() -> str:
        socket = communicator(f"/ws/clusters/{cluster.id}/", headers)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        await asyncio.sleep(12)
        await database_sync_to_async(record_event)(cluster, "after a quiet while")
        html = await socket.receive_from(timeout=TIMEOUT)
        await socket.disconnect()
        return html

    assert "after a quiet while" in async_to_sync(scenario)()
