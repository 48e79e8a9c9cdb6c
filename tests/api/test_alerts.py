import pytest

from accounts.models import AuditLogEntry
from monitoring.alerts import fire_alert
from monitoring.models import Alert, Silence
from tests.factories import ClusterFactory


@pytest.fixture
def alert(organization):
    cluster = ClusterFactory(organization=organization, status="running")
    fired, _ = fire_alert(
        cluster, fingerprint="api-down", summary="API server down", severity="critical",
        labels={"alertname": "KubeAPIDown"},
    )
    return fired


@pytest.mark.django_db
def test_alerts_lists_the_organizations_alerts_only(member_api, alert, other_organization):
    fire_alert(ClusterFactory(organization=other_organization), fingerprint="x", summary="theirs")

    response = member_api.get("/alerts")

    assert response.status_code == 200
    assert [a["summary"] for a in response.json()["items"]] == ["API server down"]


@pytest.mark.django_db
def test_alerts_filter_by_status(member_api, alert):
    assert member_api.get("/alerts", status="resolved").json()["count"] == 0
    assert member_api.get("/alerts", status="firing").json()["count"] == 1


@pytest.mark.django_db
def test_a_member_acknowledges_a_firing_alert(member_api, member, alert):
    response = member_api.post(f"/alerts/{alert.id}/acknowledge")

    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == member.email
    alert.refresh_from_db()
    assert alert.acknowledged_by == member
    assert AuditLogEntry.objects.filter(action="alert.acknowledged").count() == 1


@pytest.mark.django_db
def test_acknowledging_twice_is_a_409(member_api, alert):
    member_api.post(f"/alerts/{alert.id}/acknowledge")

    response = member_api.post(f"/alerts/{alert.id}/acknowledge")

    assert response.status_code == 409


@pytest.mark.django_db
def test_a_viewer_cannot_acknowledge(viewer_api, alert):
    response = viewer_api.post(f"/alerts/{alert.id}/acknowledge")

    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


@pytest.mark.django_db
def test_another_tenants_alert_is_a_404(outsider_api, alert):
    assert outsider_api.get(f"/alerts/{alert.id}").status_code == 404
    assert outsider_api.post(f"/alerts/{alert.id}/acknowledge").status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


@pytest.mark.django_db
def test_silencing_an_alert_mutes_its_labels_for_the_chosen_time(member_api, alert):
    response = member_api.post(
        f"/alerts/{alert.id}/silence", {"duration": "4h", "comment": "maintenance"}
    )

    assert response.status_code == 201
    silence = Silence.objects.get()
    assert silence.matchers["alertname"] == "KubeAPIDown"
    assert silence.matchers["cluster"] == alert.cluster_id
    assert round((silence.ends_at - silence.starts_at).total_seconds()) == 4 * 3600
    assert Silence.objects.silencing(Alert.objects.get(pk=alert.pk))


@pytest.mark.django_db
def test_an_unknown_silence_duration_is_422_and_silences_nothing(member_api, alert):
    response = member_api.post(f"/alerts/{alert.id}/silence", {"duration": "forever"})

    assert response.status_code == 422
    assert "duration" in response.json()["fields"]
    assert Silence.objects.count() == 0
