"""The API's request and response shapes (pydantic, via ninja): the OpenAPI document's schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class ErrorOut(Schema):
    error: str = Field(description="A stable code: invalid, not_found, forbidden, conflict, …")
    message: str
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Messages per request field ('' for the whole)."
    )


class PageMeta(Schema):
    count: int = Field(description="Items in the whole list.")
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


class IdentityProviderOut(Schema):
    name: str
    issuer: str
    client_id: str


class OrganizationOut(Schema):
    slug: str
    name: str
    role: str = Field(description="The caller's role here (a token's role at most).")
    max_clusters: int
    max_nodes: int
    live_clusters: int
    identity_provider: IdentityProviderOut | None


class OrganizationPage(PageMeta):
    items: list[OrganizationOut]


class InstanceTypeOut(Schema):
    name: str
    vcpus: int
    memory_mib: int
    architecture: str
    regions: list[str]
    hourly_price_usd: str | None = Field(description="On-demand Linux price, a decimal string.")
    is_recommended: bool


class InstanceTypePage(PageMeta):
    items: list[InstanceTypeOut]


class ReleaseOut(Schema):
    version: str
    is_default: bool
    regions: list[str]


class ReleasePage(PageMeta):
    items: list[ReleaseOut]


class NodePoolOut(Schema):
    id: int
    name: str
    instance_type: str
    min_size: int
    max_size: int
    desired_size: int
    status: str
    created_at: datetime
    updated_at: datetime


class NodePoolPage(PageMeta):
    items: list[NodePoolOut]


class ProgressOut(Schema):
    current_step: str
    steps_done: int
    steps_total: int


class ClusterOut(Schema):
    id: str
    name: str
    organization: str = Field(description="The organization's slug.")
    region: str
    availability_zones: list[str]
    kubernetes_version: str
    master_count: int
    vpc_cidr: str
    status: str
    status_reason: str
    health: str
    progress: ProgressOut
    api_endpoint: str
    ingress_hostname: str
    node_pools: list[NodePoolOut]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class ClusterPage(PageMeta):
    items: list[ClusterOut]


class NodePoolIn(Schema):
    name: str = Field("default", min_length=1, max_length=30)
    instance_type: str = Field("m5.xlarge", min_length=1, max_length=40)
    min_size: int = Field(3, ge=0, le=1000)
    max_size: int = Field(3, ge=0, le=1000)
    desired_size: int | None = Field(None, ge=0, le=1000)


class ClusterIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    region: str = Field("eu-central-1", min_length=1, max_length=30)
    availability_zone_count: int = Field(2, ge=1, le=6)
    kubernetes_version: str | None = Field(None, max_length=20)
    master_count: int = Field(1, ge=1, le=3)
    node_pools: list[NodePoolIn] = Field(
        default_factory=lambda: [NodePoolIn()], min_length=1, max_length=20
    )


class ClusterPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)


class ScaleIn(Schema):
    min_size: int = Field(ge=0, le=1000)
    max_size: int = Field(ge=0, le=1000)
    desired_size: int | None = Field(None, ge=0, le=1000)
    instance_type: str | None = Field(None, min_length=1, max_length=40)


class PlannedResourceOut(Schema):
    kind: str
    name: str
    availability_zone: str
    detail: str


class PlanOut(Schema):
    resources: list[PlannedResourceOut]
    hourly_cost_usd: str
    monthly_cost_usd: str
    dns_names: list[str]


class EventOut(Schema):
    id: int
    cluster_id: str
    kind: str
    level: str
    step: str
    message: str
    aws_id: str
    data: dict[str, Any]
    created_at: datetime


class EventPage(Schema):
    items: list[EventOut]
    last_id: int | None = Field(
        description="Pass as ?after= to get the events after these; null when there were none."
    )
    has_more: bool


class KubeconfigOut(Schema):
    context: str = Field(description="The context name: <organization>-<cluster id>.")
    kubeconfig: str = Field(description="The kubeconfig file, YAML.")


