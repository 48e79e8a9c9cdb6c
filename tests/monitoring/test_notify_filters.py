"""Each channel's minimum severity and events decide which alert changes it is told about."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clusters.models import Cluster
from monitoring.alerts import fire_alert, resolve_alert
from monitoring.models import Alert, Delivery, NotificationChannel
from tests.factories import ClusterFactory, NotificationChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster(organization):
    return ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)


def delivered_events(channel: NotificationChannel) -> list[str]:
    return sorted(Delivery.objects.filter(channel=channel).values_list("event", flat=True))


def fire(cluster: Cluster, severity: str, fingerprint: str = "health:nat") -> Alert:
    alert, _ = fire_alert(cluster, fingerprint=fingerprint, summary="NAT gateway down",
                          severity=severity)
    return alert


def test_a_new_channel_is_told_of_every_severity(organization, cluster):
    channel = NotificationChannelFactory(organization=organization)

    fire(cluster, Alert.Severity.INFO)

    assert channel.min_severity == Alert.Severity.INFO
    assert delivered_events(channel) == ["alert.firing"]


def test_a_critical_only_channel_is_not_told_of_a_warning(organization, cluster):
    channel = NotificationChannelFactory(organization=organization,
                                         min_severity=Alert.Severity.CRITICAL)

    fire(cluster, Alert.Severity.WARNING)

    assert delivered_events(channel) == []


def test_a_critical_only_channel_is_told_of_a_critical_alert(organization, cluster):
    channel = NotificationChannelFactory(organization=organization,
                                         min_severity=Alert.Severity.CRITICAL)

    fire(cluster, Alert.Severity.CRITICAL)

    assert delivered_events(channel) == ["alert.firing"]


def test_a_warning_channel_gets_warning_and_critical_but_not_info(organization, cluster):
    channel = NotificationChannelFactory(organization=organization,
                                         min_severity=Alert.Severity.WARNING)

    fire(cluster, Alert.Severity.INFO, "a")
    fire(cluster, Alert.Severity.WARNING, "b")
    fire(cluster, Alert.Severity.CRITICAL, "c")

    severities = Delivery.objects.filter(channel=channel).values_list("alert__severity", flat=True)
    assert sorted(severities) == ["critical", "warning"]


def test_a_below_minimum_alert_still_reaches_the_other_channels(organization, cluster):
    strict = NotificationChannelFactory(organization=organization,
                                        min_severity=Alert.Severity.CRITICAL)
    everything = NotificationChannelFactory(organization=organization)

    fire(cluster, Alert.Severity.WARNING)

    assert (delivered_events(strict), delivered_events(everything)) == ([], ["alert.firing"])


def test_a_firing_only_channel_is_not_told_of_the_resolution(organization, cluster):
    channel = NotificationChannelFactory(organization=organization, notify_on_resolved=False)

    fire(cluster, Alert.Severity.WARNING)
    resolve_alert(cluster, fingerprint="health:nat")

    assert delivered_events(channel) == ["alert.firing"]


def test_a_resolved_only_channel_is_told_only_of_the_resolution(organization, cluster):
    channel = NotificationChannelFactory(organization=organization, notify_on_firing=False)

    fire(cluster, Alert.Severity.WARNING)
    resolve_alert(cluster, fingerprint="health:nat")

    assert delivered_events(channel) == ["alert.resolved"]


def test_an_inactive_channel_is_not_told(organization, cluster):
    channel = NotificationChannelFactory(organization=organization, is_active=False)

    fire(cluster, Alert.Severity.CRITICAL)

    assert delivered_events(channel) == []


# --- The page ------------------------------------------------------------------------------------


def add_email_channel(client, **fields):  # noqa: ANN001, ANN003, ANN201
    data = {"name": "oncall", "kind": "email", "email_addresses": "oncall@acme.test",
            "min_severity": "info", "notify_on_firing": "on", "notify_on_resolved": "on"}
    data.update(fields)
    return client.post(reverse("monitoring:notifications"),
                       {key: value for key, value in data.items() if value is not None})


def test_an_admin_chooses_the_minimum_severity_and_events(client, owner, organization):
    client.force_login(owner)

    response = add_email_channel(client, min_severity="critical", notify_on_resolved=None)

    assert response.status_code == 302
    channel = NotificationChannel.objects.get(organization=organization)
    assert (channel.min_severity, channel.notify_on_firing, channel.notify_on_resolved) == (
        "critical", True, False
    )


def test_a_channel_told_of_no_event_is_refused_with_a_message(client, owner):
    client.force_login(owner)

    response = add_email_channel(client, notify_on_firing=None, notify_on_resolved=None)

    assert response.status_code == 400
    assert response.context["form"].errors["notify_on_firing"] == [
        "Choose at least one: when an alert fires, when it resolves, or both."
    ]
    assert not NotificationChannel.objects.exists()


def test_an_unknown_minimum_severity_is_refused(client, owner):
    client.force_login(owner)

    response = add_email_channel(client, min_severity="disaster")

    assert response.status_code == 400
    assert "min_severity" in response.context["form"].errors
    assert not NotificationChannel.objects.exists()


def test_the_form_labels_the_severity_choice_and_starts_with_everything(client, owner):
    client.force_login(owner)

    body = client.get(reverse("monitoring:notifications")).content.decode()

    assert "Minimum severity" in body
    assert '<option value="info" selected>All alerts (info and above)</option>' in body
    assert "Notify when an alert fires" in body
    assert "Notify when an alert resolves" in body


def test_the_channel_list_shows_each_channels_filter(client, member, organization):
    NotificationChannelFactory(organization=organization, name="pager",
                               min_severity=Alert.Severity.CRITICAL, notify_on_resolved=False)
    NotificationChannelFactory(organization=organization, name="team")
    client.force_login(member)

    body = client.get(reverse("monitoring:notifications")).content.decode()

    assert '<td class="channel-filter">Critical only, firing</td>' in body
    assert ('<td class="channel-filter">All alerts (info and above), firing and resolved</td>'
            in body)


@pytest.mark.parametrize("channels", [1, 8])
def test_the_notifications_page_runs_the_same_queries_for_any_number_of_channels(
    client, member, organization, cluster, django_assert_num_queries, channels
):
    for index in range(channels):
        NotificationChannelFactory(organization=organization, name=f"c{index}")
        fire(cluster, Alert.Severity.WARNING, f"f{index}")  # a delivery per channel so far
    client.force_login(member)
    client.get(reverse("monitoring:notifications"))  # session and membership caches warm up

    with django_assert_num_queries(6):
        response = client.get(reverse("monitoring:notifications"))

    assert response.status_code == 200
