"""Webhook URLs may only reach public http(s) addresses: refused when saved and at each delivery."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clusters.models import Cluster
from monitoring import notify
from monitoring.alerts import fire_alert
from monitoring.models import Delivery, NotificationChannel
from tests.factories import ClusterFactory, NotificationChannelFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cret-signing-key-for-tests"
PUBLIC_IP = "93.184.215.14"


@pytest.fixture
def dns(monkeypatch):
    """Answers for names under .customer.test, in order (the last one repeats); other names
    resolve for real. DNS is an edge we do not own, so this is where the test stands in for it."""
    answers: dict[str, list[str]] = {}
    asked: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's names
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real_getaddrinfo(host, port, family, type, proto, flags)
        asked.append(name)
        queue = answers[name]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(address_family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return SimpleNamespace(answers=answers, asked=asked)


@pytest.fixture
def cluster(organization):
    return ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)


def add_webhook(client, url: str):  # noqa: ANN001, ANN201
    return client.post(reverse("monitoring:notifications"), {
        "name": "pager", "kind": "webhook", "webhook_url": url, "webhook_secret": SECRET,
        "min_severity": "info", "notify_on_firing": "on", "notify_on_resolved": "on",
    })


def url_errors(response) -> str:  # noqa: ANN001
    return " ".join(response.context["form"].errors.get("webhook_url", []))


def webhook_channel(organization, url: str) -> NotificationChannel:
    """A channel stored without the form's check, as one saved before DNS changed would be."""
    return NotificationChannelFactory(
        organization=organization, kind=NotificationChannel.Kind.WEBHOOK, webhook_url=url,
        webhook_secret=SECRET, email_addresses=[],
    )


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
    ("http://[::1]/hook", "::1 is a loopback address"),
    ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
    ("http://172.16.5.4/hook", "172.16.5.4 is a private address"),
    ("https://192.168.1.10/hook", "192.168.1.10 is a private address"),
    ("http://[fd12:3456::1]/hook", "fd12:3456::1 is a private address"),
    ("http://[::ffff:10.0.0.1]/hook", "::ffff:10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[fe80::1]/hook", "fe80::1 is a link-local address"),
    ("http://0.0.0.0/hook", "0.0.0.0 is an unspecified address"),
    ("http://[::]/hook", ":: is an unspecified address"),
    ("http://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
    ("http://[ff02::1]/hook", "ff02::1 is a multicast address"),
    ("http://240.0.0.1/hook", "240.0.0.1 is a reserved address"),
    ("http://100.64.0.1/hook", "100.64.0.1 is a reserved address"),
])
def test_a_webhook_url_to_a_non_public_address_is_refused_with_its_reason(
    client, owner, url, message
):
    client.force_login(owner)

    response = add_webhook(client, url)

    assert response.status_code == 400
    assert message in url_errors(response)
    assert "webhooks may only go to public internet addresses" in url_errors(response)
    assert not NotificationChannel.objects.exists()


def test_a_host_name_that_resolves_to_loopback_is_refused(client, owner):
    client.force_login(owner)

    response = add_webhook(client, "http://localhost:8000/hook")

    assert response.status_code == 400
    assert "localhost resolves to" in url_errors(response)
    assert "a loopback address" in url_errors(response)
    assert not NotificationChannel.objects.exists()


def test_a_host_name_that_resolves_to_a_private_address_is_refused(client, owner, dns):
    dns.answers["hooks.customer.test"] = ["10.20.30.40"]
    client.force_login(owner)

    response = add_webhook(client, "https://hooks.customer.test/hook")

    assert "hooks.customer.test resolves to 10.20.30.40, a private address" in url_errors(response)
    assert not NotificationChannel.objects.exists()


def test_a_name_with_one_public_and_one_private_address_is_refused(client, owner, monkeypatch):
    def two_addresses(host, port, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.0.9", port))]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    client.force_login(owner)

    response = add_webhook(client, "https://hooks.customer.test/hook")

    assert "resolves to 192.168.0.9, a private address" in url_errors(response)


def test_a_webhook_url_with_credentials_is_refused(client, owner):
    client.force_login(owner)

    response = add_webhook(client, f"https://user:secret@{PUBLIC_IP}/hook")

    assert response.status_code == 400
    assert "Leave the user name and password out of the URL" in url_errors(response)
    assert not NotificationChannel.objects.exists()


@pytest.mark.parametrize("url", [f"ftp://{PUBLIC_IP}/hook", f"gopher://{PUBLIC_IP}/hook"])
def test_a_webhook_url_that_is_not_http_is_refused(client, owner, url):
    client.force_login(owner)

    response = add_webhook(client, url)

    assert response.status_code == 400
    assert "Enter a valid http:// or https:// URL." in url_errors(response)
    assert not NotificationChannel.objects.exists()


def test_a_host_name_that_does_not_resolve_is_refused(client, owner):
    client.force_login(owner)

    response = add_webhook(client, "https://no-such-host.invalid/hook")

    assert "The host no-such-host.invalid does not resolve" in url_errors(response)
    assert not NotificationChannel.objects.exists()


def test_a_public_address_is_accepted(client, owner, organization):
    client.force_login(owner)

    response = add_webhook(client, f"https://{PUBLIC_IP}/hook")

    assert response.status_code == 302
    assert NotificationChannel.objects.get().webhook_url == f"https://{PUBLIC_IP}/hook"


def test_loopback_is_accepted_when_private_addresses_are_allowed(client, owner, settings):
    settings.HAPPA_WEBHOOK_ALLOW_PRIVATE = True
    client.force_login(owner)

    response = add_webhook(client, "http://localhost:8000/hook")

    assert response.status_code == 302
    assert NotificationChannel.objects.get().webhook_url == "http://localhost:8000/hook"


def test_allowing_private_addresses_still_refuses_credentials(client, owner, settings):
    settings.HAPPA_WEBHOOK_ALLOW_PRIVATE = True
    client.force_login(owner)

    response = add_webhook(client, "http://user:secret@localhost:8000/hook")

    assert "Leave the user name and password out of the URL" in url_errors(response)


def test_a_channel_saved_outside_the_page_is_checked_too(organization):
    """The rule is the model field's validator, so the ops admin's form applies it as well."""
    channel = NotificationChannel(
        organization=organization, name="meta", kind=NotificationChannel.Kind.WEBHOOK,
        webhook_url="http://169.254.169.254/latest/meta-data/", webhook_secret=SECRET,
    )

    with pytest.raises(ValidationError) as refused:
        channel.full_clean()

    assert "169.254.169.254 is a link-local address" in str(refused.value.message_dict)


# --- At delivery: the address actually connected to ----------------------------------------------


def test_a_name_that_resolves_to_a_private_address_at_send_time_fails_without_retries(
    client, owner, organization, cluster, dns
):
    # DNS rebinding: public when the channel is saved, private when the worker sends.
    dns.answers["hooks.customer.test"] = [PUBLIC_IP, "10.0.0.7"]
    client.force_login(owner)
    assert add_webhook(client, "https://hooks.customer.test/hook").status_code == 302
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")
    delivery = Delivery.objects.get(alert=alert)

    retry_in = notify.attempt_delivery(delivery.id)

    delivery.refresh_from_db()
    assert retry_in is None  # the task does not enqueue another attempt
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)
    assert delivery.last_error.startswith("Refused: hooks.customer.test resolves to 10.0.0.7")
    assert "a private address" in delivery.last_error


def test_a_delivery_to_localhost_is_refused_and_nothing_reaches_it(
    organization, cluster, webhook_receiver, settings
):
    settings.HAPPA_WEBHOOK_ALLOW_PRIVATE = False  # the production default
    webhook_channel(organization, webhook_receiver.url.replace("127.0.0.1", "localhost"))
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")
    delivery = Delivery.objects.get(alert=alert)

    assert notify.attempt_delivery(delivery.id) is None

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert "a loopback address" in delivery.last_error
    assert webhook_receiver.requests == []
    assert notify.attempt_delivery(delivery.id) is None  # a failed delivery is never re-sent
    assert webhook_receiver.requests == []


def test_a_delivery_connects_to_the_checked_address_and_names_the_host(
    organization, cluster, webhook_receiver, dns
):
    dns.answers["hooks.customer.test"] = ["127.0.0.1"]
    port = webhook_receiver.server.server_address[1]
    webhook_channel(organization, f"http://hooks.customer.test:{port}/hook")
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")

    notify.attempt_delivery(Delivery.objects.get(alert=alert).id)

    (request,) = webhook_receiver.wait(1)
    assert request.headers["Host"] == f"hooks.customer.test:{port}"
    # One lookup: the request went to the address that was checked, not to a second answer.
    assert dns.asked == ["hooks.customer.test"]
    assert Delivery.objects.get(alert=alert).status == Delivery.Status.SENT


def test_a_redirect_is_not_followed(organization, cluster, webhook_receiver):
    webhook_receiver.statuses = [307]
    webhook_receiver.location = "http://169.254.169.254/latest/meta-data/"
    webhook_channel(organization, webhook_receiver.url)
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")
    delivery = Delivery.objects.get(alert=alert)

    notify.attempt_delivery(delivery.id)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == (Delivery.Status.RETRYING, 307)
    assert "redirects are not followed" in delivery.last_error
    assert len(webhook_receiver.requests) == 1


def test_a_name_that_does_not_resolve_at_send_time_is_retried(organization, cluster):
    webhook_channel(organization, "https://no-such-host.invalid/hook")
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")
    delivery = Delivery.objects.get(alert=alert)

    retry_in = notify.attempt_delivery(delivery.id)

    delivery.refresh_from_db()
    assert retry_in == notify.FIRST_RETRY_SECONDS
    assert delivery.status == Delivery.Status.RETRYING
    assert "does not resolve" in delivery.last_error
