"""`manage.py sandbox_fault`: ops break a sandbox cluster on purpose and watch the alert."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditLogEntry
from clusters.models import Cluster
from tests.factories import ClusterFactory
from tests.monitoring.sandbox import build_sandbox_cluster

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    return build_sandbox_cluster(cluster, workers=2)


def fault(*args: str) -> str:
    out = StringIO()
    call_command("sandbox_fault", *args, stdout=out)
    return out.getvalue()


def firing_fingerprints(cluster: Cluster) -> set[str]:
    return set(cluster.alerts.firing().values_list("fingerprint", flat=True))


def test_an_alarm_fault_fires_the_alarm_alert_and_mending_resolves_it(sandbox):
    cluster_id = sandbox.cluster.id

    output = fault(cluster_id, "alarm")

    alarm = sandbox.client("cloudwatch").describe_alarms(AlarmNames=[sandbox.alarm_name])
    assert alarm["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert "health:alarm/ingress-unhealthy" in firing_fingerprints(sandbox.cluster)
    assert "Health: degraded; firing alerts: 1." in output

    fault(cluster_id, "alarm", "--mend")

    assert firing_fingerprints(sandbox.cluster) == set()


def test_a_stopped_worker_fails_its_pool_until_it_is_started_again(sandbox):
    fault(sandbox.cluster.id, "stop-worker")

    states = sandbox.client("ec2").describe_instances(InstanceIds=sandbox.worker_ids())
    stopped = [i for r in states["Reservations"] for i in r["Instances"]
               if i["State"]["Name"] == "stopped"]
    assert len(stopped) == 1
    assert "health:auto_scaling_group/worker/default" in firing_fingerprints(sandbox.cluster)

    fault(sandbox.cluster.id, "stop-worker", "--mend")

    assert "health:auto_scaling_group/worker/default" not in firing_fingerprints(sandbox.cluster)


def test_a_terminated_bastion_fires_an_alert_and_the_mend_points_to_the_engine(sandbox):
    fault(sandbox.cluster.id, "terminate-bastion")

    assert any(f.startswith("health:bastion/") for f in firing_fingerprints(sandbox.cluster))
    with pytest.raises(CommandError, match=f"manage.py cluster retry {sandbox.cluster.id}"):
        fault(sandbox.cluster.id, "terminate-bastion", "--mend")


def test_each_fault_is_written_to_the_audit_log(sandbox):
    fault(sandbox.cluster.id, "alarm", "--no-poll")

    entry = AuditLogEntry.objects.get(action="sandbox_fault.injected")
    assert entry.organization == sandbox.cluster.organization
    assert entry.details["fault"] == "alarm"


def test_faults_are_refused_on_real_aws(sandbox, settings):
    settings.AWS_ENDPOINT_URL = ""

    with pytest.raises(CommandError, match="only into the sandbox AWS"):
        fault(sandbox.cluster.id, "alarm")
    assert not AuditLogEntry.objects.filter(action="sandbox_fault.injected").exists()


def test_a_cluster_that_is_not_running_is_refused(organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)

    with pytest.raises(CommandError, match=f"Cluster {cluster.id} is creating, not running."):
        fault(cluster.id, "alarm")


def test_an_unknown_cluster_is_refused():
    with pytest.raises(CommandError, match="No live cluster with id 'nope1'"):
        fault("nope1", "alarm")
