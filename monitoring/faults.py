"""Break a cluster on purpose in the sandbox AWS, and mend it, to watch alerts fire and resolve.

Faults are plain AWS calls on the resources the cluster's ledger names, the same calls an operator
would make with the AWS CLI against the sandbox endpoint. They are refused on real AWS: an
operator who wants chaos in production should use a tool made for it, not a demo helper.

Each fault says what the next health poll will see (monitoring/health.py):
- `alarm`: the cluster's CloudWatch alarm set to ALARM (mended: back to OK).
- `stop-worker`: one worker of the first node pool stopped, so its status checks and its ingress
  target fail (mended: started again). moto replaces a *terminated* ASG instance at once, so
  stopping is the fault that stays visible.
- `terminate-bastion`: the first bastion terminated (mended by the engine: `manage.py cluster
  retry <id>` or the ops panel's retry relaunches it).
"""

from __future__ import annotations

from dataclasses import dataclass

from clusters.models import Cluster, ResourceRecord
from clusters.provisioning import aws

FAULTS = ("alarm", "stop-worker", "terminate-bastion")
MENDABLE = ("alarm", "stop-worker")


class FaultError(Exception):
    """A fault that cannot be injected or mended, with a message for the operator."""


@dataclass(frozen=True)
class FaultResult:
    fault: str
    resource: str  # the AWS id or name acted on
    message: str


def inject_fault(cluster: Cluster, fault: str) -> FaultResult:
    _check(cluster, fault)
    if fault == "alarm":
        name = _alarm_name(cluster)
        _set_alarm(cluster, name, "ALARM")
        return FaultResult(fault, name, f"Alarm {name} set to ALARM.")
    if fault == "stop-worker":
        instance_id = _worker_instances(cluster, state="running")[0]
        _client(cluster, "ec2").stop_instances(InstanceIds=[instance_id])
        return FaultResult(fault, instance_id, f"Worker {instance_id} stopped.")
    instance_id = _ledger(cluster, "instance", key_prefix="bastion/").aws_id
    _client(cluster, "ec2").terminate_instances(InstanceIds=[instance_id])
    return FaultResult(fault, instance_id, f"Bastion {instance_id} terminated.")


def mend_fault(cluster: Cluster, fault: str) -> FaultResult:
    _check(cluster, fault)
    if fault not in MENDABLE:
        raise FaultError(
            f"{fault} is mended by the engine: run `manage.py cluster retry {cluster.id}`."
        )
    if fault == "alarm":
        name = _alarm_name(cluster)
        _set_alarm(cluster, name, "OK")
        return FaultResult(fault, name, f"Alarm {name} set back to OK.")
    stopped = _worker_instances(cluster, state="stopped")
    _client(cluster, "ec2").start_instances(InstanceIds=stopped)
    return FaultResult(fault, ",".join(stopped), f"Worker(s) {', '.join(stopped)} started.")


def _check(cluster: Cluster, fault: str) -> None:
    if fault not in FAULTS:
        raise FaultError(f"Unknown fault {fault!r}; choose one of: {', '.join(FAULTS)}.")
    if not aws.is_sandbox():
        raise FaultError(
            "Faults are injected only into the sandbox AWS (AWS_ENDPOINT_URL is unset)."
        )
    if cluster.status not in (Cluster.Status.RUNNING, Cluster.Status.UPDATING):
        raise FaultError(f"Cluster {cluster.id} is {cluster.status}, not running.")


def _client(cluster: Cluster, service: str):  # noqa: ANN202
    return aws.aws_client(service, cluster.region, session=aws.session_for(cluster.organization))


def _ledger(cluster: Cluster, kind: str, *, key_prefix: str = "") -> ResourceRecord:
    record = (
        ResourceRecord.objects.filter(
            cluster=cluster, kind=kind, key__startswith=key_prefix, deleted_at__isnull=True
        )
        .order_by("key")
        .first()
    )
    if record is None:
        raise FaultError(f"Cluster {cluster.id} has no {key_prefix or kind} in its ledger.")
    return record


def _alarm_name(cluster: Cluster) -> str:
    return _ledger(cluster, "alarm").data["name"]


def _set_alarm(cluster: Cluster, name: str, state: str) -> None:
    _client(cluster, "cloudwatch").set_alarm_state(
        AlarmName=name, StateValue=state, StateReason=f"sandbox fault set {state}"
    )


def _worker_instances(cluster: Cluster, *, state: str) -> list[str]:
    group = _ledger(cluster, "auto_scaling_group", key_prefix="auto_scaling_group/worker/")
    groups = _client(cluster, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[group.data["name"]]
    )["AutoScalingGroups"]
    ids = [i["InstanceId"] for g in groups for i in g["Instances"]]
    if ids:
        reservations = _client(cluster, "ec2").describe_instances(
            InstanceIds=ids, Filters=[{"Name": "instance-state-name", "Values": [state]}]
        )["Reservations"]
        ids = sorted(i["InstanceId"] for r in reservations for i in r["Instances"])
    if not ids:
        raise FaultError(f"Node pool group {group.data['name']} has no {state} instance.")
    return ids
