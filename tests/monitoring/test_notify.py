"""Notifications: signed webhooks to a loopback receiver, e-mail, retries, silences, test button."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditLogEntry
from clusters.models import Cluster
from monitoring import notify
from monitoring.alerts import fire_alert, resolve_alert, silence_alert
from monitoring.health import poll_clusters
from monitoring.models import Delivery, NotificationChannel
from monitoring.tasks import deliver_notification
from tests.factories import AlertFactory, ClusterFactory, NotificationChannelFactory
from tests.monitoring.sandbox import build_sandbox_cluster

pytestmark = pytest.mark.django_db

SECRET = "s3cret-signing-key-for-tests"  # noqa: S105


@pytest.fixture
def cluster(organization):
    return ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)


@pytest.fixture
def webhook(organization, webhook_receiver):
    return NotificationChannelFactory(
        organization=organization, kind=NotificationChannel.Kind.WEBHOOK,
        webhook_url=webhook_receiver.url, webhook_secret=SECRET, email_addresses=[],
    )


def run_pending_deliveries() -> None:
    """What the Celery worker does with the queued deliveries."""
    for delivery_id in Delivery.objects.filter(status=Delivery.Status.PENDING).values_list(
        "id", flat=True
    ):
        deliver_notification.apply(args=[delivery_id])


def test_a_firing_alert_posts_signed_json_to_the_webhook(cluster, webhook, webhook_receiver):
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down",
                          severity="critical")

    run_pending_deliveries()

    (request,) = webhook_receiver.wait(1)
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Happa-Signature"] == expected
    body = json.loads(request.body)
    assert body["event"] == "alert.firing"
    assert body["alert"]["fingerprint"] == "health:nat"
    assert body["cluster"]["id"] == cluster.id
    delivery = Delivery.objects.get(alert=alert)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 1, 200)


def test_resolving_an_alert_notifies_too(cluster, webhook, webhook_receiver):
    fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")
    resolve_alert(cluster, fingerprint="health:nat")

    run_pending_deliveries()

    events = [json.loads(r.body)["event"] for r in webhook_receiver.wait(2)]
    assert sorted(events) == ["alert.firing", "alert.resolved"]


def test_a_failing_receiver_is_retried_with_growing_delays(cluster, webhook, webhook_receiver):
    webhook_receiver.statuses = [500]
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")
    delivery = Delivery.objects.get(alert=alert)

    first = notify.attempt_delivery(delivery.id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("retrying", 500)
    assert "500" in delivery.last_error

    second = notify.attempt_delivery(delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert (first, second) == (notify.FIRST_RETRY_SECONDS, None)
    assert notify.retry_delay(2) > notify.retry_delay(1)


def test_a_delivery_gives_up_after_the_last_attempt(cluster, webhook, webhook_receiver):
    webhook_receiver.statuses = [503] * notify.MAX_ATTEMPTS
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")
    delivery = Delivery.objects.get(alert=alert)

    outcomes = [notify.attempt_delivery(delivery.id) for _ in range(notify.MAX_ATTEMPTS)]

    delivery.refresh_from_db()
    assert outcomes[-1] is None
    assert (delivery.status, delivery.attempts) == ("failed", notify.MAX_ATTEMPTS)
    assert notify.attempt_delivery(delivery.id) is None  # nothing more is sent
    assert len(webhook_receiver.requests) == notify.MAX_ATTEMPTS


def test_an_email_channel_sends_a_mail_per_alert(cluster, organization):
    NotificationChannelFactory(organization=organization, email_addresses=["oncall@acme.test"])

    fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down", severity="critical")
    run_pending_deliveries()

    (message,) = mail.outbox
    assert message.to == ["oncall@acme.test"]
    assert message.subject.startswith("[Happa] FIRING critical: NAT gateway down")


def test_a_silenced_alert_does_not_notify(cluster, webhook, member):
    alert = AlertFactory(cluster=cluster, fingerprint="am:x", labels={"alertname": "NodeDown"})
    silence_alert(alert, member, duration=timedelta(hours=1),
                  label_names=["alertname"])
    alert.status = "resolved"
    alert.save()

    fire_alert(cluster, fingerprint="am:x", summary="Node down again",
               labels={"alertname": "NodeDown"})

    assert not Delivery.objects.exists()


def test_another_organizations_channel_is_not_notified(cluster, other_organization):
    NotificationChannelFactory(organization=other_organization)

    fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")

    assert not Delivery.objects.exists()


def test_an_injected_fault_notifies_the_webhook_and_its_fix_notifies_resolution(
    organization, webhook, webhook_receiver
):
    sandbox = build_sandbox_cluster(
        ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    )
    poll_clusters([sandbox.cluster])
    sandbox.set_alarm("ALARM")
    poll_clusters([sandbox.cluster])
    run_pending_deliveries()
    sandbox.set_alarm("OK")
    poll_clusters([sandbox.cluster])
    run_pending_deliveries()

    bodies = [json.loads(r.body) for r in webhook_receiver.wait(2)]
    assert [(b["event"], b["alert"]["fingerprint"]) for b in bodies] == [
        ("alert.firing", "health:alarm/ingress-unhealthy"),
        ("alert.resolved", "health:alarm/ingress-unhealthy"),
    ]


def test_an_admin_sends_a_test_notification(client, owner, webhook, webhook_receiver):
    client.force_login(owner)

    response = client.post(reverse("monitoring:send_test_notification", args=[webhook.id]))
    run_pending_deliveries()

    assert response.status_code == 302
    (request,) = webhook_receiver.wait(1)
    assert json.loads(request.body)["event"] == "test"
    assert Delivery.objects.get().status == "sent"


def test_a_member_cannot_send_a_test_notification(client, member, webhook):
    client.force_login(member)

    response = client.post(reverse("monitoring:send_test_notification", args=[webhook.id]))

    assert response.status_code == 403
    assert not Delivery.objects.exists()


def test_another_organizations_channel_is_not_found(client, outsider, webhook):
    client.force_login(outsider)

    response = client.post(reverse("monitoring:delete_notification_channel", args=[webhook.id]))

    assert response.status_code == 404
    assert NotificationChannel.objects.filter(pk=webhook.pk).exists()


def test_an_admin_adds_a_webhook_channel(client, owner, organization):
    client.force_login(owner)

    response = client.post(reverse("monitoring:notifications"), {
        "name": "pager", "kind": "webhook", "webhook_url": "http://93.184.215.14:9/hook",
        "webhook_secret": SECRET, "min_severity": "info", "notify_on_firing": "on",
        "notify_on_resolved": "on",
    })

    assert response.status_code == 302
    channel = NotificationChannel.objects.get(organization=organization)
    assert channel.webhook_secret == SECRET


def test_a_webhook_channel_without_a_secret_is_refused_with_a_message(client, owner):
    client.force_login(owner)

    response = client.post(reverse("monitoring:notifications"), {
        "name": "pager", "kind": "webhook", "webhook_url": "http://93.184.215.14:9/hook",
        "min_severity": "info", "notify_on_firing": "on", "notify_on_resolved": "on",
    })

    assert response.status_code == 400
    assert "at least 16 characters" in response.content.decode()
    assert not NotificationChannel.objects.exists()


def test_members_see_the_delivery_log(client, member, webhook, cluster):
    fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")
    client.force_login(member)

    body = client.get(reverse("monitoring:notifications")).content.decode()

    assert "alert.firing: NAT gateway down" in body
    assert "Add a channel" not in body


def test_the_organization_tabs_lead_to_the_notifications_page(client, owner, organization):
    client.force_login(owner)

    body = client.get(reverse("accounts:members", args=[organization.slug])).content.decode()

    assert f'href="{reverse("monitoring:notifications")}"' in body


def test_deleting_a_channel_asks_for_confirmation_first(client, owner, webhook):
    client.force_login(owner)

    body = client.get(reverse("monitoring:notifications")).content.decode()

    assert f'data-confirm="Delete channel {webhook.name}?' in body


def edit(client, channel, **fields):  # noqa: ANN001, ANN003, ANN201
    data = {"name": channel.name, "kind": channel.kind, "webhook_url": channel.webhook_url,
            "webhook_secret": "", "min_severity": channel.min_severity,
            "notify_on_firing": "on", "notify_on_resolved": "on"}
    data.update(fields)
    return client.post(
        reverse("monitoring:edit_notification_channel", args=[channel.id]),
        {key: value for key, value in data.items() if value is not None},
    )


def test_an_admin_changes_a_channels_filter_and_keeps_its_secret(client, owner, webhook):
    client.force_login(owner)

    response = edit(client, webhook, min_severity="critical", notify_on_resolved=None)

    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.min_severity, webhook.notify_on_resolved) == ("critical", False)
    assert webhook.webhook_secret == SECRET
    assert AuditLogEntry.objects.filter(action="notification_channel.changed").exists()


def test_the_edit_form_never_shows_the_secret(client, owner, webhook):
    client.force_login(owner)

    body = client.get(
        reverse("monitoring:edit_notification_channel", args=[webhook.id])
    ).content.decode()

    assert "Leave blank to keep the current secret" in body
    assert SECRET not in body


def test_a_bad_edit_keeps_the_input_and_changes_nothing(client, owner, webhook):
    client.force_login(owner)

    response = edit(client, webhook, name="renamed", webhook_secret="short")

    assert response.status_code == 400
    assert 'value="renamed"' in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.name != "renamed"
    assert webhook.webhook_secret == SECRET


def test_a_member_cannot_edit_a_channel(client, member, webhook):
    client.force_login(member)

    response = edit(client, webhook, name="renamed")

    assert response.status_code == 403
    webhook.refresh_from_db()
    assert webhook.name != "renamed"


def test_another_organizations_channel_cannot_be_edited(client, outsider, webhook):
    client.force_login(outsider)

    response = edit(client, webhook, name="renamed")

    assert response.status_code == 404
