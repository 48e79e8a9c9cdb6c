"""Celery entry points of monitoring (shells: the work is in health.py and notify.py)."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from monitoring import health, history, notify

# One poll at a time: a slow AWS must not pile polls up behind each other.
POLL_LOCK_KEY = "monitoring:poll-cluster-health"
POLL_LOCK_SECONDS = 300


@shared_task(acks_late=True, reject_on_worker_lost=True)
def poll_cluster_health() -> dict:
    if not cache.add(POLL_LOCK_KEY, "1", timeout=POLL_LOCK_SECONDS):
        return {"skipped": "another poll is running"}
    try:
        result = health.poll_clusters()
        # The poll writes the samples, so it bounds them too: no second schedule to forget.
        pruned = history.prune_samples()
    finally:
        cache.delete(POLL_LOCK_KEY)
    return {"polled": result.polled, "changed": result.changed, "failed": result.failed,
            "pruned_samples": pruned}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_notification(delivery_id: int) -> None:
    retry_in = notify.attempt_delivery(delivery_id)
    if retry_in is not None:
        deliver_notification.apply_async((delivery_id,), countdown=retry_in)
