"""The one home of boto3 sessions and clients: sandbox endpoint, retries, assumed roles, tags."""

from __future__ import annotations

from functools import lru_cache

import boto3
from botocore.config import Config
from django.conf import settings

from accounts.models import Organization

TAG_CLUSTER = "happa.io/cluster"
TAG_ORGANIZATION = "happa.io/organization"

# Throttling and 5xx are retried by botocore with backoff ("standard" mode); what is left after
# that reaches the engine, which tells transient from permanent errors.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
)


def kubernetes_tag_key(cluster_id: str) -> str:
    return f"kubernetes.io/cluster/{cluster_id}"


def cluster_tags(cluster_id: str, organization_slug: str, *, kubernetes: bool = False) -> dict:
    """The tags every resource of the cluster carries (EC2, ASG and LBs add the Kubernetes one)."""
    tags = {TAG_CLUSTER: cluster_id, TAG_ORGANIZATION: organization_slug}
    if kubernetes:
        tags[kubernetes_tag_key(cluster_id)] = "owned"
    return tags


def as_tag_list(tags: dict) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def is_sandbox() -> bool:
    return bool(settings.AWS_ENDPOINT_URL)


def session_for(organization: Organization | None = None) -> boto3.Session:
    """The operator's credentials, or the organization's role assumed through STS."""
    base = boto3.Session(region_name=settings.AWS_DEFAULT_REGION)
    if organization is None or not organization.aws_role_arn:
        return base
    sts = base.client("sts", endpoint_url=settings.AWS_ENDPOINT_URL or None, config=CLIENT_CONFIG)
    params = {"RoleArn": organization.aws_role_arn, "RoleSessionName": f"happa-{organization.slug}"}
    if organization.aws_external_id:
        params["ExternalId"] = organization.aws_external_id
    credentials = sts.assume_role(**params)["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=settings.AWS_DEFAULT_REGION,
    )


def aws_client(service: str, region: str | None = None, *, session: boto3.Session | None = None):  # noqa: ANN201
    """A boto3 client pointed at the sandbox AWS when AWS_ENDPOINT_URL is set, else real AWS."""
    if session is None:
        return operator_client(service, region or settings.AWS_DEFAULT_REGION,
                               settings.AWS_ENDPOINT_URL or "")
    return session.client(
        service,
        region_name=region or settings.AWS_DEFAULT_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        config=CLIENT_CONFIG,
    )


@lru_cache(maxsize=64)
def operator_client(service: str, region: str, endpoint_url: str):  # noqa: ANN201
    """Clients on the operator's own credentials, kept per process: making one costs ~0.3 s of
    CPU (botocore loads the service model), more than most calls. Clients are thread-safe.
    Clients on an organization's assumed role are not kept: their credentials expire."""
    return boto3.Session(region_name=region).client(
        service, region_name=region, endpoint_url=endpoint_url or None, config=CLIENT_CONFIG
    )
