"""Alerts: dedupe by fingerprint, resolve, acknowledge, silence, and the alerts page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from clusters.models import Event
from monitoring.alerts import fire_alert, resolve_alert
from monitoring.models import Alert, Silence
from tests.factories import AlertFactory, ClusterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster(organization):
    return ClusterFactory(organization=organization, status="running")


def test_firing_the_same_fingerprint_twice_updates_the_one_open_alert(cluster):
    first, first_is_new = fire_alert(cluster, fingerprint="health:asg", summary="2 of 3 nodes")
    second, second_is_new = fire_alert(cluster, fingerprint="health:asg", summary="1 of 3 nodes")

    assert (first_is_new, second_is_new) == (True, False)
    assert first.pk == second.pk
    assert Alert.objects.filter(cluster=cluster).count() == 1
    first.refresh_from_db()
    assert first.summary == "1 of 3 nodes"
    assert Event.objects.filter(cluster=cluster, kind=Event.Kind.ALERT).count() == 1


def test_resolving_closes_the_alert_and_records_an_event(cluster):
    alert, _ = fire_alert(cluster, fingerprint="health:nat", summary="NAT gateway down")

    resolved = resolve_alert(cluster, fingerprint="health:nat")

    alert.refresh_from_db()
    assert resolved == alert
    assert alert.status == Alert.Status.RESOLVED
    assert alert.ends_at is not None
    messages = list(Event.objects.filter(cluster=cluster).values_list("message", flat=True))
    assert messages == ["Alert firing: NAT gateway down", "Alert resolved: NAT gateway down"]


def test_resolving_when_nothing_fires_changes_nothing(cluster):
    assert resolve_alert(cluster, fingerprint="health:nothing") is None
    assert not Event.objects.filter(cluster=cluster).exists()


def test_firing_again_after_resolution_opens_a_new_alert(cluster):
    fire_alert(cluster, fingerprint="health:nat", summary="down")
    resolve_alert(cluster, fingerprint="health:nat")
    fire_alert(cluster, fingerprint="health:nat", summary="down again")

    statuses = sorted(Alert.objects.filter(cluster=cluster).values_list("status", flat=True))
    assert statuses == ["firing", "resolved"]


def test_a_member_acknowledges_a_firing_alert(client, member, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(member)

    response = client.post(reverse("monitoring:acknowledge", args=[alert.id]))

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == member
    assert alert.acknowledged_at is not None


def test_a_viewer_cannot_acknowledge(client, viewer, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(viewer)

    response = client.post(reverse("monitoring:acknowledge", args=[alert.id]))

    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_another_organizations_alert_is_not_found(client, outsider, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(outsider)

    ack = client.post(reverse("monitoring:acknowledge", args=[alert.id]))
    silence = client.post(reverse("monitoring:silence", args=[alert.id]), {"duration": "1h"})

    assert (ack.status_code, silence.status_code) == (404, 404)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert not Silence.objects.exists()


def test_a_member_silences_an_alert_by_its_labels_for_the_chosen_time(client, member, cluster):
    alert = AlertFactory(cluster=cluster, labels={"alertname": "NodeDown", "pool": "workers"})
    client.force_login(member)

    response = client.post(
        reverse("monitoring:silence", args=[alert.id]),
        {"duration": "4h", "labels": ["alertname"], "comment": "maintenance"},
    )

    assert response.status_code == 302
    silence = Silence.objects.get()
    assert silence.matchers == {"alertname": "NodeDown", "cluster": cluster.id}
    assert silence.cluster == cluster
    hours = (silence.ends_at - silence.starts_at).total_seconds() / 3600
    assert hours == pytest.approx(4)
    assert silence.matches(alert)


def test_a_silence_with_an_unknown_duration_is_refused_with_a_message(client, member, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(member)

    response = client.post(
        reverse("monitoring:silence", args=[alert.id]), {"duration": "forever"}, follow=True
    )

    assert not Silence.objects.exists()
    assert "Choose how long to silence" in response.content.decode()


def test_a_viewer_cannot_silence(client, viewer, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(viewer)

    response = client.post(reverse("monitoring:silence", args=[alert.id]), {"duration": "1h"})

    assert response.status_code == 403
    assert not Silence.objects.exists()


def test_the_alerts_page_lists_firing_alerts_before_resolved_ones(client, member, cluster):
    old_firing = AlertFactory(cluster=cluster, summary="old but firing",
                              starts_at=timezone.now() - timezone.timedelta(days=2))
    AlertFactory(cluster=cluster, summary="new but resolved", status=Alert.Status.RESOLVED,
                 ends_at=timezone.now())
    client.force_login(member)

    body = client.get(reverse("monitoring:alerts")).content.decode()

    assert body.index(old_firing.summary) < body.index("new but resolved")


def test_the_alerts_page_shows_only_the_current_organizations_alerts(
    client, member, cluster, other_organization
):
    AlertFactory(cluster=cluster, summary="ours")
    AlertFactory(cluster=ClusterFactory(organization=other_organization), summary="theirs")
    client.force_login(member)

    body = client.get(reverse("monitoring:alerts")).content.decode()

    assert "ours" in body
    assert "theirs" not in body


def test_the_alerts_page_filters_by_status(client, member, cluster):
    AlertFactory(cluster=cluster, summary="still firing")
    AlertFactory(cluster=cluster, summary="long resolved", status=Alert.Status.RESOLVED)
    client.force_login(member)

    body = client.get(reverse("monitoring:alerts"), {"status": "resolved"}).content.decode()

    assert "long resolved" in body
    assert "still firing" not in body


def test_a_viewer_sees_alerts_without_the_buttons(client, viewer, cluster):
    AlertFactory(cluster=cluster, summary="visible to viewers")
    client.force_login(viewer)

    body = client.get(reverse("monitoring:alerts")).content.decode()

    assert "visible to viewers" in body
    assert "Acknowledge" not in body


@pytest.mark.parametrize("rows", [1, 30])
def test_the_alerts_page_query_count_does_not_grow_with_rows(
    client, member, cluster, django_assert_num_queries, rows
):
    for n in range(rows):
        # Half acknowledged: the page names who acknowledged, a join that must not repeat.
        AlertFactory(cluster=cluster, acknowledged_by=member if n % 2 else None,
                     acknowledged_at=timezone.now() if n % 2 else None)
    client.force_login(member)
    client.get(reverse("monitoring:alerts"))  # warm the session and caches

    with django_assert_num_queries(7):
        response = client.get(reverse("monitoring:alerts"))
    assert response.status_code == 200
