"""The caller's organization, and the catalog it draws on: instance types and releases."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Field as F
from ninja import Query, Router, Schema

from accounts.models import IdentityProvider
from api.access import caller_of
from api.present import DEFAULT_LIMIT, MAX_LIMIT, instance_type_out, paginate
from api.schemas import (
    ErrorOut,
    InstanceTypePage,
    OrganizationOut,
    OrganizationPage,
    ReleasePage,
)
from clusters.models import CatalogPolicy, Cluster, InstanceType, KubernetesRelease

router = Router(tags=["organizations"])
catalog_router = Router(tags=["catalog"])

READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class PageParams(Schema):
    limit: int = F(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = F(0, ge=0, le=1_000_000)


class InstanceTypeParams(PageParams):
    region: str | None = F(None, max_length=30, description="Only types offered in this region.")
    recommended: bool | None = F(None, description="true: only recommended types.")


def organization_out(caller) -> dict:  # noqa: ANN001 (a Caller)
    organization = caller.organization
    provider = IdentityProvider.objects.filter(organization=organization).first()
    return {
        "slug": organization.slug,
        "name": organization.name,
        "role": caller.role,
        "max_clusters": organization.max_clusters,
        "max_nodes": organization.max_nodes,
        "live_clusters": Cluster.objects.live().filter(organization=organization).count(),
        "identity_provider": (
            {"name": provider.name, "issuer": provider.issuer, "client_id": provider.client_id}
            if provider
            else None
        ),
    }


@router.get("/organizations", response={200: OrganizationPage, **READ_ERRORS})
def list_organizations(request: HttpRequest, page: Query[PageParams]) -> dict:
    """The organization the credentials act for (a token belongs to exactly one)."""
    caller = caller_of(request)
    return paginate([caller], page.limit, page.offset, organization_out)


@router.get("/organizations/{slug}", response={200: OrganizationOut, **READ_ERRORS})
def get_organization(request: HttpRequest, slug: str) -> dict:
    caller = caller_of(request)
    if caller.organization.slug != slug:
        raise Http404(f"No organization {slug} for these credentials.")
    return organization_out(caller)


@catalog_router.get("/instance-types", response={200: InstanceTypePage, **READ_ERRORS})
def list_instance_types(request: HttpRequest, params: Query[InstanceTypeParams]) -> dict:
    """EC2 instance types for node pools, recommended first, with on-demand prices."""
    rows = list(InstanceType.objects.all())
    if not CatalogPolicy.current().allow_other_types or params.recommended:
        rows = [row for row in rows if row.is_recommended]
    if params.region:
        # `regions` is a JSON list; filtered here because SQLite has no JSON containment.
        rows = [row for row in rows if params.region in (row.regions or [])]
    return paginate(rows, params.limit, params.offset, instance_type_out)


@catalog_router.get("/releases", response={200: ReleasePage, **READ_ERRORS})
def list_releases(request: HttpRequest, page: Query[PageParams]) -> dict:
    """Kubernetes versions offered for new clusters (the default one is marked)."""
    rows = KubernetesRelease.objects.filter(is_active=True)
    return paginate(
        rows,
        page.limit,
        page.offset,
        lambda release: {
            "version": release.version,
            "is_default": release.is_default,
            "regions": sorted((release.images or {}).keys()),
        },
    )
