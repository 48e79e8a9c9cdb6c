"""Poll running clusters' real AWS state into conditions, health and alerts.

The resources to look at come from each cluster's ledger (ResourceRecord rows the engine writes):
auto-scaling groups (masters, node pools), bastion instances, target groups, NAT gateways and
CloudWatch alarms. AWS is asked in batches per (account, region) — one describe call covers the
ASGs, instances, NAT gateways and alarms of every cluster there — except target health, which AWS
only answers per target group. So a poll costs a few calls per account and region plus one per
target group, whatever the number of nodes.

A condition that is not ok fires (or keeps) the alert `health:<ledger key>`; one that is ok again,
or whose resource left the ledger, resolves it. Only changes write events: alerts.py writes the
alert events and this module one event when the cluster's overall health changes.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from accounts.models import Organization
from clusters.events import record_event
from clusters.models import Cluster, Event, ResourceRecord
from clusters.provisioning import aws
from monitoring import history
from monitoring.alerts import fire_alert, resolve_alert
from monitoring.models import Alert

log = logging.getLogger(__name__)

HEALTH_PREFIX = "health:"
# Ledger kinds the poll reads (engine: clusters/provisioning/*.py).
ASG_KINDS = {"auto_scaling_group", "autoscaling_group"}
INSTANCE_KINDS = {"instance"}
TARGET_GROUP_KINDS = {"target_group"}
NAT_KINDS = {"nat_gateway"}
ALARM_KINDS = {"alarm", "cloudwatch_alarm"}
WATCHED_KINDS = ASG_KINDS | INSTANCE_KINDS | TARGET_GROUP_KINDS | NAT_KINDS | ALARM_KINDS
POLLED_STATUSES = (Cluster.Status.RUNNING, Cluster.Status.UPDATING)

# AWS batch limits per call.
ASG_BATCH = 50
INSTANCE_BATCH = 100
NAT_BATCH = 200
ALARM_BATCH = 100

SessionFor = Callable[[Organization | None], boto3.Session]


@dataclass(frozen=True)
class Condition:
    key: str  # the ledger key, e.g. "auto_scaling_group/worker/default"
    ok: bool
    summary: str
    severity: str = Alert.Severity.WARNING
    detail: str = ""
    # Auto-scaling groups only: the node counts the history chart samples (history.py).
    desired: int | None = None
    in_service: int | None = None

    @property
    def fingerprint(self) -> str:
        return HEALTH_PREFIX + self.key


@dataclass
class Observation:
    """What AWS says, for every cluster of one account and region."""

    groups: dict[str, dict] = field(default_factory=dict)  # ASG name → group
    instances: dict[str, dict] = field(default_factory=dict)  # instance id → status
    target_health: dict[str, list[dict] | None] = field(default_factory=dict)  # ARN → targets
    nat_gateways: dict[str, dict] = field(default_factory=dict)
    alarms: dict[str, dict] = field(default_factory=dict)  # alarm name → alarm


@dataclass
class PollResult:
    polled: int = 0
    changed: int = 0
    failed: list[str] = field(default_factory=list)  # cluster ids AWS did not answer for


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _name(record: ResourceRecord) -> str:
    return record.data.get("name") or record.aws_id.rsplit("/", 1)[-1]


def _describe_instance_status(ec2, ids: list[str]) -> list[dict]:  # noqa: ANN001
    """Statuses of these instances; ids AWS no longer knows are dropped (one retry)."""
    try:
        return ec2.describe_instance_status(InstanceIds=ids, IncludeAllInstances=True)[
            "InstanceStatuses"
        ]
    except ClientError as error:
        if error.response["Error"]["Code"] != "InvalidInstanceID.NotFound":
            raise
        gone = set(re.findall(r"i-[0-9a-f]+", error.response["Error"].get("Message", "")))
        remaining = [instance_id for instance_id in ids if instance_id not in gone]
        if not remaining or not gone:
            return []
        return ec2.describe_instance_status(InstanceIds=remaining, IncludeAllInstances=True)[
            "InstanceStatuses"
        ]


def observe(session: boto3.Session, region: str, records: list[ResourceRecord]) -> Observation:
    """Ask AWS about every watched resource in `records` (all in one account and region)."""
    seen = Observation()
    by_kind: dict[str, list[ResourceRecord]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)

    asg_names = sorted({_name(r) for kind in ASG_KINDS for r in by_kind[kind]})
    if asg_names:
        autoscaling = aws.aws_client("autoscaling", region, session=session)
        for chunk in _chunks(asg_names, ASG_BATCH):
            response = autoscaling.describe_auto_scaling_groups(
                AutoScalingGroupNames=chunk, MaxRecords=100
            )
            for group in response["AutoScalingGroups"]:
                seen.groups[group["AutoScalingGroupName"]] = group

    instance_ids = {r.aws_id for kind in INSTANCE_KINDS for r in by_kind[kind]}
    for group in seen.groups.values():
        instance_ids.update(instance["InstanceId"] for instance in group.get("Instances", []))
    ec2 = aws.aws_client("ec2", region, session=session)
    for chunk in _chunks(sorted(instance_ids), INSTANCE_BATCH):
        for status in _describe_instance_status(ec2, chunk):
            seen.instances[status["InstanceId"]] = status

    nat_ids = sorted({r.aws_id for kind in NAT_KINDS for r in by_kind[kind]})
    for chunk in _chunks(nat_ids, NAT_BATCH):
        # A filter, not NatGatewayIds: one deleted gateway would fail the whole batch.
        response = ec2.describe_nat_gateways(
            Filters=[{"Name": "nat-gateway-id", "Values": chunk}], MaxResults=1000
        )
        for gateway in response["NatGateways"]:
            seen.nat_gateways[gateway["NatGatewayId"]] = gateway

    alarm_names = sorted({_name(r) for kind in ALARM_KINDS for r in by_kind[kind]})
    if alarm_names:
        cloudwatch = aws.aws_client("cloudwatch", region, session=session)
        for chunk in _chunks(alarm_names, ALARM_BATCH):
            response = cloudwatch.describe_alarms(AlarmNames=chunk, MaxRecords=100)
            for alarm in response["MetricAlarms"]:
                seen.alarms[alarm["AlarmName"]] = alarm

    target_groups = sorted({r.aws_id for kind in TARGET_GROUP_KINDS for r in by_kind[kind]})
    if target_groups:
        elbv2 = aws.aws_client("elbv2", region, session=session)
        for arn in target_groups:  # no batch form exists for target health
            try:
                seen.target_health[arn] = elbv2.describe_target_health(TargetGroupArn=arn)[
                    "TargetHealthDescriptions"
                ]
            except ClientError as error:
                if "TargetGroupNotFound" not in error.response["Error"]["Code"]:
                    raise
                seen.target_health[arn] = None
    return seen


def _instance_is_healthy(status: dict | None) -> bool:
    if status is None or status["InstanceState"]["Name"] != "running":
        return False
    checks = (status.get("InstanceStatus", {}), status.get("SystemStatus", {}))
    return all(check.get("Status") != "impaired" for check in checks)


def _instance_problem(status: dict | None) -> str:
    if status is None:
        return "missing"
    state = status["InstanceState"]["Name"]
    if state != "running":
        return state
    return "failing its status checks"


def _group_label(record: ResourceRecord) -> str:
    parts = record.key.split("/")
    if "master" in parts:
        return "Control plane"
    if "worker" in parts:
        return f"Node pool {parts[-1]}"
    return f"Auto-scaling group {_name(record)}"


def conditions_for(records: list[ResourceRecord], seen: Observation) -> list[Condition]:
    """Turn one cluster's ledger and what AWS said into conditions (pure: no I/O)."""
    conditions = []
    for record in records:
        if record.kind in ASG_KINDS:
            group = seen.groups.get(_name(record))
            label = _group_label(record)
            if group is None:
                conditions.append(Condition(
                    record.key, False, f"{label}: auto-scaling group {_name(record)} is missing",
                    Alert.Severity.CRITICAL, in_service=0))
                continue
            desired = group["DesiredCapacity"]
            healthy = sum(
                1 for instance in group.get("Instances", [])
                if instance.get("LifecycleState") == "InService"
                and instance.get("HealthStatus", "Healthy") == "Healthy"
                and _instance_is_healthy(seen.instances.get(instance["InstanceId"]))
            )
            severity = (
                Alert.Severity.CRITICAL if healthy == 0 and desired > 0 else Alert.Severity.WARNING
            )
            conditions.append(Condition(
                record.key, healthy >= desired,
                f"{label}: {healthy} of {desired} nodes in service", severity,
                f"Auto-scaling group {_name(record)} wants {desired}; {healthy} are in service "
                f"and pass their EC2 status checks.", desired=desired, in_service=healthy))
        elif record.kind in INSTANCE_KINDS:
            status = seen.instances.get(record.aws_id)
            what = record.key.replace("/", " ").capitalize()
            conditions.append(Condition(
                record.key, _instance_is_healthy(status),
                f"{what} ({record.aws_id}) is {_instance_problem(status)}",
                Alert.Severity.CRITICAL))
        elif record.kind in TARGET_GROUP_KINDS:
            targets = seen.target_health.get(record.aws_id)
            role = record.key.split("/", 1)[-1]
            if targets is None:
                conditions.append(Condition(
                    record.key, False, f"Load balancer target group {role} is missing",
                    Alert.Severity.CRITICAL))
                continue
            healthy = sum(1 for t in targets if t["TargetHealth"]["State"] == "healthy")
            unhealthy = [
                f"{t['Target']['Id']}: {t['TargetHealth']['State']}"
                for t in targets if t["TargetHealth"]["State"] != "healthy"
            ]
            severity = Alert.Severity.CRITICAL if healthy == 0 else Alert.Severity.WARNING
            conditions.append(Condition(
                record.key, bool(targets) and not unhealthy,
                f"Load balancer targets ({role}): {healthy} of {len(targets)} healthy", severity,
                "; ".join(unhealthy)))
        elif record.kind in NAT_KINDS:
            gateway = seen.nat_gateways.get(record.aws_id)
            state = gateway["State"] if gateway else "missing"
            where = record.data.get("az") or record.key
            conditions.append(Condition(
                record.key, state == "available",
                f"NAT gateway {where} ({record.aws_id}) is {state}", Alert.Severity.CRITICAL,
                "Nodes in that zone cannot reach the internet."))
        elif record.kind in ALARM_KINDS:
            alarm = seen.alarms.get(_name(record))
            if alarm is None:
                continue  # an alarm that is gone says nothing about the cluster
            conditions.append(Condition(
                record.key, alarm["StateValue"] != "ALARM",
                alarm.get("AlarmDescription") or f"CloudWatch alarm {_name(record)} is in ALARM",
                Alert.Severity.WARNING, alarm.get("StateReason", "")))
    return conditions


def node_counts(conditions: list[Condition]) -> tuple[int, int] | None:
    """(desired, in service) over the cluster's auto-scaling groups; None when it has none.

    A missing group adds nothing to desired (AWS no longer says what it wanted) and 0 in service.
    """
    groups = [c for c in conditions if c.in_service is not None]
    if not groups:
        return None
    return sum(c.desired or 0 for c in groups), sum(c.in_service or 0 for c in groups)


def overall_health(conditions: list[Condition]) -> str:
    if not conditions:
        return Cluster.Health.UNKNOWN
    failing = [c for c in conditions if not c.ok]
    if any(c.severity == Alert.Severity.CRITICAL for c in failing):
        return Cluster.Health.UNHEALTHY
    return Cluster.Health.DEGRADED if failing else Cluster.Health.HEALTHY


def apply_conditions(cluster: Cluster, conditions: list[Condition]) -> bool:
    """Fire, update or resolve the cluster's health alerts and store its health.

    Returns whether anything changed (an alert opened or resolved, or the health moved).
    """
    changed = False
    failing = {c.fingerprint: c for c in conditions if not c.ok}
    for condition in failing.values():
        _, is_new = fire_alert(
            cluster,
            fingerprint=condition.fingerprint,
            summary=condition.summary,
            severity=condition.severity,
            description=condition.detail,
            labels={"alertname": "ClusterResourceUnhealthy", "resource": condition.key},
            source=Alert.Source.HEALTH,
        )
        changed |= is_new
    open_fingerprints = cluster.alerts.firing().filter(
        source=Alert.Source.HEALTH, fingerprint__startswith=HEALTH_PREFIX
    ).values_list("fingerprint", flat=True)
    for fingerprint in set(open_fingerprints) - set(failing):
        changed |= resolve_alert(cluster, fingerprint=fingerprint) is not None

    health = overall_health(conditions)
    previous = cluster.health
    # A conditional update: the engine may write the same row; only the health column is ours.
    if Cluster.objects.filter(pk=cluster.pk).exclude(health=health).update(health=health):
        cluster.health = health
        level = {
            Cluster.Health.UNHEALTHY: Event.Level.ERROR,
            Cluster.Health.DEGRADED: Event.Level.WARNING,
        }.get(health, Event.Level.INFO)
        record_event(
            cluster,
            f"Health: {previous} → {health}",
            kind=Event.Kind.HEALTH,
            level=level,
            health=health,
            failing=sorted(c.key for c in failing.values()),
        )
        changed = True
    return changed


def poll_clusters(
    clusters: Iterable[Cluster] | None = None, *, session_for: SessionFor = aws.session_for
) -> PollResult:
    """One health poll of the given (default: every running) clusters."""
    if clusters is None:
        clusters = Cluster.objects.filter(status__in=POLLED_STATUSES).select_related("organization")
    clusters = list(clusters)
    result = PollResult()
    records_by_cluster: dict[str, list[ResourceRecord]] = defaultdict(list)
    for record in ResourceRecord.objects.filter(
        cluster__in=clusters, deleted_at__isnull=True, kind__in=WATCHED_KINDS
    ).order_by("id"):
        records_by_cluster[record.cluster_id].append(record)

    # One session and one batch of calls per (account, region).
    batches: dict[tuple[str, str], list[Cluster]] = defaultdict(list)
    organizations: dict[str, Organization | None] = {}
    for cluster in clusters:
        role = cluster.organization.aws_role_arn
        organizations[role] = cluster.organization if role else None
        batches[(role, cluster.region)].append(cluster)

    for (role, region), members in batches.items():
        records = [r for cluster in members for r in records_by_cluster[cluster.id]]
        try:
            seen = observe(session_for(organizations[role]), region, records)
        except (ClientError, BotoCoreError):
            log.warning("health poll failed for %s in %s", role or "operator", region,
                        exc_info=True)
            result.failed.extend(cluster.id for cluster in members)
            continue
        for cluster in members:
            conditions = conditions_for(records_by_cluster[cluster.id], seen)
            result.polled += 1
            result.changed += apply_conditions(cluster, conditions)
            counts = node_counts(conditions)
            if counts is not None:
                history.record_node_counts(cluster, *counts)
    return result
