"""Celery entry points only: each takes ids, reloads, and calls into clusters/provisioning."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reconcile_cluster(cluster_id: str) -> None:
    """Drive the cluster one step set closer to its desired state (create, scale or delete)."""
    raise NotImplementedError("the provisioning engine lands in clusters/provisioning")
