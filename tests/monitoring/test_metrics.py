"""/metrics: protected, in Prometheus' text format, with the numbers ops need."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from clusters.models import Cluster, Event
from monitoring import metrics
from monitoring.metrics import PROCESSES_KEY, ProcessConnections, websocket_connections
from monitoring.models import Alert
from tests.factories import AlertFactory, ClusterFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"  # noqa: S105
SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(?:\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)?\})?'
    r' (?P<value>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|NaN|[-+]Inf))$'
)


def scrape(client, token: str | None = TOKEN):  # noqa: ANN001, ANN201
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with override_settings(METRICS_TOKEN=TOKEN):
        return client.get("/metrics", headers=headers)


def parse(text: str) -> dict[tuple[str, str], float]:
    """A strict reader of the text format: every sample belongs to a family declared before it."""
    declared: dict[str, str] = {}
    samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in declared, f"{name} declared twice"
            assert kind in {"counter", "gauge", "summary", "histogram", "untyped"}
            declared[name] = kind
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name = match["name"]
        family = re.sub(r"_(total|sum|count|bucket)$", "", name)
        assert name in declared or family in declared, f"{name} has no TYPE before it"
        samples[(name, match["labels"] or "")] = float(match["value"])
    return samples


def test_metrics_without_a_token_are_refused(client):
    response = scrape(client, token=None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_metrics_with_a_wrong_token_are_refused(client):
    assert scrape(client, token="guess").status_code == 401


def test_a_signed_in_customer_cannot_read_metrics(client, member):
    client.force_login(member)

    assert scrape(client, token=None).status_code == 401


def test_ops_staff_read_metrics_with_their_session(client):
    client.force_login(UserFactory(is_staff=True))

    assert scrape(client, token=None).status_code == 200


def test_the_exposition_counts_clusters_alerts_and_events(client, organization):
    running = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    AlertFactory(cluster=running, severity=Alert.Severity.CRITICAL)
    AlertFactory(cluster=running, status=Alert.Status.RESOLVED)
    Event.objects.create(cluster=running, organization=organization, kind="step", message="x")

    response = scrape(client)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = parse(response.content.decode())
    assert samples[("happa_clusters", 'status="running"')] == 1
    assert samples[("happa_clusters", 'status="creating"')] == 1
    assert samples[("happa_clusters", 'status="deleted"')] == 0
    assert samples[("happa_alerts_firing", 'severity="critical"')] == 1
    assert samples[("happa_events_total", "")] == 1
    assert ("happa_websocket_connections", "") in samples
    assert ("happa_task_queue_length", 'queue="celery"') in samples


def test_step_durations_come_from_consecutive_step_events(client, organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    start = timezone.now() - timedelta(minutes=5)
    for offset, step in ((0, "ensure_vpc"), (30, "ensure_subnets"), (150, "ensure_nat")):
        Event.objects.create(
            cluster=cluster, organization=organization, kind="step", step=step,
            message=f"Step 1 of 19 done: {step}", created_at=start + timedelta(seconds=offset),
        )

    samples = parse(scrape(client).content.decode())

    name = "happa_provisioning_step_duration_seconds"
    assert samples[(name + "_sum", 'step="ensure_subnets"')] == 30
    assert samples[(name + "_sum", 'step="ensure_nat"')] == 120
    assert samples[(name + "_count", 'step="ensure_nat"')] == 1


def test_promtool_accepts_the_exposition(client, organization):
    promtool = shutil.which("promtool")
    assert promtool, "install Debian's `prometheus` package (promtool) to run this check"
    running = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    AlertFactory(cluster=running)

    text = scrape(client).content.decode()
    checked = subprocess.run(  # noqa: S603 - fixed arguments
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr


# --- The websocket gauge: one key per process, expiring unless its heartbeat refreshes it --------

SHORT_TTL = 1.0  # seconds; production uses HAPPA_WS_GAUGE_TTL_SECONDS (60)


@pytest.fixture
def store():
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def fake_process(store):
    """Stand-ins for other ASGI processes: their own ids and short TTLs, cleaned up after."""
    made: list[ProcessConnections] = []

    def make(sockets: int, ttl: float = SHORT_TTL) -> ProcessConnections:
        process = ProcessConnections(f"test-{uuid.uuid4().hex[:8]}:1", ttl)
        process.change(sockets)
        process.publish(store)
        made.append(process)
        return process

    yield make
    for process in made:
        process.stop_heartbeat()
        store.delete(process.key)
        store.srem(PROCESSES_KEY, process.key)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> float:
    """Seconds until predicate() held; fails after timeout."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"still false after {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_the_gauge_sums_the_sockets_of_every_live_process(fake_process):
    before = websocket_connections()

    fake_process(2)
    fake_process(3)

    assert websocket_connections() == before + 5


def test_a_process_that_stops_refreshing_drops_out_of_the_gauge_after_its_ttl(fake_process):
    before = websocket_connections()
    live = fake_process(2)
    killed = fake_process(3)
    live.start_heartbeat()
    killed.start_heartbeat()
    assert websocket_connections() == before + 5

    killed.stop_heartbeat()  # what a killed process does: no close events, no refresh
    took = wait_for(lambda: websocket_connections() == before + 2)

    assert took <= SHORT_TTL + 1.0
    time.sleep(SHORT_TTL * 2)  # the live one outlives its TTL because its heartbeat refreshes it
    assert websocket_connections() == before + 2


def test_a_live_process_stays_in_the_gauge_past_its_ttl(fake_process):
    before = websocket_connections()
    live = fake_process(4)
    live.start_heartbeat()

    time.sleep(SHORT_TTL * 3)

    assert websocket_connections() == before + 4


def test_reading_the_gauge_forgets_expired_processes(fake_process, store):
    gone = fake_process(1)  # never refreshed
    wait_for(lambda: store.exists(gone.key) == 0)

    websocket_connections()

    assert not store.sismember(PROCESSES_KEY, gone.key)


def test_a_killed_processs_sockets_leave_the_scrape(client, fake_process):
    before = parse(scrape(client).content.decode())[("happa_websocket_connections", "")]
    fake_process(7)
    assert parse(scrape(client).content.decode())[("happa_websocket_connections", "")] == before + 7

    wait_for(lambda: websocket_connections() == before)

    assert parse(scrape(client).content.decode())[("happa_websocket_connections", "")] == before


def test_opening_a_socket_publishes_this_processs_count_with_an_expiry(store):
    counter = metrics.process_connections()
    before = websocket_connections()

    async_to_sync(metrics.connection_opened)()
    try:
        ttl_ms = store.pttl(counter.key)
        while_open = websocket_connections()
    finally:
        async_to_sync(metrics.connection_closed)()

    assert while_open == before + 1
    assert 0 < ttl_ms <= settings.HAPPA_WS_GAUGE_TTL_SECONDS * 1000
    assert websocket_connections() == before
