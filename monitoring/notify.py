"""Tell an organization about its alerts: e-mail and signed webhooks, retried, with a delivery log.

A Delivery row is written in the same transaction as the alert change and sent after commit by the
`monitoring.tasks.deliver_notification` task, one attempt per run; a failed attempt re-enqueues
itself with exponential backoff until MAX_ATTEMPTS. Silenced alerts write no deliveries, and a
channel only gets the alerts at or above its minimum severity, for the events it asked for.

Webhooks go through monitoring/egress.py at every attempt: the host is resolved once, every address
checked, and the request sent to that checked address (DNS rebinding cannot swap in a private one).
A refused destination fails the delivery at once, without retries: it would be refused every time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import httpx
from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from monitoring import egress
from monitoring.models import Alert, Delivery, NotificationChannel, Silence

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Happa-Signature"
# Sent by name: tasks.py imports this module, so importing the task here would be a cycle.
DELIVER_TASK = "monitoring.tasks.deliver_notification"
MAX_ATTEMPTS = 6
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
WEBHOOK_TIMEOUT_SECONDS = 10


def retry_delay(attempts: int) -> int:
    """30 s, 60 s, 120 s, … capped at an hour."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)


def sign(body: bytes, secret: str) -> str:
    """The value of X-Happa-Signature: `sha256=` + the hex HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alert_payload(alert: Alert, event: str) -> dict:
    cluster = alert.cluster
    return {
        "version": "1",
        "event": event,
        "organization": alert.organization.slug,
        "cluster": {"id": cluster.id, "name": cluster.name, "region": cluster.region},
        "alert": {
            "id": alert.id,
            "fingerprint": alert.fingerprint,
            "status": alert.status,
            "severity": alert.severity,
            "summary": alert.summary,
            "description": alert.description,
            "labels": alert.labels,
            "source": alert.source,
            "starts_at": alert.starts_at.isoformat(),
            "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        },
        "url": f"{settings.SITE_URL}/monitoring/alerts/?cluster={cluster.id}",
    }


def enqueue(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        current_app.send_task(DELIVER_TASK, args=[delivery_id])


def notify_alert(alert: Alert) -> list[Delivery]:
    """Write one delivery per channel that wants the alert, unless a silence matches it."""
    if Silence.objects.silencing(alert):
        return []
    event = "alert.firing" if alert.is_firing else "alert.resolved"
    payload = alert_payload(alert, event)
    channels = NotificationChannel.objects.to_notify(alert)
    deliveries = [
        Delivery.objects.create(channel=channel, alert=alert, event=event, payload=payload)
        for channel in channels
    ]
    if deliveries:
        ids = [delivery.id for delivery in deliveries]
        # robust: a broker outage must not undo or break the alert change that caused this.
        transaction.on_commit(lambda: enqueue(ids), robust=True)
    return deliveries


def send_test(channel: NotificationChannel) -> Delivery:
    """The "send test" button: one delivery with a sample payload, sent like any other."""
    payload = {
        "version": "1",
        "event": "test",
        "organization": channel.organization.slug,
        "message": f"Test notification from Happa to {channel.name}.",
        "sent_at": timezone.now().isoformat(),
    }
    delivery = Delivery.objects.create(channel=channel, event="test", payload=payload)
    transaction.on_commit(lambda: enqueue([delivery.id]), robust=True)
    return delivery


def _send_email(channel: NotificationChannel, payload: dict) -> None:
    if payload["event"] == "test":
        subject = "[Happa] Test notification"
        body = payload["message"]
    else:
        alert = payload["alert"]
        state = "FIRING" if alert["status"] == Alert.Status.FIRING else "RESOLVED"
        cluster_name = payload["cluster"]["name"]
        subject = f"[Happa] {state} {alert['severity']}: {alert['summary']} ({cluster_name})"
        body = (
            f"{alert['summary']}\n\n{alert['description']}\n\n"
            f"Cluster: {payload['cluster']['name']} ({payload['cluster']['id']})\n"
            f"Since: {alert['starts_at']}\n"
            + (f"Resolved: {alert['ends_at']}\n" if alert["ends_at"] else "")
            + f"\n{payload['url']}\n"
        )
    send_mail(subject[:200], body, settings.DEFAULT_FROM_EMAIL, channel.email_addresses)


def _send_webhook(channel: NotificationChannel, delivery: Delivery) -> int:
    destination = egress.check_webhook_url(channel.webhook_url)
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Happa-Notifications/1",
        "X-Happa-Event": delivery.event,
        "X-Happa-Delivery": str(delivery.id),
        # The URL names the checked address; the receiver still sees its own name.
        "Host": destination.host_header,
    }
    if channel.webhook_secret:
        headers[SIGNATURE_HEADER] = sign(body, channel.webhook_secret)
    # trust_env=False: an HTTP(S)_PROXY from the environment would make the proxy, not the
    # checked address, the peer. Redirects are not followed: a 3xx could point anywhere.
    with httpx.Client(trust_env=False, follow_redirects=False,
                      timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
        response = client.post(
            destination.url, content=body, headers=headers,
            extensions={"sni_hostname": destination.server_name},  # TLS checks the name
        )
    if not response.is_success:
        redirect = " (redirects are not followed)" if response.is_redirect else ""
        raise httpx.HTTPStatusError(
            f"the receiver answered {response.status_code}{redirect}",
            request=response.request,
            response=response,
        )
    return response.status_code


def attempt_delivery(delivery_id: int) -> int | None:
    """Try to send once. Returns seconds until the next attempt, or None when it is finished."""
    delivery = Delivery.objects.select_related("channel").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (Delivery.Status.SENT, Delivery.Status.FAILED):
        return None
    channel = delivery.channel
    delivery.attempts += 1
    try:
        if channel.kind == NotificationChannel.Kind.EMAIL:
            _send_email(channel, delivery.payload)
            delivery.response_status = None
        else:
            delivery.response_status = _send_webhook(channel, delivery)
    except egress.RefusedDestination as error:
        delivery.status = Delivery.Status.FAILED
        delivery.last_error = f"Refused: {error}"[:2000]
        delivery.save()
        log.warning("delivery %s refused: %s", delivery.id, error)
        return None
    except Exception as error:  # noqa: BLE001 - any failure is logged on the row and retried
        if isinstance(error, httpx.HTTPStatusError):
            delivery.response_status = error.response.status_code
        delivery.last_error = f"{type(error).__name__}: {error}"[:2000]
        finished = delivery.attempts >= MAX_ATTEMPTS
        delivery.status = Delivery.Status.FAILED if finished else Delivery.Status.RETRYING
        delivery.save()
        log.info("delivery %s attempt %s failed: %s", delivery.id, delivery.attempts, error)
        return None if finished else retry_delay(delivery.attempts)
    delivery.status = Delivery.Status.SENT
    delivery.last_error = ""
    delivery.delivered_at = timezone.now()
    delivery.save()
    return None
