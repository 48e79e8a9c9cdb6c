"""Worker node pools: a launch template and an auto-scaling group each, across the private
subnets. Also brings existing pools to their desired size and instance type, and removes pools
whose deletion was requested."""

from __future__ import annotations

from django.db import transaction

from clusters.events import record_event
from clusters.models import Cluster, Event, NodePool
from clusters.provisioning import aws, ledger
from clusters.provisioning.context import StepContext
from clusters.provisioning.control_plane import (
    ensure_auto_scaling_group,
    ensure_launch_template,
    find_auto_scaling_group,
    launch_template_data,
)
from clusters.provisioning.errors import NotReady, error_code, is_not_found
from clusters.provisioning.userdata import render_user_data


def pool_keys(pool: NodePool) -> tuple[str, str]:
    return f"launch_template/worker/{pool.name}", f"auto_scaling_group/worker/{pool.name}"


def ingress_target_groups(ctx: StepContext) -> list[str]:
    return [ctx.recorded(f"target_group/{s}").aws_id for s in ("ingress-http", "ingress-https")]


def ensure_node_pools(ctx: StepContext) -> None:
    pools = list(ctx.cluster.node_pools.exclude(status=Cluster.Status.DELETED))
    for pool in pools:
        if pool.status == Cluster.Status.DELETING:
            delete_node_pool(ctx, pool)
        else:
            ensure_node_pool(ctx, pool)


def ensure_node_pool(ctx: StepContext, pool: NodePool) -> None:
    template_key, group_key = pool_keys(pool)
    name = ctx.name(f"worker-{pool.name}")
    data = launch_template_data(
        ctx,
        role="worker",
        instance_type=pool.instance_type,
        user_data=render_user_data(ctx.cluster, "worker", pool),
        name=name,
    )
    template = ensure_launch_template(ctx, template_key, name, data)
    ensure_auto_scaling_group(
        ctx,
        group_key,
        name,
        ctx.recorded(template_key).aws_id,
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired=pool.desired_size,
        target_groups=ingress_target_groups(ctx),
    )
    if template.get("instance_type") != pool.instance_type or template.get("rolling"):
        change_instance_type(ctx, pool, name)
    sync_pool_size(ctx, pool, name)
    if pool.status != Cluster.Status.RUNNING:
        NodePool.objects.filter(pk=pool.pk).exclude(status=Cluster.Status.DELETING).update(
            status=Cluster.Status.RUNNING
        )


def sync_pool_size(ctx: StepContext, pool: NodePool, name: str) -> None:
    group = find_auto_scaling_group(ctx, name)
    actual = (group["MinSize"], group["MaxSize"], group["DesiredCapacity"])
    wanted = (pool.min_size, pool.max_size, pool.desired_size)
    if actual == wanted:
        return
    with transaction.atomic():
        ctx.client("autoscaling").update_auto_scaling_group(
            AutoScalingGroupName=name,
            MinSize=pool.min_size,
            MaxSize=pool.max_size,
            DesiredCapacity=pool.desired_size,
        )
        record_event(
            ctx.cluster,
            f"Node pool {pool.name} scaled to min {pool.min_size}, max {pool.max_size}, "
            f"desired {pool.desired_size} (was {actual[0]}/{actual[1]}/{actual[2]})",
            kind=Event.Kind.SCALE,
            step=ctx.step,
            aws_id=group["AutoScalingGroupARN"],
        )


def change_instance_type(ctx: StepContext, pool: NodePool, name: str) -> None:
    """A new launch template version with the new type, then a rolling instance refresh.

    The ledger row notes `rolling` between the two, so a run that dies after the new version
    still starts the refresh next time."""
    template_key, _ = pool_keys(pool)
    record = ctx.recorded(template_key)
    ec2 = ctx.client("ec2")
    if record.data.get("instance_type") != pool.instance_type:
        version = ec2.create_launch_template_version(
            LaunchTemplateId=record.aws_id,
            SourceVersion=str(record.data.get("version", "$Latest")),
            LaunchTemplateData={"InstanceType": pool.instance_type},
            VersionDescription=f"instance type {pool.instance_type}",
        )["LaunchTemplateVersion"]["VersionNumber"]
        ec2.modify_launch_template(LaunchTemplateId=record.aws_id, DefaultVersion=str(version))
        record = ledger.record(ctx.cluster, template_key, "launch_template", record.aws_id,
                               step=ctx.step, version=version, instance_type=pool.instance_type,
                               rolling=True)
    if not record.data.get("rolling"):
        return
    message = (f"Node pool {pool.name}: launch template version {record.data['version']} uses "
               f"{pool.instance_type}; replacing the nodes one at a time")
    if aws.is_sandbox():
        # Moto has no StartInstanceRefresh (it answers HTTP 500): replace the nodes ourselves.
        # The group keeps its desired capacity and launches each one from the new version.
        replace_instances(ctx, name)
        message += " (the sandbox AWS has no instance refresh: nodes were replaced directly)"
    else:
        try:
            ctx.client("autoscaling").start_instance_refresh(
                AutoScalingGroupName=name,
                Strategy="Rolling",
                Preferences={"MinHealthyPercentage": 90, "InstanceWarmup": 120},
            )
        except Exception as exc:
            # One refresh at a time: a refresh still running picks up the latest version anyway.
            if error_code(exc) != "InstanceRefreshInProgress":
                raise
    with transaction.atomic():
        ledger.record(ctx.cluster, template_key, "launch_template", record.aws_id,
                      step=ctx.step, rolling=False)
        record_event(ctx.cluster, message, kind=Event.Kind.SCALE, step=ctx.step,
                     aws_id=record.aws_id)


def replace_instances(ctx: StepContext, group_name: str) -> None:
    autoscaling = ctx.client("autoscaling")
    group = find_auto_scaling_group(ctx, group_name)
    for instance in group.get("Instances", []):
        autoscaling.terminate_instance_in_auto_scaling_group(
            InstanceId=instance["InstanceId"], ShouldDecrementDesiredCapacity=False
        )


def delete_auto_scaling_group(ctx: StepContext, name: str) -> bool:
    """Ask AWS to delete the group and its instances; True once it is gone."""
    group = find_auto_scaling_group(ctx, name)
    if group is None:
        return True
    if group.get("Status") != "Delete in progress":
        try:
            ctx.client("autoscaling").delete_auto_scaling_group(
                AutoScalingGroupName=name, ForceDelete=True
            )
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return find_auto_scaling_group(ctx, name) is None


def delete_launch_template(ctx: StepContext, name: str) -> None:
    try:
        ctx.client("ec2").delete_launch_template(LaunchTemplateName=name)
    except Exception as exc:
        if not is_not_found(exc) and "NotFound" not in error_code(exc):
            raise


def delete_node_pool(ctx: StepContext, pool: NodePool) -> None:
    template_key, group_key = pool_keys(pool)
    name = ctx.name(f"worker-{pool.name}")
    if not delete_auto_scaling_group(ctx, name):
        raise NotReady(f"Waiting for the auto-scaling group of node pool {pool.name} to go")
    ledger.forget_key(ctx.cluster, group_key, step=ctx.step)
    delete_launch_template(ctx, name)
    ledger.forget_key(ctx.cluster, template_key, step=ctx.step)
    with transaction.atomic():
        NodePool.objects.filter(pk=pool.pk).update(status=Cluster.Status.DELETED)
        record_event(ctx.cluster, f"Node pool {pool.name} deleted", kind=Event.Kind.SCALE,
                     step=ctx.step)
