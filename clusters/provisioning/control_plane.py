"""The Kubernetes API and ingress load balancers, the masters (launch template + auto-scaling
group), and the alarm on the ingress target group's unhealthy hosts."""

from __future__ import annotations

from django.conf import settings

from clusters.provisioning.context import StepContext, encode_user_data
from clusters.provisioning.errors import is_not_found
from clusters.provisioning.network import (
    INGRESS_HTTP_NODE_PORT,
    INGRESS_HTTPS_NODE_PORT,
    security_group,
    subnet_ids,
)
from clusters.provisioning.userdata import render_user_data

# (target group key suffix, port on the LB, port on the nodes)
LOAD_BALANCERS = {
    "api": {"security_group": "api-lb", "listeners": [("api", 443, 6443)]},
    "ingress": {
        "security_group": "ingress-lb",
        "listeners": [
            ("ingress-http", 80, INGRESS_HTTP_NODE_PORT),
            ("ingress-https", 443, INGRESS_HTTPS_NODE_PORT),
        ],
    },
}


def ensure_target_group(ctx: StepContext, suffix: str, port: int) -> str:
    key = f"target_group/{suffix}"
    record = ctx.recorded(key)
    if record:
        return record.aws_id
    elbv2 = ctx.client("elbv2")
    name = ctx.name(suffix)
    try:
        group = elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]
    except Exception as exc:
        if not is_not_found(exc) and "TargetGroupNotFound" not in str(exc):
            raise
        group = elbv2.create_target_group(
            Name=name,
            Protocol="TCP",
            Port=port,
            VpcId=ctx.recorded("vpc").aws_id,
            TargetType="instance",
            HealthCheckProtocol="TCP",
            Tags=[{"Key": k, "Value": v} for k, v in ctx.tags(name, kubernetes=True).items()],
        )["TargetGroups"][0]
    ctx.record(key, "target_group", group["TargetGroupArn"], name=name)
    return group["TargetGroupArn"]


def ensure_load_balancers(ctx: StepContext) -> None:
    """Both are internet-facing network load balancers in the public subnets: the API is for the
    customers' kubectl (OIDC guards it), the ingress for their users."""
    elbv2 = ctx.client("elbv2")
    for role, spec in LOAD_BALANCERS.items():
        key = f"load_balancer/{role}"
        if ctx.recorded(key):
            continue
        groups = {suffix: ensure_target_group(ctx, suffix, node_port)
                  for suffix, _, node_port in spec["listeners"]}
        name = ctx.name(role)
        try:
            balancer = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        except Exception as exc:
            if not is_not_found(exc) and "LoadBalancerNotFound" not in str(exc):
                raise
            balancer = elbv2.create_load_balancer(
                Name=name,
                Type="network",
                Scheme="internet-facing",
                Subnets=subnet_ids(ctx, "public"),
                SecurityGroups=[security_group(ctx, spec["security_group"])],
                Tags=[{"Key": k, "Value": v} for k, v in ctx.tags(name, kubernetes=True).items()],
            )["LoadBalancers"][0]
        arn = balancer["LoadBalancerArn"]
        listeners = elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
        ports = {listener["Port"] for listener in listeners}
        for suffix, port, _ in spec["listeners"]:
            if port not in ports:
                elbv2.create_listener(
                    LoadBalancerArn=arn,
                    Protocol="TCP",
                    Port=port,
                    DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[suffix]}],
                )
        ctx.record(
            key,
            "load_balancer",
            arn,
            name=name,
            dns_name=balancer["DNSName"],
            zone_id=balancer["CanonicalHostedZoneId"],
        )


def launch_template_data(ctx: StepContext, *, role: str, instance_type: str, user_data: str,
                         name: str) -> dict:
    return {
        "ImageId": ctx.image_id,
        "InstanceType": instance_type,
        "KeyName": ctx.recorded("key_pair").data["name"],
        "IamInstanceProfile": {"Arn": ctx.recorded(f"instance_profile/{role}").aws_id},
        "SecurityGroupIds": [security_group(ctx, role)],
        "UserData": encode_user_data(user_data),
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/xvda",
                "Ebs": {
                    "VolumeSize": 50,
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "KmsKeyId": ctx.recorded("kms_key").aws_id,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "TagSpecifications": ctx.tag_specifications("instance", "volume", name=name),
    }


def ensure_launch_template(ctx: StepContext, key: str, name: str, data: dict) -> dict:
    """The launch template named `name`; its id and latest version go to the ledger."""
    record = ctx.recorded(key)
    if record:
        return record.data
    ec2 = ctx.client("ec2")
    try:
        template = ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"][0]
    except Exception as exc:
        if not is_not_found(exc) and "NotFound" not in str(exc):
            raise
        template = ec2.create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData=data,
            ClientToken=ctx.token(key),
            TagSpecifications=ctx.tag_specifications("launch-template", name=name),
        )["LaunchTemplate"]
    row = ctx.record(
        key,
        "launch_template",
        template["LaunchTemplateId"],
        name=name,
        version=template["LatestVersionNumber"],
        instance_type=data["InstanceType"],
    )
    return row.data


def asg_tags(ctx: StepContext, asg_name: str, name_tag: str) -> list[dict]:
    return [
        {"ResourceId": asg_name, "ResourceType": "auto-scaling-group", "Key": key, "Value": value,
         "PropagateAtLaunch": True}
        for key, value in ctx.tags(name_tag, kubernetes=True).items()
    ]


def find_auto_scaling_group(ctx: StepContext, name: str) -> dict | None:
    groups = ctx.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name]
    )["AutoScalingGroups"]
    return groups[0] if groups else None


def ensure_auto_scaling_group(ctx: StepContext, key: str, name: str, template_id: str, *,
                              min_size: int, max_size: int, desired: int,
                              target_groups: list[str]) -> None:
    if ctx.recorded(key):
        return
    group = find_auto_scaling_group(ctx, name)
    if group is None:
        ctx.client("autoscaling").create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateId": template_id, "Version": "$Latest"},
            MinSize=min_size,
            MaxSize=max_size,
            DesiredCapacity=desired,
            VPCZoneIdentifier=",".join(subnet_ids(ctx, "private")),
            TargetGroupARNs=target_groups,
            HealthCheckType="EC2",
            Tags=asg_tags(ctx, name, name),
        )
        group = find_auto_scaling_group(ctx, name)
    ctx.record(key, "auto_scaling_group", group["AutoScalingGroupARN"], name=name)


def ensure_masters(ctx: StepContext) -> None:
    name = ctx.name("master")
    data = launch_template_data(
        ctx,
        role="master",
        instance_type=settings.HAPPA_MASTER_INSTANCE_TYPE,
        user_data=render_user_data(ctx.cluster, "master"),
        name=name,
    )
    ensure_launch_template(ctx, "launch_template/master", name, data)
    count = ctx.cluster.master_count
    ensure_auto_scaling_group(
        ctx,
        "auto_scaling_group/master",
        name,
        ctx.recorded("launch_template/master").aws_id,
        min_size=count,
        max_size=count,
        desired=count,
        target_groups=[ctx.recorded("target_group/api").aws_id],
    )


def ensure_alarms(ctx: StepContext) -> None:
    """Unhealthy hosts behind the ingress: the monitoring part shows it as an alert."""
    if ctx.recorded("alarm/ingress-unhealthy"):
        return
    name = ctx.name("ingress-unhealthy-hosts")
    group_arn = ctx.recorded("target_group/ingress-https").aws_id
    balancer_arn = ctx.recorded("load_balancer/ingress").aws_id
    ctx.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        AlarmDescription=f"Cluster {ctx.id}: ingress nodes failing the load balancer health check",
        Namespace="AWS/NetworkELB",
        MetricName="UnHealthyHostCount",
        Dimensions=[
            {"Name": "TargetGroup", "Value": group_arn.split(":", 5)[-1]},
            {"Name": "LoadBalancer", "Value": balancer_arn.split("loadbalancer/", 1)[-1]},
        ],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=3,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        Tags=[{"Key": k, "Value": v} for k, v in ctx.tags(name).items()],
    )
    arn = ctx.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    ctx.record("alarm/ingress-unhealthy", "alarm", arn, name=name)
