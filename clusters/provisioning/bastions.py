"""One bastion per availability zone, in the public subnet: the only machines with public IPs
and the only SSH route into the cluster."""

from __future__ import annotations

from django.conf import settings

from clusters.provisioning.context import StepContext, encode_user_data
from clusters.provisioning.network import security_group
from clusters.provisioning.userdata import render_user_data

LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]


def encrypted_root_volume(ctx: StepContext) -> list[dict]:
    return [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "VolumeSize": 20,
                "VolumeType": "gp3",
                "Encrypted": True,
                "KmsKeyId": ctx.recorded("kms_key").aws_id,
                "DeleteOnTermination": True,
            },
        }
    ]


def ensure_bastions(ctx: StepContext) -> None:
    ec2 = ctx.client("ec2")
    for az in ctx.azs:
        key = f"bastion/{az}"
        if ctx.recorded(key):
            continue
        name = ctx.name(f"bastion-{az}")
        found = ec2.describe_instances(
            Filters=[
                *ctx.cluster_filter(name),
                {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES},
            ]
        )["Reservations"]
        if found:
            instance = found[0]["Instances"][0]
        else:
            instance = ec2.run_instances(
                ImageId=ctx.image_id,
                InstanceType=settings.HAPPA_BASTION_INSTANCE_TYPE,
                MinCount=1,
                MaxCount=1,
                KeyName=ctx.recorded("key_pair").data["name"],
                IamInstanceProfile={"Arn": ctx.recorded("instance_profile/bastion").aws_id},
                NetworkInterfaces=[
                    {
                        "DeviceIndex": 0,
                        "SubnetId": ctx.recorded(f"subnet/public/{az}").aws_id,
                        "Groups": [security_group(ctx, "bastion")],
                        "AssociatePublicIpAddress": True,
                    }
                ],
                BlockDeviceMappings=encrypted_root_volume(ctx),
                UserData=encode_user_data(render_user_data(ctx.cluster, "bastion")),
                MetadataOptions={"HttpTokens": "required"},
                ClientToken=ctx.token(key),
                TagSpecifications=ctx.tag_specifications("instance", "volume", name=name),
            )["Instances"][0]
        ctx.record(key, "instance", instance["InstanceId"], name=name, az=az)
