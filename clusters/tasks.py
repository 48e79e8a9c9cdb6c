"""Celery entry points only: each takes ids, reloads, and calls into clusters/provisioning."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from clusters.provisioning import reconcile as engine


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reconcile_cluster(cluster_id: str, attempt: int = 0) -> None:
    """Drive the cluster one run closer to its desired state (create, scale or delete)."""
    with engine.cluster_lock(cluster_id) as lock:
        if lock is None:
            return  # another run holds it; it reschedules itself, or its lock lapses for beat
        outcome = engine.reconcile(cluster_id, lock=lock, attempt=attempt)
    if outcome.retry_in is not None:
        reconcile_cluster.apply_async((cluster_id, outcome.attempt), countdown=outcome.retry_in)


@shared_task(acks_late=True)
def reconcile_stuck_clusters() -> list[str]:
    """Every minute (beat): clusters mid-work that no run touched lately get a new run, e.g.
    after a worker was killed and its queued retry lost."""
    after = timedelta(seconds=settings.HAPPA_STUCK_AFTER_SECONDS)
    stuck = engine.stuck_clusters(after)
    for cluster_id in stuck:
        reconcile_cluster.delay(cluster_id)
    return stuck
