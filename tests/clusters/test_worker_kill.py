"""A real Celery worker is killed (SIGKILL) during provisioning at several different steps; the
next worker finishes the cluster with exactly one of each resource in AWS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection

from clusters.models import Cluster, ResourceRecord
from clusters.tasks import reconcile_cluster, reconcile_stuck_clusters
from happa.celery import app
from tests.clusters.engine_helpers import assert_exactly_planned, make_cluster, sandbox  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]

ROOT = Path(__file__).resolve().parents[2]


def worker_database_url() -> str:
    """The test database (not the development one) for the worker process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}")


class Worker:
    """One `celery worker --pool=solo` process on the test database, broker and sandbox AWS."""

    def __init__(self, log_dir: Path, number: int) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            # Short enough that a killed worker's lock lapses within the test.
            "HAPPA_RECONCILE_LOCK_SECONDS": "3",
            "HAPPA_STUCK_AFTER_SECONDS": "2",
            "DJANGO_SETTINGS_MODULE": "happa.settings",
        }
        self.log = log_dir / f"worker-{number}.log"
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "celery", "-A", "happa", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat",
             "--hostname", f"kill-test-{number}@%h"],
            cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def ledger_size(cluster_id: str) -> int:
    return ResourceRecord.objects.filter(cluster_id=cluster_id).count()


def wait_for(condition, timeout: float, nudge=None, what: str = "") -> None:  # noqa: ANN001
    """Poll `condition` until true; `nudge` (the beat's stuck check) runs every 2 s meanwhile."""
    deadline = time.monotonic() + timeout
    last_nudge = 0.0
    while time.monotonic() < deadline:
        if condition():
            return
        if nudge and time.monotonic() - last_nudge > 2:
            nudge()
            last_nudge = time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_worker_killed_at_several_steps_leaves_one_of_each_resource_after_the_next_run():
    cluster = make_cluster()
    app.control.purge()  # messages other tests left for clusters that no longer exist
    log_dir = Path(tempfile.mkdtemp(prefix="happa-kill-test-"))
    workers: list[Worker] = []
    killed_at: list[tuple[str, int]] = []
    try:
        reconcile_cluster.delay(cluster.id)
        # Kill points by ledger size: in the network steps, in identity/bastions, in the
        # load balancers/masters. Each new worker gets the work back from the beat's stuck check.
        for number, threshold in enumerate((3, 22, 33)):
            workers.append(Worker(log_dir, number))
            nudge = reconcile_stuck_clusters.delay if number else None
            wait_for(lambda t=threshold: ledger_size(cluster.id) >= t, timeout=120, nudge=nudge,
                     what=f"{threshold} ledger rows (logs in {log_dir})")
            workers[-1].kill()
            current = Cluster.objects.get(pk=cluster.id)
            killed_at.append((current.current_step, ledger_size(cluster.id)))
        workers.append(Worker(log_dir, 9))
        wait_for(
            lambda: Cluster.objects.get(pk=cluster.id).status == Cluster.Status.RUNNING,
            timeout=180, nudge=reconcile_stuck_clusters.delay,
            what=f"the cluster to run (logs in {log_dir})",
        )
    finally:
        for worker in workers:
            worker.stop()
    print("killed at (step, ledger rows):", killed_at)
    assert len({step for step, _ in killed_at}) >= 2, killed_at
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert_exactly_planned(cluster)
