"""A real Alertmanager (Debian's prometheus-alertmanager) on loopback posts to our receiver."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from clusters.models import Cluster
from monitoring.models import Alert, ClusterAlertReceiver
from tests.embedded_services import free_port, wait_for_port
from tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db(transaction=True)

BINARY = "prometheus-alertmanager"
TIMEOUT = 30


@pytest.fixture
def alertmanager(tmp_path: Path):
    """Start Alertmanager with a config written by the test; yields (start, api base URL)."""
    binary = shutil.which(BINARY)
    assert binary, "install Debian's `prometheus-alertmanager` package to run this test"
    port = free_port()
    processes: list[subprocess.Popen] = []

    def start(config: str) -> str:
        (tmp_path / "alertmanager.yml").write_text(config)
        processes.append(subprocess.Popen(  # noqa: S603 - fixed arguments
            [binary, f"--config.file={tmp_path / 'alertmanager.yml'}",
             f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             "--cluster.listen-address="],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        wait_for_port(port, timeout=TIMEOUT)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def config_for(url: str, token: str) -> str:
    return f"""
route:
  receiver: happa
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: happa
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


def post_alert(api: str, *, ends_at: datetime | None = None) -> None:
    alert = {
        "labels": {"alertname": "KubeNodeNotReady", "severity": "critical", "node": "worker-1"},
        "annotations": {"summary": "Node worker-1 is not ready"},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    if ends_at:
        alert["endsAt"] = ends_at.isoformat()
    httpx.post(f"{api}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()


def wait_for(predicate, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_alertmanager_pushes_a_firing_and_then_a_resolved_alert(
    live_server, alertmanager, organization
):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    token = ClusterAlertReceiver.rotate(cluster)
    api = alertmanager(config_for(
        f"{live_server.url}/monitoring/clusters/{cluster.id}/alertmanager", token))

    post_alert(api)
    wait_for(lambda: Alert.objects.filter(cluster=cluster).exists(), "the firing alert")
    alert = Alert.objects.get(cluster=cluster)
    assert (alert.status, alert.source, alert.severity) == ("firing", "alertmanager", "critical")
    assert alert.summary == "Node worker-1 is not ready"

    post_alert(api, ends_at=datetime.now(UTC))
    wait_for(lambda: Alert.objects.get(pk=alert.pk).status == "resolved", "the resolution")


def test_alertmanager_with_a_wrong_token_changes_nothing(live_server, alertmanager, organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    ClusterAlertReceiver.rotate(cluster)
    api = alertmanager(config_for(
        f"{live_server.url}/monitoring/clusters/{cluster.id}/alertmanager", "hpa_am_wrong"))

    post_alert(api)
    # Alertmanager reports the refused notification in its own metrics.
    def refused() -> bool:
        text = httpx.get(f"{api}/metrics", timeout=5).text
        return any(line.startswith("alertmanager_notifications_failed_total")
                   and 'integration="webhook"' in line and not line.endswith(" 0")
                   for line in text.splitlines())

    wait_for(refused, "Alertmanager to report the failed notification")
    assert not Alert.objects.filter(cluster=cluster).exists()
