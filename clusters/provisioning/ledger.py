"""The resource ledger: what the engine made in AWS for a cluster, written in the same
transaction as the event that tells the user about it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from clusters.events import record_event
from clusters.models import Cluster, Event, ResourceRecord


def find(cluster: Cluster, key: str) -> ResourceRecord | None:
    return ResourceRecord.objects.filter(cluster=cluster, key=key, deleted_at__isnull=True).first()


def live(cluster: Cluster, *kinds: str) -> list[ResourceRecord]:
    records = ResourceRecord.objects.filter(cluster=cluster, deleted_at__isnull=True)
    if kinds:
        records = records.filter(kind__in=kinds)
    return list(records)


def record(
    cluster: Cluster, key: str, kind: str, aws_id: str, *, step: str, **data: Any
) -> ResourceRecord:
    """Write (or refresh) the live record for `key` and its event, atomically."""
    with transaction.atomic():
        existing = find(cluster, key)
        if existing and existing.aws_id == aws_id:
            if data and existing.data != {**existing.data, **data}:
                existing.data = {**existing.data, **data}
                existing.save(update_fields=["data"])
            return existing
        if existing:
            # The ledger pointed at something AWS no longer has: that row is history now.
            existing.deleted_at = timezone.now()
            existing.save(update_fields=["deleted_at"])
        row = ResourceRecord.objects.create(
            cluster=cluster, key=key, kind=kind, aws_id=aws_id, step=step, data=data
        )
        record_event(
            cluster,
            f"{kind.replace('_', ' ').capitalize()} {data.get('name') or key} is {aws_id}",
            kind=Event.Kind.RESOURCE,
            step=step,
            aws_id=aws_id,
            key=key,
        )
        return row


def forget(cluster: Cluster, row: ResourceRecord, *, step: str, message: str = "") -> None:
    """Mark a record deleted (the resource is gone from AWS) with its event."""
    with transaction.atomic():
        updated = ResourceRecord.objects.filter(pk=row.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now()
        )
        if updated:
            record_event(
                cluster,
                message or f"Deleted {row.kind.replace('_', ' ')} {row.key} ({row.aws_id})",
                kind=Event.Kind.RESOURCE,
                step=step,
                aws_id=row.aws_id,
                key=row.key,
            )


def forget_key(cluster: Cluster, key: str, *, step: str) -> None:
    row = find(cluster, key)
    if row:
        forget(cluster, row, step=step)


def deleted_event(cluster: Cluster, kind: str, aws_id: str, *, step: str) -> None:
    """An event for a resource removed that the ledger never knew (found by its tags)."""
    record_event(
        cluster,
        f"Deleted {kind.replace('_', ' ')} {aws_id}",
        kind=Event.Kind.RESOURCE,
        step=step,
        aws_id=aws_id,
    )


def forget_aws_id(cluster: Cluster, kind: str, aws_id: str, *, step: str) -> None:
    """After deleting `aws_id`: close its ledger rows, or say so if the ledger never had it."""
    rows = ResourceRecord.objects.filter(cluster=cluster, aws_id=aws_id, deleted_at__isnull=True)
    found = list(rows)
    if not found:
        deleted_event(cluster, kind, aws_id, step=step)
    for row in found:
        forget(cluster, row, step=step)
