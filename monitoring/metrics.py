"""Prometheus metrics, written in the text exposition format by hand (no client library here).

The websocket gauge: each ASGI process counts its own open sockets in memory and publishes the
count to Redis under its own key (host:pid) with a TTL, at every open/close and from a heartbeat
thread every TTL/3. The gauge is the sum over the keys that still exist, so the sockets of a
process that was killed (no close, no decrement) leave /metrics within HAPPA_WS_GAUGE_TTL_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import weakref
from collections import defaultdict
from datetime import datetime, timedelta

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from clusters.models import Cluster, Event
from monitoring.models import Alert, Delivery

log = logging.getLogger(__name__)

# One key per process holds its count; the set lists the keys so a scrape needs no SCAN.
CONNECTIONS_KEY_PREFIX = "happa:monitoring:ws-connections:"
PROCESSES_KEY = "happa:monitoring:ws-processes"

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = aioredis.from_url(settings.REDIS_URL, socket_connect_timeout=5)
        _clients[loop] = client
    return client


def _sync_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


class ProcessConnections:
    """One process's open websockets: counted here, published with a TTL, kept alive by a thread.

    The in-memory count is the truth; Redis holds a copy that expires unless refreshed. Both
    publishing paths write the whole count (SET, not INCR), so a lost or reordered write is
    corrected by the next heartbeat instead of drifting forever.
    """

    def __init__(self, process_id: str, ttl_seconds: float) -> None:
        self.process_id = process_id
        self.key = CONNECTIONS_KEY_PREFIX + process_id
        self.ttl_ms = max(int(ttl_seconds * 1000), 1)
        self.count = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def change(self, delta: int) -> int:
        with self._lock:
            self.count = max(self.count + delta, 0)
            return self.count

    def publish(self, store: redis.Redis) -> None:
        with store.pipeline(transaction=False) as pipe:
            pipe.set(self.key, self.count, px=self.ttl_ms)
            pipe.sadd(PROCESSES_KEY, self.key)
            pipe.execute()

    async def publish_async(self, store: aioredis.Redis) -> None:
        async with store.pipeline(transaction=False) as pipe:
            pipe.set(self.key, self.count, px=self.ttl_ms)
            pipe.sadd(PROCESSES_KEY, self.key)
            await pipe.execute()

    def start_heartbeat(self) -> None:
        """Republish every TTL/3 from a daemon thread (it dies with the process, as it should)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopped.clear()
            self._thread = threading.Thread(
                target=self._beat, name=f"ws-gauge-{self.process_id}", daemon=True
            )
            self._thread.start()

    def stop_heartbeat(self) -> None:
        """Stop refreshing (what a killed process does); the key then expires after the TTL."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        interval = self.ttl_ms / 3000
        failing = False
        while not self._stopped.wait(interval):
            try:
                store = _sync_client()
                try:
                    self.publish(store)
                finally:
                    store.close()
                failing = False
            except redis.RedisError:
                if not failing:  # once per outage, not every few seconds
                    log.warning("could not refresh the websocket gauge", exc_info=True)
                failing = True


_process: ProcessConnections | None = None
_process_lock = threading.Lock()


def process_connections() -> ProcessConnections:
    """This process's counter; a forked child (different pid) starts its own."""
    global _process  # one counter per process is the point
    process_id = f"{socket.gethostname()}:{os.getpid()}"
    with _process_lock:
        if _process is None or _process.process_id != process_id:
            _process = ProcessConnections(process_id, settings.HAPPA_WS_GAUGE_TTL_SECONDS)
        return _process


async def _change_connections(delta: int) -> None:
    counter = process_connections()
    counter.change(delta)
    counter.start_heartbeat()
    try:
        await counter.publish_async(_client())
    except Exception:  # noqa: BLE001 - a gauge must never break a socket; the heartbeat retries
        log.warning("could not update the websocket gauge", exc_info=True)


async def connection_opened() -> None:
    await _change_connections(+1)


async def connection_closed() -> None:
    await _change_connections(-1)


# --- The exposition -----------------------------------------------------------------------------

# Step durations are read from the engine's "Step N of M done: <step>" events of the last day.
STEP_WINDOW = timedelta(days=1)
STEP_EVENTS_READ = 5000
CELERY_QUEUES = ("celery",)


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class Exposition:
    """Prometheus text format 0.0.4: HELP and TYPE once per family, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: list[tuple[dict[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        self.samples(name, samples)

    def samples(self, name: str, samples: list[tuple[dict[str, str], float]]) -> None:
        for labels, value in samples:
            rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in sorted(labels.items()))
            self.lines.append(f"{name}{{{rendered}}} {_format_value(value)}" if rendered
                              else f"{name} {_format_value(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def websocket_connections() -> int:
    """Open sockets over the processes whose key has not expired; forgets the expired ones."""
    store = _sync_client()
    try:
        keys = sorted(key.decode() for key in store.smembers(PROCESSES_KEY))
        if not keys:
            return 0
        values = store.mget(keys)
        expired = [key for key, value in zip(keys, values, strict=True) if value is None]
        if expired:
            store.srem(PROCESSES_KEY, *expired)
        return sum(int(value) for value in values if value is not None)
    finally:
        store.close()


def queue_depths() -> dict[str, int]:
    store = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2,
                                 socket_connect_timeout=2)
    try:
        return {queue: int(store.llen(queue)) for queue in CELERY_QUEUES}
    finally:
        store.close()


def step_durations() -> dict[str, tuple[float, int]]:
    """Seconds each provisioning step took (sum, count), from consecutive step-done events."""
    since = timezone.now() - STEP_WINDOW
    events = (
        Event.objects.filter(kind=Event.Kind.STEP, created_at__gte=since,
                             message__startswith="Step ", message__contains=" done: ")
        .order_by("-id")
        .values_list("cluster_id", "step", "created_at")[:STEP_EVENTS_READ]
    )
    previous: dict[str, datetime] = {}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for cluster_id, step, created_at in reversed(list(events)):
        started = previous.get(cluster_id)
        previous[cluster_id] = created_at
        if started is None or not step:
            continue  # the first step seen has no start in the window
        totals[step][0] += (created_at - started).total_seconds()
        totals[step][1] += 1
    return {step: (total, count) for step, (total, count) in totals.items()}


def render_metrics() -> str:
    out = Exposition()
    by_status = dict(
        Cluster.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    out.family("happa_clusters", "gauge", "Clusters by status.",
               [({"status": status}, by_status.get(status, 0)) for status in Cluster.Status.values])
    by_health = dict(
        Cluster.objects.live().values_list("health").annotate(n=Count("id"))
        .values_list("health", "n")
    )
    out.family("happa_cluster_health", "gauge", "Live clusters by health.",
               [({"health": health}, by_health.get(health, 0))
                for health in Cluster.Health.values])
    firing = dict(
        Alert.objects.firing().values_list("severity").annotate(n=Count("id"))
        .values_list("severity", "n")
    )
    out.family("happa_alerts_firing", "gauge", "Firing alerts by severity.",
               [({"severity": severity}, firing.get(severity, 0))
                for severity in Alert.Severity.values])
    out.family("happa_events_total", "counter", "Cluster events recorded.",
               [({}, Event.objects.count())])
    deliveries = dict(
        Delivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    out.family("happa_notification_deliveries", "gauge", "Notification deliveries by status.",
               [({"status": status}, deliveries.get(status, 0))
                for status in Delivery.Status.values])
    try:
        out.family("happa_websocket_connections", "gauge", "Open live-status websockets.",
                   [({}, websocket_connections())])
        out.family("happa_task_queue_length", "gauge", "Celery tasks waiting in the broker.",
                   [({"queue": queue}, depth) for queue, depth in queue_depths().items()])
    except redis.RedisError:
        log.warning("Redis unavailable: websocket and queue gauges left out", exc_info=True)
    durations = step_durations()
    name = "happa_provisioning_step_duration_seconds"
    out.lines.append(f"# HELP {name} Time provisioning steps took (last 24 h).")
    out.lines.append(f"# TYPE {name} summary")
    steps = sorted(durations.items())
    out.samples(name + "_sum", [({"step": step}, round(total, 3)) for step, (total, _) in steps])
    out.samples(name + "_count", [({"step": step}, count) for step, (_, count) in steps])
    return out.text()
