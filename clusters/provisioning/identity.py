"""Who the nodes are and what they hold: IAM roles and instance profiles per node role (least
privilege), the cluster's KMS key (EBS encryption), and the organization's SSH key pair."""

from __future__ import annotations

import json

from clusters.provisioning import aws
from clusters.provisioning.context import StepContext
from clusters.provisioning.errors import error_code, is_not_found

NODE_ROLES = ("master", "worker", "bastion")

ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def role_policy(ctx: StepContext, role: str) -> dict:
    """Least privilege: masters run the AWS cloud provider for their cluster, workers read what
    kubelet needs, bastions nothing beyond describing themselves."""
    owned = {"StringEquals": {f"aws:ResourceTag/{aws.TAG_CLUSTER}": ctx.id}}
    describe = ["ec2:DescribeInstances", "ec2:DescribeRegions", "ec2:DescribeTags"]
    statements = {
        "bastion": [{"Effect": "Allow", "Action": ["ec2:DescribeTags"], "Resource": "*"}],
        "worker": [
            {"Effect": "Allow", "Action": describe + ["ecr:GetAuthorizationToken",
             "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "*"},
        ],
        "master": [
            {"Effect": "Allow", "Action": describe + ["ec2:DescribeRouteTables",
             "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVolumes",
             "ec2:DescribeVpcs", "elasticloadbalancing:Describe*",
             "autoscaling:DescribeAutoScalingGroups"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["ec2:AttachVolume", "ec2:DetachVolume",
             "ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ModifyInstanceAttribute",
             "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
             "autoscaling:SetDesiredCapacity"], "Resource": "*", "Condition": owned},
        ],
    }
    return {"Version": "2012-10-17", "Statement": statements[role]}


def iam_path(ctx: StepContext) -> str:
    """A path per cluster: the sweep lists a cluster's roles and profiles by it."""
    return f"/happa/{ctx.id}/"


def ensure_iam_roles(ctx: StepContext) -> None:
    iam = ctx.client("iam")
    tags = [{"Key": k, "Value": v} for k, v in ctx.tags().items()]
    for role in NODE_ROLES:
        key = f"instance_profile/{role}"
        if ctx.recorded(key):
            continue
        name = ctx.name(role)
        try:
            role_arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        except Exception as exc:
            if not is_not_found(exc):
                raise
            role_arn = iam.create_role(
                RoleName=name,
                Path=iam_path(ctx),
                AssumeRolePolicyDocument=json.dumps(ASSUME_ROLE_POLICY),
                Description=f"Happa cluster {ctx.id} {role} nodes",
                Tags=[*tags, {"Key": "Name", "Value": name}],
            )["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=name, PolicyName=name, PolicyDocument=json.dumps(role_policy(ctx, role))
        )
        ctx.record(f"iam_role/{role}", "iam_role", role_arn, name=name)
        try:
            profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except Exception as exc:
            if not is_not_found(exc):
                raise
            profile = iam.create_instance_profile(
                InstanceProfileName=name,
                Path=iam_path(ctx),
                Tags=[*tags, {"Key": "Name", "Value": name}],
            )["InstanceProfile"]
        if not any(r["RoleName"] == name for r in profile.get("Roles", [])):
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        ctx.record(key, "instance_profile", profile["Arn"], name=name)


def kms_alias(ctx: StepContext) -> str:
    return f"alias/happa/{ctx.id}"


def ensure_kms_key(ctx: StepContext) -> None:
    if ctx.recorded("kms_key"):
        return
    kms = ctx.client("kms")
    key_id = find_kms_key(ctx)
    if key_id is None:
        key_id = kms.create_key(
            Description=f"Happa cluster {ctx.id}: EBS volumes and secrets",
            Tags=[{"TagKey": k, "TagValue": v} for k, v in ctx.tags(ctx.name("kms")).items()],
        )["KeyMetadata"]["KeyId"]
    aliases = kms.list_aliases(KeyId=key_id)["Aliases"]
    if not any(a["AliasName"] == kms_alias(ctx) for a in aliases):
        kms.create_alias(AliasName=kms_alias(ctx), TargetKeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    ctx.record("kms_key", "kms_key", arn, name=ctx.name("kms"), key_id=key_id)


def find_kms_key(ctx: StepContext) -> str | None:
    """The cluster's live key, by alias or else by tags (a run killed before the alias)."""
    kms = ctx.client("kms")
    try:
        return kms.describe_key(KeyId=kms_alias(ctx))["KeyMetadata"]["KeyId"]
    except Exception as exc:
        if not is_not_found(exc):
            raise
    for key_id in tagged_kms_keys(ctx):
        return key_id
    return None


def tagged_kms_keys(ctx: StepContext) -> list[str]:
    """Keys tagged with the cluster and not yet scheduled for deletion."""
    found = []
    resources = ctx.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": aws.TAG_CLUSTER, "Values": [ctx.id]}], ResourceTypeFilters=["kms"]
    )["ResourceTagMappingList"]
    for resource in resources:
        key_id = resource["ResourceARN"].rsplit("/", 1)[-1]
        state = ctx.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
        if state not in ("PendingDeletion", "PendingReplicaDeletion"):
            found.append(key_id)
    return found


def ensure_key_pair(ctx: StepContext) -> None:
    if ctx.recorded("key_pair"):
        return
    ec2 = ctx.client("ec2")
    name = ctx.name("ssh")
    try:
        pair = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"][0]
    except Exception as exc:
        if error_code(exc) != "InvalidKeyPair.NotFound":
            raise
        public_key = ctx.cluster.organization.ssh_public_key.strip()
        specs = ctx.tag_specifications("key-pair", name=name, kubernetes=False)
        if public_key:
            pair = ec2.import_key_pair(
                KeyName=name, PublicKeyMaterial=public_key.encode(), TagSpecifications=specs
            )
        else:
            # No key from the organization: AWS makes one and nobody keeps its private half, so
            # SSH stays closed until the organization sets its key.
            pair = ec2.create_key_pair(KeyName=name, TagSpecifications=specs)
    ctx.record("key_pair", "key_pair", pair["KeyPairId"], name=name)
