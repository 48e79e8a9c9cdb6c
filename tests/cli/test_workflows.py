"""Every cluster workflow of the UI, done with the CLI against a live server on loopback.

No Celery worker runs here: where a test waits for provisioning, a thread stands in for the engine
and moves the cluster's rows on (status, steps, events) as a worker would.
"""

import json
import threading
import time

import pytest
from django.db import connection

from clusters.catalog import SANDBOX_NODE_IMAGE
from clusters.events import record_event
from clusters.models import Cluster, NodePool
from tests.factories import (
    ClusterFactory,
    InstanceTypeFactory,
    KubernetesReleaseFactory,
    NodePoolFactory,
)


@pytest.fixture(autouse=True)
def catalog(transactional_db):
    KubernetesReleaseFactory(
        version="1.31.4", is_default=True, images={"eu-central-1": SANDBOX_NODE_IMAGE}
    )
    InstanceTypeFactory(name="m5.xlarge")
    InstanceTypeFactory(name="m5.2xlarge", vcpus=8, memory_mib=32768)


class EngineStandIn(threading.Thread):
    """Waits for a cluster in `from_status`, then walks it through steps to `to_status`."""

    def __init__(self, from_status: str, to_status: str, reason: str = "") -> None:
        super().__init__(daemon=True)
        self.from_status, self.to_status, self.reason = from_status, to_status, reason

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 15
            cluster = None
            while cluster is None and time.monotonic() < deadline:
                cluster = Cluster.objects.filter(status=self.from_status).first()
                time.sleep(0.1)
            if cluster is None:
                return
            busy = "creating" if self.from_status == "pending" else self.from_status
            Cluster.objects.filter(pk=cluster.pk).update(
                status=busy, current_step="network", steps_done=3, steps_total=19
            )
            record_event(cluster, "VPC vpc-0abc created", step="network")
            time.sleep(0.6)
            Cluster.objects.filter(pk=cluster.pk).update(
                status=self.to_status, status_reason=self.reason, current_step="",
                steps_done=19,
            )
            record_event(cluster, f"Cluster {self.to_status}", kind="status")
        finally:
            connection.close()


def test_create_with_wait_shows_progress_until_the_cluster_runs(logged_in):
    engine = EngineStandIn("pending", "running")
    engine.start()

    result = logged_in(
        "clusters", "create", "prod", "--max", "5", "--wait", "--interval", "0.2",
        "--timeout", "30",
    )
    engine.join(timeout=20)

    assert result.exit_code == 0, result.output
    cluster = Cluster.objects.get(name="prod")
    assert cluster.status == "running"
    assert cluster.node_pools.get().max_size == 5
    assert "VPC vpc-0abc created" in result.output
    assert f"Cluster {cluster.id} is running" in result.output


def test_create_with_wait_exits_5_when_provisioning_fails(logged_in):
    engine = EngineStandIn("pending", "failed", reason="NAT gateway quota reached")
    engine.start()

    result = logged_in("clusters", "create", "prod", "--wait", "--interval", "0.2")
    engine.join(timeout=20)

    assert result.exit_code == 5
    assert "NAT gateway quota reached" in result.output


def test_create_with_wait_exits_5_when_it_times_out(logged_in):
    result = logged_in(
        "clusters", "create", "prod", "--wait", "--interval", "0.2", "--timeout", "1"
    )

    assert result.exit_code == 5
    assert "did not finish within 1 seconds" in result.output
    assert Cluster.objects.get(name="prod").status == "pending"


def test_a_refused_create_exits_1_with_the_reason_per_field(logged_in):
    result = logged_in("clusters", "create", "prod", "--instance-type", "no.such.type")

    assert result.exit_code == 1
    assert "no.such.type" in result.output
    assert not Cluster.objects.exists()


def test_create_dry_run_prints_the_plan_and_creates_nothing(logged_in):
    result = logged_in("clusters", "create", "prod", "--dry-run", "--output", "json")

    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert any(resource["kind"] == "vpc" for resource in plan["resources"])
    assert not Cluster.objects.exists()


def test_clusters_list_after_create_shows_the_new_cluster(logged_in):
    created = logged_in("clusters", "create", "prod", "--output", "json")
    listed = logged_in("clusters", "list", "--output", "json")

    assert created.exit_code == listed.exit_code == 0
    assert [c["id"] for c in json.loads(listed.output)] == [json.loads(created.output)["id"]]


def test_delete_with_wait_ends_when_the_cluster_is_deleted(logged_in, organization):
    cluster = ClusterFactory(organization=organization, name="prod", status="running")
    engine = EngineStandIn("deleting", "deleted")
    engine.start()

    result = logged_in("clusters", "delete", "prod", "--yes", "--wait", "--interval", "0.2")
    engine.join(timeout=20)

    assert result.exit_code == 0, result.output
    assert f"Cluster {cluster.id} is deleted" in result.output
    cluster.refresh_from_db()
    assert cluster.status == "deleted"


def test_delete_asks_for_the_cluster_id_and_a_wrong_answer_deletes_nothing(
    logged_in, organization
):
    cluster = ClusterFactory(organization=organization, name="prod", status="running")

    result = logged_in("clusters", "delete", "prod", input="nope\n")

    assert result.exit_code == 2
    cluster.refresh_from_db()
    assert cluster.status == "running"


def test_delete_with_the_typed_id_starts_deleting(logged_in, organization):
    cluster = ClusterFactory(organization=organization, name="prod", status="running")

    result = logged_in("clusters", "delete", "prod", input=f"{cluster.id}\n")

    assert result.exit_code == 0, result.output
    cluster.refresh_from_db()
    assert cluster.status == "deleting"


def test_clusters_scale_changes_the_clusters_pool(logged_in, organization):
    cluster = ClusterFactory(organization=organization, name="prod", status="running")
    pool = NodePoolFactory(cluster=cluster, status="running")

    result = logged_in("clusters", "scale", "prod", "--min", "2", "--max", "7")

    assert result.exit_code == 0, result.output
    pool.refresh_from_db()
    assert (pool.min_size, pool.max_size) == (2, 7)


def test_nodepools_add_scale_and_delete(logged_in, organization):
    cluster = ClusterFactory(organization=organization, name="prod", status="running")
    NodePoolFactory(cluster=cluster, name="default", status="running")

    added = logged_in(
        "nodepools", "add", "prod", "big", "--instance-type", "m5.2xlarge", "--min", "1",
        "--max", "4",
    )
    NodePool.objects.filter(name="big").update(status="running")
    scaled = logged_in("nodepools", "scale", "prod", "big", "--min", "2", "--max", "6")
    Cluster.objects.filter(pk=cluster.pk).update(status="running")
    NodePool.objects.filter(name="big").update(status="running")
    listed = logged_in("nodepools", "list", "prod", "--output", "json")
    deleted = logged_in("nodepools", "delete", "prod", "big", "--yes")

    assert added.exit_code == 0, added.output
    assert scaled.exit_code == 0, scaled.output
    assert listed.exit_code == 0, listed.output
    assert deleted.exit_code == 0, deleted.output
    assert {p["name"] for p in json.loads(listed.output)} == {"default", "big"}
    big = NodePool.objects.get(name="big")
    assert (big.instance_type, big.min_size, big.max_size) == ("m5.2xlarge", 2, 6)
    assert big.status == "deleting"


def test_scaling_an_unknown_pool_exits_3(logged_in, organization):
    ClusterFactory(organization=organization, name="prod", status="running")

    result = logged_in("nodepools", "scale", "prod", "nope", "--min", "1", "--max", "2")

    assert result.exit_code == 3
