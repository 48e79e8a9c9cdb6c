"""Health polling against the sandbox AWS: conditions, health, alerts, and the cost in calls."""

from __future__ import annotations

from collections import Counter

import boto3
import pytest
from django.conf import settings

from clusters.models import Cluster, Event
from monitoring.health import poll_clusters
from monitoring.models import Alert
from tests.factories import ClusterFactory, OrganizationFactory
from tests.monitoring.sandbox import AZ, build_sandbox_cluster

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    return build_sandbox_cluster(cluster)


def poll(sandbox) -> None:  # noqa: ANN001
    poll_clusters([Cluster.objects.select_related("organization").get(pk=sandbox.cluster.pk)])
    sandbox.cluster.refresh_from_db()


def firing(cluster: Cluster) -> dict[str, Alert]:
    return {alert.fingerprint: alert for alert in cluster.alerts.firing()}


def test_a_healthy_cluster_becomes_healthy_without_alerts(sandbox):
    poll(sandbox)

    assert sandbox.cluster.health == Cluster.Health.HEALTHY
    assert firing(sandbox.cluster) == {}
    event = Event.objects.get(cluster=sandbox.cluster, kind=Event.Kind.HEALTH)
    assert event.message == "Health: unknown → healthy"


def test_a_poll_that_finds_nothing_new_writes_no_event(sandbox):
    poll(sandbox)
    events_before = Event.objects.filter(cluster=sandbox.cluster).count()

    poll(sandbox)

    assert Event.objects.filter(cluster=sandbox.cluster).count() == events_before


def test_a_cloudwatch_alarm_in_alarm_fires_an_alert_that_resolves_when_it_clears(sandbox):
    poll(sandbox)

    sandbox.set_alarm("ALARM")
    poll(sandbox)
    alert = firing(sandbox.cluster)["health:alarm/ingress-unhealthy"]
    assert alert.summary == f"Cluster {sandbox.cluster.id}: ingress nodes failing health checks"
    assert sandbox.cluster.health == Cluster.Health.DEGRADED

    sandbox.set_alarm("OK")
    poll(sandbox)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED
    assert sandbox.cluster.health == Cluster.Health.HEALTHY


def test_a_terminated_bastion_fires_a_critical_alert_that_resolves_once_replaced(sandbox):
    poll(sandbox)

    sandbox.terminate_bastion()
    poll(sandbox)
    alert = firing(sandbox.cluster)[f"health:bastion/{AZ}"]
    assert alert.severity == Alert.Severity.CRITICAL
    assert "terminated" in alert.summary or "shutting-down" in alert.summary
    assert sandbox.cluster.health == Cluster.Health.UNHEALTHY

    sandbox.replace_bastion()
    poll(sandbox)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED
    assert sandbox.cluster.health == Cluster.Health.HEALTHY


def test_a_stopped_worker_degrades_its_pool_and_the_ingress_targets(sandbox):
    poll(sandbox)
    worker = sandbox.worker_ids()[0]

    sandbox.client("ec2").stop_instances(InstanceIds=[worker])
    poll(sandbox)

    alerts = firing(sandbox.cluster)
    assert alerts["health:auto_scaling_group/worker/default"].summary == (
        "Node pool default: 2 of 3 nodes in service"
    )
    assert alerts["health:target_group/ingress-https"].summary == (
        "Load balancer targets (ingress-https): 2 of 3 healthy"
    )
    assert sandbox.cluster.health == Cluster.Health.DEGRADED


def test_a_deleted_nat_gateway_is_critical(sandbox):
    poll(sandbox)

    sandbox.client("ec2").delete_nat_gateway(NatGatewayId=sandbox.nat_id)
    poll(sandbox)

    alert = firing(sandbox.cluster)[f"health:nat_gateway/{AZ}"]
    assert alert.severity == Alert.Severity.CRITICAL
    assert sandbox.cluster.health == Cluster.Health.UNHEALTHY


def test_an_auto_scaling_group_missing_from_aws_is_critical(sandbox):
    sandbox.record("auto_scaling_group/worker/gone", "auto_scaling_group", "arn:gone",
                   name=f"{sandbox.cluster.id}-worker-gone")

    poll(sandbox)

    alert = firing(sandbox.cluster)["health:auto_scaling_group/worker/gone"]
    assert "is missing" in alert.summary


def test_an_alert_whose_resource_left_the_ledger_resolves(sandbox):
    sandbox.set_alarm("ALARM")
    poll(sandbox)
    sandbox.cluster.resources.filter(key="alarm/ingress-unhealthy").update(
        deleted_at=sandbox.cluster.created_at
    )

    poll(sandbox)

    assert "health:alarm/ingress-unhealthy" not in firing(sandbox.cluster)


def test_the_poll_only_looks_at_running_clusters(organization):
    creating = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    build_sandbox_cluster(creating)

    result = poll_clusters()

    creating.refresh_from_db()
    assert creating.health == Cluster.Health.UNKNOWN
    assert creating.id not in result.failed


def counting_session(calls: Counter):  # noqa: ANN201
    """The operator's session with a botocore hook counting every API call it makes."""
    session = boto3.Session(region_name=settings.AWS_DEFAULT_REGION)

    def count(model, **kwargs) -> None:  # noqa: ANN001, ANN003
        calls[model.name] += 1

    session.events.register("before-call", count)
    return lambda organization: session


@pytest.mark.parametrize("size", [1, 4])
def test_a_poll_costs_four_batched_calls_plus_one_per_target_group(size):
    # Two organizations on the operator's account share the batched calls.
    organizations = [OrganizationFactory(), OrganizationFactory()]
    clusters = [
        build_sandbox_cluster(ClusterFactory(organization=organizations[n % 2],
                                             status=Cluster.Status.RUNNING), workers=2).cluster
        for n in range(size)
    ]
    calls: Counter = Counter()

    result = poll_clusters(
        Cluster.objects.filter(pk__in=[c.pk for c in clusters]).select_related("organization"),
        session_for=counting_session(calls),
    )

    assert result.polled == size
    assert calls == Counter({
        "DescribeAutoScalingGroups": 1,
        "DescribeInstanceStatus": 1,
        "DescribeNatGateways": 1,
        "DescribeAlarms": 1,
        "DescribeTargetHealth": 2 * size,
    })
