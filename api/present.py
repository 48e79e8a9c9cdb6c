"""Rows to response dicts, and one paginator, so every list answers the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet

from clusters.models import Cluster, Event, InstanceType, NodePool

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def paginate(
    rows: QuerySet | Sequence, limit: int, offset: int, present: Callable[[Any], dict]
) -> dict:
    count = rows.count() if isinstance(rows, QuerySet) else len(rows)
    page = list(rows[offset : offset + limit])
    next_offset = offset + limit if offset + limit < count else None
    return {
        "items": [present(row) for row in page],
        "count": count,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }


def node_pool_out(pool: NodePool) -> dict:
    return {
        "id": pool.pk,
        "name": pool.name,
        "instance_type": pool.instance_type,
        "min_size": pool.min_size,
        "max_size": pool.max_size,
        "desired_size": pool.desired_size,
        "status": pool.status,
        "created_at": pool.created_at,
        "updated_at": pool.updated_at,
    }


def cluster_out(cluster: Cluster) -> dict:
    pools = [p for p in cluster.node_pools.all() if p.status != Cluster.Status.DELETED]
    return {
        "id": cluster.id,
        "name": cluster.name,
        "organization": cluster.organization.slug,
        "region": cluster.region,
        "availability_zones": list(cluster.availability_zones or []),
        "kubernetes_version": cluster.release.version,
        "master_count": cluster.master_count,
        "vpc_cidr": cluster.vpc_cidr,
        "status": cluster.status,
        "status_reason": cluster.status_reason,
        "health": cluster.health,
        "progress": {
            "current_step": cluster.current_step,
            "steps_done": cluster.steps_done,
            "steps_total": cluster.steps_total,
        },
        "api_endpoint": f"https://{cluster.api_hostname}",
        "ingress_hostname": cluster.ingress_hostname,
        "node_pools": [node_pool_out(pool) for pool in pools],
        "created_by": cluster.created_by.email if cluster.created_by else None,
        "created_at": cluster.created_at,
        "updated_at": cluster.updated_at,
        "deleted_at": cluster.deleted_at,
    }


def instance_type_out(instance_type: InstanceType) -> dict:
    price = instance_type.hourly_price_usd
    return {
        "name": instance_type.name,
        "vcpus": instance_type.vcpus,
        "memory_mib": instance_type.memory_mib,
        "architecture": instance_type.architecture,
        "regions": list(instance_type.regions or []),
        "hourly_price_usd": str(price) if price is not None else None,
        "is_recommended": instance_type.is_recommended,
    }


def event_out(event: Event) -> dict:
    return {
        "id": event.id,
        "cluster_id": event.cluster_id,
        "kind": event.kind,
        "level": event.level,
        "step": event.step,
        "message": event.message,
        "aws_id": event.aws_id,
        "data": event.data if isinstance(event.data, dict) else {"value": event.data},
        "created_at": event.created_at,
    }
