"""The Alertmanager webhook receiver: POST /monitoring/clusters/<id>/alertmanager."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from clusters.models import Event
from monitoring.models import Alert, ClusterAlertReceiver
from tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster(organization):
    return ClusterFactory(organization=organization, status="running")


@pytest.fixture
def token(cluster):
    return ClusterAlertReceiver.rotate(cluster)


def payload(status="firing", *, version="4", alerts=None) -> dict:
    return {
        "version": version,
        "groupKey": '{}:{alertname="KubeNodeNotReady"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "happa",
        "groupLabels": {"alertname": "KubeNodeNotReady"},
        "commonLabels": {"alertname": "KubeNodeNotReady", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": alerts if alerts is not None else [{
            "status": status,
            "labels": {"alertname": "KubeNodeNotReady", "severity": "critical",
                       "node": "ip-10-0-1-5"},
            "annotations": {"summary": "Node ip-10-0-1-5 is not ready",
                            "description": "It has been NotReady for 15 minutes."},
            "startsAt": "2026-11-25T21:00:00.000Z",
            "endsAt": "2026-11-25T21:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example/graph",
            "fingerprint": "c0ffee12c0ffee12",
        }],
    }


def post(client, cluster_id, body, token=None):  # noqa: ANN001, ANN201
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(reverse("monitoring:alertmanager", args=[cluster_id]), data=data,
                       content_type="application/json", headers=headers)


def test_a_firing_alert_from_alertmanager_opens_an_alert_with_its_labels(client, cluster, token):
    response = post(client, cluster.id, payload(), token)

    assert response.status_code == 200
    assert response.json() == {"received": 1, "fired": 1, "updated": 0, "resolved": 0}
    alert = Alert.objects.get(cluster=cluster)
    assert alert.source == Alert.Source.ALERTMANAGER
    assert alert.severity == Alert.Severity.CRITICAL
    assert alert.summary == "Node ip-10-0-1-5 is not ready"
    assert alert.labels["node"] == "ip-10-0-1-5"
    assert alert.starts_at.isoformat() == "2026-11-25T21:00:00+00:00"
    assert Event.objects.filter(cluster=cluster, kind=Event.Kind.ALERT).count() == 1


def test_the_same_alert_sent_again_updates_instead_of_duplicating(client, cluster, token):
    post(client, cluster.id, payload(), token)
    response = post(client, cluster.id, payload(), token)

    assert response.json()["updated"] == 1
    assert Alert.objects.filter(cluster=cluster).count() == 1


def test_a_resolved_notification_resolves_the_alert(client, cluster, token):
    post(client, cluster.id, payload(), token)

    response = post(client, cluster.id, payload("resolved"), token)

    assert response.json()["resolved"] == 1
    alert = Alert.objects.get(cluster=cluster)
    assert alert.status == Alert.Status.RESOLVED
    assert alert.ends_at.isoformat() == "2026-11-25T21:30:00+00:00"


def test_a_wrong_token_is_refused_with_401_and_changes_nothing(client, cluster, token):
    response = post(client, cluster.id, payload(), "hpa_am_wrong")

    assert response.status_code == 401
    assert "bearer token" in response.json()["error"]
    assert not Alert.objects.exists()


def test_a_missing_token_is_refused_with_401(client, cluster, token):
    assert post(client, cluster.id, payload()).status_code == 401


def test_another_clusters_token_is_refused(client, cluster, token, organization):
    other = ClusterFactory(organization=organization)
    ClusterAlertReceiver.rotate(other)

    assert post(client, other.id, payload(), token).status_code == 401


def test_an_unknown_cluster_is_404(client, token):
    assert post(client, "nope1", payload(), token).status_code == 404


def test_invalid_json_is_a_400_with_a_message(client, cluster, token):
    response = post(client, cluster.id, "{not json", token)

    assert response.status_code == 400
    assert response.json() == {"error": "The body is not valid JSON."}


def test_another_payload_version_is_a_400_and_changes_nothing(client, cluster, token):
    response = post(client, cluster.id, payload(version="3"), token)

    assert response.status_code == 400
    assert "version" in response.json()["error"]
    assert not Alert.objects.exists()


def test_one_bad_alert_in_a_batch_rejects_the_whole_batch(client, cluster, token):
    good = payload()["alerts"][0]
    bad = {**good, "status": "exploded", "fingerprint": "other"}

    response = post(client, cluster.id, payload(alerts=[good, bad]), token)

    assert response.status_code == 400
    assert "alerts[1].status" in response.json()["error"]
    assert not Alert.objects.exists()


def test_rotating_the_token_stops_the_old_one(client, cluster, token):
    new_token = ClusterAlertReceiver.rotate(cluster)

    assert post(client, cluster.id, payload(), token).status_code == 401
    assert post(client, cluster.id, payload(), new_token).status_code == 200


def test_only_a_hash_of_the_token_is_stored(cluster, token):
    receiver = ClusterAlertReceiver.objects.get(cluster=cluster)

    assert token not in (receiver.token_hash, receiver.prefix)
    assert receiver.accepts(token)


def test_the_rotate_command_prints_a_working_token(client, cluster, capsys):
    call_command("rotate_alert_receiver_token", cluster.id)
    printed = capsys.readouterr().out
    token = printed.split("token: ")[1].strip()

    assert post(client, cluster.id, payload(), token).status_code == 200


def test_a_member_rotates_the_token_in_the_ui_and_sees_it_once(client, member, cluster):
    client.force_login(member)

    response = client.post(reverse("monitoring:rotate_receiver_token", args=[cluster.id]))

    body = response.content.decode()
    field = 'id="receiver-token" class="mono" readonly size="60" value="'
    token = body.split(field)[1].split('"')[0]
    assert ClusterAlertReceiver.objects.get(cluster=cluster).accepts(token)


def test_a_viewer_cannot_rotate_the_token(client, viewer, cluster):
    client.force_login(viewer)

    response = client.post(reverse("monitoring:rotate_receiver_token", args=[cluster.id]))

    assert response.status_code == 403
    assert not ClusterAlertReceiver.objects.filter(cluster=cluster).exists()


def test_another_organization_cannot_rotate_the_token(client, outsider, cluster):
    client.force_login(outsider)

    response = client.post(reverse("monitoring:rotate_receiver_token", args=[cluster.id]))

    assert response.status_code == 404
