"""Deleting a cluster: the plan backwards, waiting where AWS must, then a sweep of everything
still tagged with the cluster. Each step finds its resources by the cluster's tags (and the
ledger's names), so a cluster that failed half-way, or whose ledger missed a write, goes too."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clusters.events import record_event
from clusters.models import Cluster, Event, NodePool
from clusters.provisioning import aws, ledger
from clusters.provisioning.context import StepContext
from clusters.provisioning.dns import find_cluster_zone
from clusters.provisioning.errors import NotReady, error_code, is_not_found
from clusters.provisioning.identity import iam_path, kms_alias, tagged_kms_keys
from clusters.provisioning.network import cluster_nat_gateways
from clusters.provisioning.node_pools import delete_auto_scaling_group

DEAD_INSTANCE_STATES = ("shutting-down", "terminated")


def tagged(ctx: StepContext, describe: str, result_key: str, **extra) -> list[dict]:
    paginator = ctx.client("ec2").get_paginator(describe)
    items: list[dict] = []
    for page in paginator.paginate(Filters=ctx.cluster_filter(), **extra):
        items.extend(page[result_key])
    return items


def ignore_missing(call, **kwargs) -> None:  # noqa: ANN001
    try:
        call(**kwargs)
    except Exception as exc:
        if not (is_not_found(exc) or "NotFound" in error_code(exc)):
            raise


# --- discovery: what of the cluster still exists in AWS ---------------------------------------

def cluster_auto_scaling_groups(ctx: StepContext) -> list[str]:
    paginator = ctx.client("autoscaling").get_paginator("describe_auto_scaling_groups")
    names = set()
    for page in paginator.paginate(
        Filters=[{"Name": f"tag:{aws.TAG_CLUSTER}", "Values": [ctx.id]}]
    ):
        names.update(g["AutoScalingGroupName"] for g in page["AutoScalingGroups"])
    names.update(r.data.get("name") for r in ledger.live(ctx.cluster, "auto_scaling_group"))
    return sorted(n for n in names if n)


def cluster_instances(ctx: StepContext) -> list[dict]:
    reservations = tagged(ctx, "describe_instances", "Reservations")
    return [i for r in reservations for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated",)]


def cluster_load_balancers(ctx: StepContext, resource_type: str) -> list[str]:
    response = ctx.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": aws.TAG_CLUSTER, "Values": [ctx.id]}],
        ResourceTypeFilters=[f"elasticloadbalancing:{resource_type}"],
    )
    return [r["ResourceARN"] for r in response["ResourceTagMappingList"]]


def cluster_roles(ctx: StepContext) -> list[dict]:
    """Roles under the cluster's IAM path. The path is checked here too: moto's
    list_instance_profiles ignores PathPrefix, and a sweep must never touch another cluster."""
    paginator = ctx.client("iam").get_paginator("list_roles")
    return [r for page in paginator.paginate(PathPrefix=iam_path(ctx)) for r in page["Roles"]
            if r["Path"] == iam_path(ctx)]


def cluster_instance_profiles(ctx: StepContext) -> list[dict]:
    paginator = ctx.client("iam").get_paginator("list_instance_profiles")
    return [p for page in paginator.paginate(PathPrefix=iam_path(ctx))
            for p in page["InstanceProfiles"] if p["Path"] == iam_path(ctx)]


# --- the teardown steps, in order -------------------------------------------------------------

def delete_auto_scaling_groups(ctx: StepContext) -> None:
    waiting = [name for name in cluster_auto_scaling_groups(ctx)
               if not delete_auto_scaling_group(ctx, name)]
    for row in ledger.live(ctx.cluster, "auto_scaling_group"):
        if row.data.get("name") not in waiting:
            ledger.forget(ctx.cluster, row, step=ctx.step)
    if waiting:
        raise NotReady(f"Waiting for auto-scaling groups {', '.join(waiting)} to go")


def terminate_instances(ctx: StepContext) -> None:
    instances = cluster_instances(ctx)
    running = [i["InstanceId"] for i in instances if i["State"]["Name"] not in DEAD_INSTANCE_STATES]
    if running:
        ctx.client("ec2").terminate_instances(InstanceIds=running)
        for instance_id in running:
            ledger.forget_aws_id(ctx.cluster, "instance", instance_id, step=ctx.step)
    if cluster_instances(ctx):
        raise NotReady("Waiting for the cluster's instances to terminate")


def delete_launch_templates(ctx: StepContext) -> None:
    for template in tagged(ctx, "describe_launch_templates", "LaunchTemplates"):
        ignore_missing(ctx.client("ec2").delete_launch_template,
                       LaunchTemplateId=template["LaunchTemplateId"])
        ledger.forget_aws_id(ctx.cluster, "launch_template", template["LaunchTemplateId"],
                             step=ctx.step)
    for row in ledger.live(ctx.cluster, "launch_template"):
        ignore_missing(ctx.client("ec2").delete_launch_template, LaunchTemplateId=row.aws_id)
        ledger.forget(ctx.cluster, row, step=ctx.step)


def delete_alarms(ctx: StepContext) -> None:
    cloudwatch = ctx.client("cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=ctx.name(""))["MetricAlarms"]
    if alarms:
        cloudwatch.delete_alarms(AlarmNames=[a["AlarmName"] for a in alarms])
    for alarm in alarms:
        ledger.forget_aws_id(ctx.cluster, "alarm", alarm["AlarmArn"], step=ctx.step)


def delete_dns(ctx: StepContext) -> None:
    route53 = ctx.client("route53")
    zone = find_cluster_zone(ctx)
    if zone is None:
        for row in ledger.live(ctx.cluster, "hosted_zone", "dns_records"):
            ledger.forget(ctx.cluster, row, step=ctx.step)
        return
    zone_id = zone["Id"].rsplit("/", 1)[-1]
    apex = ctx.cluster.dns_zone + "."
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in records
               if not (r["Name"] == apex and r["Type"] in ("SOA", "NS"))]
    if changes:
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    delegation = ledger.find(ctx.cluster, "dns_records")
    parent = delegation.data.get("delegated_from") if delegation else ""
    if parent:
        found = route53.list_resource_record_sets(
            HostedZoneId=parent, StartRecordName=apex, StartRecordType="NS", MaxItems="1"
        )["ResourceRecordSets"]
        if found and found[0]["Name"] == apex and found[0]["Type"] == "NS":
            route53.change_resource_record_sets(HostedZoneId=parent, ChangeBatch={
                "Changes": [{"Action": "DELETE", "ResourceRecordSet": found[0]}]})
    route53.delete_hosted_zone(Id=zone_id)
    for row in ledger.live(ctx.cluster, "dns_records"):
        ledger.forget(ctx.cluster, row, step=ctx.step)
    ledger.forget_aws_id(ctx.cluster, "hosted_zone", zone_id, step=ctx.step)


def delete_load_balancers(ctx: StepContext) -> None:
    elbv2 = ctx.client("elbv2")
    arns = set(cluster_load_balancers(ctx, "loadbalancer"))
    arns.update(r.aws_id for r in ledger.live(ctx.cluster, "load_balancer"))
    for arn in sorted(arns):
        ignore_missing(elbv2.delete_load_balancer, LoadBalancerArn=arn)
        ledger.forget_aws_id(ctx.cluster, "load_balancer", arn, step=ctx.step)
    groups = set(cluster_load_balancers(ctx, "targetgroup"))
    groups.update(r.aws_id for r in ledger.live(ctx.cluster, "target_group"))
    for arn in sorted(groups):
        try:
            elbv2.delete_target_group(TargetGroupArn=arn)
        except Exception as exc:
            if error_code(exc) == "ResourceInUse":
                raise NotReady(
                    "Waiting for the load balancers to release their target groups"
                ) from exc
            if not (is_not_found(exc) or "TargetGroupNotFound" in error_code(exc)):
                raise
        ledger.forget_aws_id(ctx.cluster, "target_group", arn, step=ctx.step)


def delete_nat_gateways(ctx: StepContext) -> None:
    """NAT gateways hold the EIPs and network interfaces in the public subnets: wait for them."""
    pending = []
    for nat in cluster_nat_gateways_anywhere(ctx):
        if nat["State"] in ("pending", "available"):
            ctx.client("ec2").delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
        pending.append(nat["NatGatewayId"])
    if pending:
        raise NotReady(f"Waiting for NAT gateways {', '.join(pending)} to be deleted", retry_in=15)
    for row in ledger.live(ctx.cluster, "nat_gateway"):
        ledger.forget(ctx.cluster, row, step=ctx.step)


def cluster_nat_gateways_anywhere(ctx: StepContext) -> list[dict]:
    """Live NAT gateways of the cluster, even when the ledger never recorded its VPC."""
    if ledger.find(ctx.cluster, "vpc"):
        return cluster_nat_gateways(ctx)
    gateways = ctx.client("ec2").describe_nat_gateways()["NatGateways"]
    mine = {"Key": aws.TAG_CLUSTER, "Value": ctx.id}
    return [
        n
        for n in gateways
        if n["State"] not in ("deleted", "failed") and mine in n.get("Tags", [])
    ]


def release_elastic_ips(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    for address in ec2.describe_addresses(Filters=ctx.cluster_filter())["Addresses"]:
        if address.get("AssociationId"):
            ignore_missing(ec2.disassociate_address, AssociationId=address["AssociationId"])
        ignore_missing(ec2.release_address, AllocationId=address["AllocationId"])
        ledger.forget_aws_id(ctx.cluster, "elastic_ip", address["AllocationId"], step=ctx.step)


def delete_internet_gateway(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    for igw in tagged(ctx, "describe_internet_gateways", "InternetGateways"):
        for attachment in igw.get("Attachments", []):
            ignore_missing(ec2.detach_internet_gateway, InternetGatewayId=igw["InternetGatewayId"],
                           VpcId=attachment["VpcId"])
        ignore_missing(ec2.delete_internet_gateway, InternetGatewayId=igw["InternetGatewayId"])
        ledger.forget_aws_id(ctx.cluster, "internet_gateway", igw["InternetGatewayId"],
                             step=ctx.step)


def delete_route_tables(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    for table in tagged(ctx, "describe_route_tables", "RouteTables"):
        if any(a.get("Main") for a in table.get("Associations", [])):
            continue
        for association in table.get("Associations", []):
            ignore_missing(ec2.disassociate_route_table,
                           AssociationId=association["RouteTableAssociationId"])
        ignore_missing(ec2.delete_route_table, RouteTableId=table["RouteTableId"])
        ledger.forget_aws_id(ctx.cluster, "route_table", table["RouteTableId"], step=ctx.step)


def delete_subnets(ctx: StepContext) -> None:
    for subnet in tagged(ctx, "describe_subnets", "Subnets"):
        ignore_missing(ctx.client("ec2").delete_subnet, SubnetId=subnet["SubnetId"])
        ledger.forget_aws_id(ctx.cluster, "subnet", subnet["SubnetId"], step=ctx.step)


def delete_security_groups(ctx: StepContext) -> None:
    """Groups refer to each other: drop every rule first, then the groups."""
    ec2 = ctx.client("ec2")
    groups = tagged(ctx, "describe_security_groups", "SecurityGroups")
    for group in groups:
        if group.get("IpPermissions"):
            ignore_missing(ec2.revoke_security_group_ingress, GroupId=group["GroupId"],
                           IpPermissions=group["IpPermissions"])
    for group in groups:
        ignore_missing(ec2.delete_security_group, GroupId=group["GroupId"])
        ledger.forget_aws_id(ctx.cluster, "security_group", group["GroupId"], step=ctx.step)


def delete_vpc(ctx: StepContext) -> None:
    for vpc in tagged(ctx, "describe_vpcs", "Vpcs"):
        ignore_missing(ctx.client("ec2").delete_vpc, VpcId=vpc["VpcId"])
        ledger.forget_aws_id(ctx.cluster, "vpc", vpc["VpcId"], step=ctx.step)


def delete_iam_roles(ctx: StepContext) -> None:
    iam = ctx.client("iam")
    for profile in cluster_instance_profiles(ctx):
        for role in profile.get("Roles", []):
            ignore_missing(iam.remove_role_from_instance_profile,
                           InstanceProfileName=profile["InstanceProfileName"],
                           RoleName=role["RoleName"])
        ignore_missing(iam.delete_instance_profile,
                       InstanceProfileName=profile["InstanceProfileName"])
        ledger.forget_aws_id(ctx.cluster, "instance_profile", profile["Arn"], step=ctx.step)
    for role in cluster_roles(ctx):
        for policy in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            ignore_missing(iam.delete_role_policy, RoleName=role["RoleName"], PolicyName=policy)
        ignore_missing(iam.delete_role, RoleName=role["RoleName"])
        ledger.forget_aws_id(ctx.cluster, "iam_role", role["Arn"], step=ctx.step)


def delete_kms_key(ctx: StepContext) -> None:
    """KMS keys cannot be deleted at once: the shortest wait AWS allows is seven days."""
    kms = ctx.client("kms")
    ignore_missing(kms.delete_alias, AliasName=kms_alias(ctx))
    for key_id in tagged_kms_keys(ctx):
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    for row in ledger.live(ctx.cluster, "kms_key"):
        ledger.forget(ctx.cluster, row, step=ctx.step,
                      message=f"KMS key {row.aws_id} scheduled for deletion in 7 days")


def delete_key_pair(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    for pair in ec2.describe_key_pairs(Filters=ctx.cluster_filter())["KeyPairs"]:
        # By name: moto ignores KeyPairId on delete_key_pair (the sweep caught that).
        ignore_missing(ec2.delete_key_pair, KeyName=pair["KeyName"])
        ledger.forget_aws_id(ctx.cluster, "key_pair", pair["KeyPairId"], step=ctx.step)


TEARDOWN_STEPS = [
    delete_auto_scaling_groups,
    terminate_instances,
    delete_launch_templates,
    delete_alarms,
    delete_dns,
    delete_load_balancers,
    delete_nat_gateways,
    release_elastic_ips,
    delete_internet_gateway,
    delete_route_tables,
    delete_subnets,
    delete_security_groups,
    delete_vpc,
    delete_iam_roles,
    delete_kms_key,
    delete_key_pair,
]


# --- the sweep --------------------------------------------------------------------------------

def leftovers(ctx: StepContext) -> list[str]:
    """Everything in AWS still carrying the cluster's tag (or its IAM path), alive."""
    ec2 = ctx.client("ec2")
    found = set(cluster_auto_scaling_groups(ctx))
    found.update(i["InstanceId"] for i in cluster_instances(ctx))
    for describe, key, id_key in (
        ("describe_launch_templates", "LaunchTemplates", "LaunchTemplateId"),
        ("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
        ("describe_route_tables", "RouteTables", "RouteTableId"),
        ("describe_subnets", "Subnets", "SubnetId"),
        ("describe_security_groups", "SecurityGroups", "GroupId"),
        ("describe_vpcs", "Vpcs", "VpcId"),
    ):
        found.update(item[id_key] for item in tagged(ctx, describe, key))
    found.update(a["AllocationId"] for a in ec2.describe_addresses(
        Filters=ctx.cluster_filter())["Addresses"])
    found.update(p["KeyPairId"] for p in ec2.describe_key_pairs(
        Filters=ctx.cluster_filter())["KeyPairs"])
    found.update(n["NatGatewayId"] for n in cluster_nat_gateways_anywhere(ctx))
    found.update(cluster_load_balancers(ctx, "loadbalancer"))
    found.update(cluster_load_balancers(ctx, "targetgroup"))
    found.update(tagged_kms_keys(ctx))
    found.update(r["Arn"] for r in cluster_roles(ctx))
    found.update(p["Arn"] for p in cluster_instance_profiles(ctx))
    found.update(a["AlarmArn"] for a in ctx.client("cloudwatch").describe_alarms(
        AlarmNamePrefix=ctx.name(""))["MetricAlarms"])
    zone = find_cluster_zone(ctx)
    if zone:
        found.add(zone["Id"])
    found.update(tagged_elsewhere(ctx))
    return sorted(found)


def tagged_elsewhere(ctx: StepContext) -> list[str]:
    """What the tagging API still lists for the cluster, beyond the types the steps delete.
    It also lists what is already dead (terminated instances, deleted NAT gateways, keys pending
    deletion): those are not leftovers."""
    paginator = ctx.client("resourcegroupstaggingapi").get_paginator("get_resources")
    arns = []
    for page in paginator.paginate(TagFilters=[{"Key": aws.TAG_CLUSTER, "Values": [ctx.id]}]):
        arns.extend(r["ResourceARN"] for r in page["ResourceTagMappingList"])
    handled = (":instance/", ":natgateway/", ":key/", ":loadbalancer/", ":targetgroup/",
               ":autoScalingGroup:", ":vpc/", ":subnet/", ":security-group/", ":route-table/",
               ":internet-gateway/", ":elastic-ip/", ":key-pair/", ":launch-template/",
               ":alarm:", ":hostedzone/", ":role/", ":instance-profile/")
    return [arn for arn in arns if not any(marker in arn for marker in handled)]


def sweep(ctx: StepContext) -> None:
    """Run every deletion again over whatever is still tagged; done only when nothing is."""
    remaining = leftovers(ctx)
    if not remaining:
        return
    record_event(ctx.cluster, f"Sweep found {len(remaining)} resources still tagged with the "
                 f"cluster: {', '.join(remaining[:10])}", kind=Event.Kind.STEP,
                 level=Event.Level.WARNING, step=ctx.step)
    for step in TEARDOWN_STEPS:
        step(ctx)
    unknown = tagged_elsewhere(ctx)
    if unknown:
        raise NotReady(f"The sweep cannot delete {', '.join(unknown)}; delete them in the AWS "
                       "console", retry_in=60)
    raise NotReady("Sweeping again to check nothing is left", retry_in=2)


def mark_deleted(ctx: StepContext) -> None:
    with transaction.atomic():
        NodePool.objects.filter(cluster=ctx.cluster).update(status=Cluster.Status.DELETED)
        for row in ledger.live(ctx.cluster):
            ledger.forget(ctx.cluster, row, step=ctx.step)
        Cluster.objects.filter(pk=ctx.id).update(
            status=Cluster.Status.DELETED, deleted_at=timezone.now(), status_reason="",
            current_step="", health=Cluster.Health.UNKNOWN,
        )
        record_event(ctx.cluster, "Cluster deleted: nothing tagged with it is left in AWS",
                     kind=Event.Kind.STATUS, step=ctx.step, status=Cluster.Status.DELETED)
