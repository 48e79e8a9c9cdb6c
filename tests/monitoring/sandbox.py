"""A running cluster's AWS resources in the sandbox (moto server), with the ledger rows the engine
writes for them (same keys and kinds as clusters/provisioning/*), and fault injection helpers."""

from __future__ import annotations

from dataclasses import dataclass

from clusters.models import Cluster, ResourceRecord
from clusters.provisioning.aws import aws_client

AZ = "eu-central-1a"


@dataclass
class SandboxCluster:
    cluster: Cluster
    bastion_id: str
    worker_group: str
    alarm_name: str
    nat_id: str

    def client(self, service: str):  # noqa: ANN201
        return aws_client(service, self.cluster.region)

    def record(self, key: str, kind: str, aws_id: str, **data) -> ResourceRecord:  # noqa: ANN003
        return ResourceRecord.objects.create(
            cluster=self.cluster, key=key, kind=kind, aws_id=aws_id, step="test", data=data
        )

    # Fault injection, as ops would do it in the sandbox.
    def set_alarm(self, state: str) -> None:
        self.client("cloudwatch").set_alarm_state(
            AlarmName=self.alarm_name, StateValue=state, StateReason=f"test set {state}"
        )

    def terminate_bastion(self) -> None:
        self.client("ec2").terminate_instances(InstanceIds=[self.bastion_id])

    def replace_bastion(self) -> None:
        """What the engine's reconcile does after a bastion is lost: a new one, a new ledger row."""
        ResourceRecord.objects.filter(cluster=self.cluster, key=f"bastion/{AZ}").delete()
        self.bastion_id = launch_instance(self.client("ec2"), self.subnet_id)
        self.record(f"bastion/{AZ}", "instance", self.bastion_id, name="bastion", az=AZ)

    def worker_ids(self) -> list[str]:
        group = self.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[self.worker_group]
        )["AutoScalingGroups"][0]
        return [instance["InstanceId"] for instance in group["Instances"]]


_images: list[str] = []


def image_id(ec2) -> str:  # noqa: ANN001
    """Any image the sandbox has (listing them is slow: once per test run)."""
    if not _images:
        images = ec2.describe_images(
            Owners=["amazon"], Filters=[{"Name": "architecture", "Values": ["x86_64"]}]
        )["Images"]
        _images.append(images[0]["ImageId"])
    return _images[0]


def launch_instance(ec2, subnet_id: str) -> str:  # noqa: ANN001
    return ec2.run_instances(
        ImageId=image_id(ec2), InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet_id
    )["Instances"][0]["InstanceId"]


def build_sandbox_cluster(cluster: Cluster, *, workers: int = 3) -> SandboxCluster:
    ec2 = aws_client("ec2", cluster.region)
    autoscaling = aws_client("autoscaling", cluster.region)
    elbv2 = aws_client("elbv2", cluster.region)
    cloudwatch = aws_client("cloudwatch", cluster.region)
    name = cluster.id

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24", AvailabilityZone=AZ)
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=AZ)
    public_id, private_id = public["Subnet"]["SubnetId"], private["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public_id, AllocationId=allocation)["NatGateway"]
    bastion = launch_instance(ec2, public_id)
    template = ec2.create_launch_template(
        LaunchTemplateName=f"{name}-worker",
        LaunchTemplateData={"ImageId": image_id(ec2), "InstanceType": "t3.micro"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    groups = {}
    for suffix in ("api", "ingress-https"):
        groups[suffix] = elbv2.create_target_group(
            Name=f"{name}-{suffix}", Protocol="TCP", Port=443, VpcId=vpc, TargetType="instance"
        )["TargetGroups"][0]["TargetGroupArn"]
    for role, size, group_arn in (("master", 1, groups["api"]),
                                  ("worker-default", workers, groups["ingress-https"])):
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"{name}-{role}", LaunchTemplate={"LaunchTemplateId": template},
            MinSize=size, MaxSize=size, DesiredCapacity=size, VPCZoneIdentifier=private_id,
            TargetGroupARNs=[group_arn],
        )
    alarm = f"{name}-ingress-unhealthy-hosts"
    cloudwatch.put_metric_alarm(
        AlarmName=alarm, AlarmDescription=f"Cluster {name}: ingress nodes failing health checks",
        Namespace="AWS/NetworkELB", MetricName="UnHealthyHostCount", Statistic="Maximum",
        Period=60, EvaluationPeriods=2, Threshold=0, ComparisonOperator="GreaterThanThreshold",
    )

    sandbox = SandboxCluster(cluster, bastion, f"{name}-worker-default", alarm, nat["NatGatewayId"])
    sandbox.subnet_id = public_id
    sandbox.record(f"nat_gateway/{AZ}", "nat_gateway", nat["NatGatewayId"], name="nat", az=AZ)
    sandbox.record(f"bastion/{AZ}", "instance", bastion, name="bastion", az=AZ)
    sandbox.record("target_group/api", "target_group", groups["api"], name=f"{name}-api")
    sandbox.record("target_group/ingress-https", "target_group", groups["ingress-https"],
                   name=f"{name}-ingress-https")
    sandbox.record("auto_scaling_group/master", "auto_scaling_group", "arn:master",
                   name=f"{name}-master")
    sandbox.record("auto_scaling_group/worker/default", "auto_scaling_group", "arn:worker",
                   name=f"{name}-worker-default")
    sandbox.record("alarm/ingress-unhealthy", "alarm", "arn:alarm", name=alarm)
    return sandbox
