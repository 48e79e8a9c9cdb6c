"""Transient and permanent AWS errors, retry from failed, and the per-cluster lock."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.utils import timezone

from clusters.models import Cluster, Event, KubernetesRelease
from clusters.provisioning import reconcile as engine
from clusters.tasks import reconcile_stuck_clusters
from tests.clusters.engine_helpers import (
    SANDBOX_AMI,
    assert_exactly_planned,
    aws_inventory,
    make_cluster,
    reconcile_until_settled,
    sandbox,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]

THROTTLED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
    b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
    b"</Error></Errors><RequestID>throttled</RequestID></Response>"
)


class ThrottlingProxy:
    """A loopback stand-in for an AWS endpoint under load: it answers `RequestLimitExceeded` to
    the first `failures` calls of one action and passes everything else to the sandbox."""

    def __init__(self, upstream: str, action: str, failures: int) -> None:
        self.upstream, self.action, self.remaining = upstream, action, failures
        self.throttled = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if f"Action={proxy.action}".encode() in body and proxy.remaining > 0:
                    proxy.remaining -= 1
                    proxy.throttled += 1
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(THROTTLED)))
                    self.end_headers()
                    self.wfile.write(THROTTLED)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.request(self.command, proxy.upstream + self.path, data=body,
                                          headers=headers, timeout=30)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection",
                                           "content-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_PUT = do_DELETE = do_POST  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ThrottlingProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def test_throttling_that_outlasts_botocores_retries_is_retried_later_with_backoff(settings):
    cluster = make_cluster()
    sandbox_url = settings.AWS_ENDPOINT_URL
    with ThrottlingProxy(sandbox_url, "CreateVpc", failures=6) as proxy:
        settings.AWS_ENDPOINT_URL = proxy.url
        first = engine.reconcile(cluster.id)
        cluster.refresh_from_db()
        assert first.retry_in == 5
        assert first.attempt == 1
        assert cluster.status == Cluster.Status.CREATING
        warning = Event.objects.filter(cluster=cluster, level=Event.Level.WARNING).get()
        assert "RequestLimitExceeded" in warning.message
        cluster = reconcile_until_settled(cluster.id)
    settings.AWS_ENDPOINT_URL = sandbox_url
    assert proxy.throttled == 6
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert_exactly_planned(cluster)


def test_backoff_doubles_and_is_capped():
    assert [engine.backoff(n) for n in (0, 1, 2, 3, 10)] == [5, 10, 20, 40, 300]


def test_a_permanent_aws_error_fails_the_cluster_with_a_message_the_user_understands():
    cluster = make_cluster(vpc_cidr="10.0.0.0/8")
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.FAILED
    assert "ensure_vpc" in cluster.status_reason
    assert "10.0.0.0/8" in cluster.status_reason
    assert "AWS refused a parameter" in cluster.status_reason
    last = Event.objects.filter(cluster=cluster).last()
    assert (last.kind, last.level, last.message) == (Event.Kind.STATUS, Event.Level.ERROR,
                                                     cluster.status_reason)
    assert aws_inventory(cluster.id)["vpc"] == []


def test_a_failed_cluster_is_left_alone_until_retried(missing_node_image):
    cluster = make_cluster()
    KubernetesRelease.objects.filter(pk=cluster.release_id).update(images=missing_node_image)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.FAILED
    assert "ami-0000000000000dead" in cluster.status_reason
    events = Event.objects.filter(cluster=cluster).count()
    assert engine.reconcile(cluster.id).retry_in is None
    assert Event.objects.filter(cluster=cluster).count() == events


def test_retry_from_failed_resumes_and_creates_nothing_twice(missing_node_image):
    cluster = make_cluster()
    KubernetesRelease.objects.filter(pk=cluster.release_id).update(images=missing_node_image)
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.FAILED
    KubernetesRelease.objects.filter(pk=cluster.release_id).update(
        images={"eu-central-1": SANDBOX_AMI})
    Cluster.objects.filter(pk=cluster.pk).update(status=Cluster.Status.PENDING)  # retry
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert cluster.status_reason == ""
    assert_exactly_planned(cluster)


def test_a_held_lock_keeps_a_second_reconcile_out():
    cluster = make_cluster()
    with engine.cluster_lock(cluster.id) as held:
        assert held is not None
        outcome = engine.reconcile(cluster.id)
        with engine.cluster_lock(cluster.id) as second:
            assert second is None
    assert outcome.busy
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.PENDING
    assert aws_inventory(cluster.id)["vpc"] == []


def test_a_lapsed_lock_of_a_killed_worker_can_be_taken():
    cluster = make_cluster()
    Cluster.objects.filter(pk=cluster.pk).update(
        lock_token="dead-worker", locked_until=timezone.now() - timedelta(seconds=1)
    )
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING
    assert cluster.lock_token == ""
    assert cluster.locked_until is None


def test_the_lock_is_released_after_a_run():
    cluster = make_cluster()
    engine.reconcile(cluster.id)
    cluster.refresh_from_db()
    assert cluster.lock_token == ""
    assert cluster.last_reconciled_at is not None


def test_clusters_left_mid_work_without_a_live_lock_count_as_stuck(settings):
    settings.HAPPA_STUCK_AFTER_SECONDS = 60
    old = timezone.now() - timedelta(minutes=5)
    stuck = make_cluster(status=Cluster.Status.CREATING)
    Cluster.objects.filter(pk=stuck.pk).update(last_reconciled_at=old)
    busy = make_cluster(status=Cluster.Status.DELETING)
    Cluster.objects.filter(pk=busy.pk).update(
        last_reconciled_at=old, lock_token="x", locked_until=timezone.now() + timedelta(minutes=1))
    recent = make_cluster(status=Cluster.Status.UPDATING)
    Cluster.objects.filter(pk=recent.pk).update(last_reconciled_at=timezone.now())
    make_cluster(status=Cluster.Status.RUNNING)
    make_cluster(status=Cluster.Status.FAILED)
    assert engine.stuck_clusters(timedelta(seconds=60)) == [stuck.pk]


def test_the_beat_schedule_runs_the_stuck_cluster_check_every_minute():
    from happa.celery import app

    app.loader.import_default_modules()
    entries = {e["task"]: e["schedule"] for e in app.conf.beat_schedule.values()}
    assert entries["clusters.tasks.reconcile_stuck_clusters"] == 60.0
    assert reconcile_stuck_clusters.name == "clusters.tasks.reconcile_stuck_clusters"


def test_an_instance_type_aws_does_not_know_fails_the_cluster_at_the_node_pool_step():
    cluster = make_cluster(pools=[("default", "x9.giant", 1, 1, 1)])
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.FAILED
    assert cluster.status_reason.startswith("Step 'ensure_node_pools' failed: AWS said Invalid")
    assert "x9.giant" in cluster.status_reason
