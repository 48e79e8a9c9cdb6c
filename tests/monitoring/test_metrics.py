"""/metrics: protected, in Prometheus' text format, with the numbers ops need."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from clusters.models import Cluster, Event
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
