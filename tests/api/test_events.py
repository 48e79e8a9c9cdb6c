import pytest

from clusters.events import record_event
from tests.factories import ClusterFactory


@pytest.mark.django_db
def test_events_replay_in_order_after_the_last_id_seen(member_api, organization):
    cluster = ClusterFactory(organization=organization)
    events = [record_event(cluster, f"step {n}") for n in range(5)]

    first = member_api.get(f"/clusters/{cluster.id}/events", limit=3).json()
    rest = member_api.get(f"/clusters/{cluster.id}/events", after=first["last_id"]).json()

    assert [e["message"] for e in first["items"]] == ["step 0", "step 1", "step 2"]
    assert first["has_more"] is True
    assert first["last_id"] == events[2].id
    assert [e["message"] for e in rest["items"]] == ["step 3", "step 4"]
    assert rest["has_more"] is False


@pytest.mark.django_db
def test_polling_with_no_new_events_returns_an_empty_page(member_api, organization):
    cluster = ClusterFactory(organization=organization)
    event = record_event(cluster, "created")

    body = member_api.get(f"/clusters/{cluster.id}/events", after=event.id).json()

    assert body == {"items": [], "last_id": None, "has_more": False}


@pytest.mark.django_db
def test_another_tenants_events_are_a_404(member_api, other_organization):
    theirs = ClusterFactory(organization=other_organization)
    record_event(theirs, "secret step")

    assert member_api.get(f"/clusters/{theirs.id}/events").status_code == 404
