"""Celery entry points of monitoring (shells: the work is in health.py and notify.py)."""

from __future__ import annotations

from celery import shared_task

from monitoring import notify


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_notification(delivery_id: int) -> None:
    retry_in = notify.attempt_delivery(delivery_id)
    if retry_in is not None:
        deliver_notification.apply_async((delivery_id,), countdown=retry_in)
