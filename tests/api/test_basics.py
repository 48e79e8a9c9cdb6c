"""Auth, errors, scoping, pagination, rate limits and the OpenAPI document."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openapi_spec_validator import validate

from accounts.models import Role
from clusters.models import InstanceType
from tests.api.conftest import api_client_for
from tests.factories import ClusterFactory, NodePoolFactory, UserFactory

EVERY_ROUTE = {
    ("/api/v1/organizations", "GET"),
    ("/api/v1/organizations/{slug}", "GET"),
    ("/api/v1/instance-types", "GET"),
    ("/api/v1/releases", "GET"),
    ("/api/v1/clusters", "GET"),
    ("/api/v1/clusters", "POST"),
    ("/api/v1/clusters/{cluster_id}", "GET"),
    ("/api/v1/clusters/{cluster_id}", "PATCH"),
    ("/api/v1/clusters/{cluster_id}", "DELETE"),
    ("/api/v1/clusters/{cluster_id}/retry", "POST"),
    ("/api/v1/clusters/{cluster_id}/node-pools", "GET"),
    ("/api/v1/clusters/{cluster_id}/node-pools", "POST"),
    ("/api/v1/clusters/{cluster_id}/node-pools/{pool_id}", "GET"),
    ("/api/v1/clusters/{cluster_id}/node-pools/{pool_id}", "PATCH"),
    ("/api/v1/clusters/{cluster_id}/node-pools/{pool_id}", "DELETE"),
    ("/api/v1/clusters/{cluster_id}/events", "GET"),
    ("/api/v1/clusters/{cluster_id}/kubeconfig", "GET"),
    ("/api/v1/alerts", "GET"),
    ("/api/v1/alerts/{alert_id}", "GET"),
    ("/api/v1/alerts/{alert_id}/acknowledge", "POST"),
    ("/api/v1/alerts/{alert_id}/silence", "POST"),
    ("/api/v1/tokens", "GET"),
    ("/api/v1/tokens", "POST"),
    ("/api/v1/tokens/{token_id}", "DELETE"),
}


@pytest.mark.django_db
def test_a_request_without_credentials_is_401_with_the_error_shape(anonymous_api, organization):
    response = anonymous_api.get("/clusters")

    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert set(response.json()) == {"error", "message", "fields"}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_a_wrong_token_is_401(organization):
    from tests.api.conftest import ApiClient

    response = ApiClient("happa_00000000_wrong").get("/clusters")

    assert response.status_code == 401


@pytest.mark.django_db
def test_organizations_lists_only_the_tokens_organization(member_api, organization, outsider):
    response = member_api.get("/organizations")

    assert response.status_code == 200
    body = response.json()
    assert [org["slug"] for org in body["items"]] == ["acme"]
    assert body["items"][0]["role"] == "member"
    assert body["count"] == 1


@pytest.mark.django_db
def test_another_organization_is_a_404(member_api, other_organization):
    response = member_api.get("/organizations/globex")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.django_db
def test_instance_types_can_be_filtered_by_region(member_api):
    InstanceType.objects.create(
        name="m5.xlarge", vcpus=4, memory_mib=16384, regions=["eu-central-1", "us-east-1"],
        hourly_price_usd="0.2300", is_recommended=True,
    )
    InstanceType.objects.create(
        name="m6g.large", vcpus=2, memory_mib=8192, regions=["us-east-1"], architecture="arm64"
    )

    response = member_api.get("/instance-types", region="eu-central-1")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["name"] for item in items] == ["m5.xlarge"]
    assert items[0]["hourly_price_usd"] == "0.2300"


@pytest.mark.django_db
def test_clusters_lists_only_the_callers_organization(member_api, organization, other_organization):
    mine = ClusterFactory(organization=organization, name="prod")
    NodePoolFactory(cluster=mine)
    ClusterFactory(organization=other_organization, name="theirs")

    response = member_api.get("/clusters")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items] == [mine.id]
    assert items[0]["api_endpoint"] == f"https://api.{mine.id}.k8s.happa.test"
    assert items[0]["node_pools"][0]["instance_type"] == "m5.xlarge"


@pytest.mark.django_db
def test_another_tenants_cluster_is_a_404_not_a_403(member_api, other_organization):
    theirs = ClusterFactory(organization=other_organization)

    assert member_api.get(f"/clusters/{theirs.id}").status_code == 404
    assert member_api.delete(f"/clusters/{theirs.id}").status_code == 404
    assert member_api.patch(f"/clusters/{theirs.id}", {"name": "mine-now"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "mine-now"


@pytest.mark.django_db
def test_a_viewer_reads_clusters(viewer_api, organization):
    cluster = ClusterFactory(organization=organization)

    response = viewer_api.get(f"/clusters/{cluster.id}")

    assert response.status_code == 200
    assert response.json()["name"] == cluster.name


@pytest.mark.django_db
def test_a_viewer_cannot_rename_a_cluster(viewer_api, organization):
    cluster = ClusterFactory(organization=organization, name="prod")

    response = viewer_api.patch(f"/clusters/{cluster.id}", {"name": "renamed"})

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    cluster.refresh_from_db()
    assert cluster.name == "prod"


@pytest.mark.django_db
def test_a_member_token_with_the_viewer_role_cannot_create(member, organization):
    api = api_client_for(member, organization, role=Role.VIEWER)

    response = api.post("/clusters", {"name": "prod"})

    assert response.status_code == 403


@pytest.mark.django_db
def test_a_member_renames_a_cluster(member_api, organization):
    cluster = ClusterFactory(organization=organization, name="prod")

    response = member_api.patch(f"/clusters/{cluster.id}", {"name": "production"})

    assert response.status_code == 200
    cluster.refresh_from_db()
    assert cluster.name == "production"


@pytest.mark.django_db
def test_renaming_to_a_taken_name_is_a_409(member_api, organization):
    ClusterFactory(organization=organization, name="staging")
    cluster = ClusterFactory(organization=organization, name="prod")

    response = member_api.patch(f"/clusters/{cluster.id}", {"name": "staging"})

    assert response.status_code == 409
    assert response.json()["fields"] == {"name": ["A live cluster already has this name."]}


@pytest.mark.django_db
def test_a_body_that_breaks_the_schema_is_422_with_fields(member_api, organization):
    response = member_api.post("/clusters", {"name": "", "master_count": 7})

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    assert set(body["fields"]) == {"name", "master_count"}


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_400(member_api):
    response = member_api.client.post(
        "/api/v1/clusters", "{not json", content_type="application/json",
        headers=member_api.headers,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.django_db
def test_lists_paginate_with_limit_and_offset(member_api, organization):
    for number in range(5):
        ClusterFactory(organization=organization, name=f"c{number}")

    first = member_api.get("/clusters", limit=2).json()
    last = member_api.get("/clusters", limit=2, offset=4).json()

    assert (first["count"], len(first["items"]), first["next_offset"]) == (5, 2, 2)
    assert (len(last["items"]), last["next_offset"]) == (1, None)


@pytest.mark.django_db
def test_the_cluster_list_runs_a_constant_number_of_queries(member_api, organization):
    member_api.get("/organizations")  # the token's first use writes last_used_at once

    def count_queries(clusters: int) -> int:
        for _ in range(clusters):
            NodePoolFactory(cluster=ClusterFactory(organization=organization))
        with CaptureQueriesContext(connection) as captured:
            assert member_api.get("/clusters").status_code == 200
        return len(captured)

    assert count_queries(1) == count_queries(6)


@pytest.mark.django_db
def test_too_many_requests_are_429_with_retry_after(member_api, organization, settings):
    settings.HAPPA_API_RATE_PER_MINUTE = 3

    statuses = [member_api.get("/organizations").status_code for _ in range(4)]

    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    last = member_api.get("/organizations")
    assert last.json()["error"] == "rate_limited"
    assert 1 <= int(last["Retry-After"]) <= 60


@pytest.mark.django_db
def test_a_signed_in_browser_session_reads_the_api(member, organization):
    client = Client()
    client.force_login(member)

    response = client.get("/api/v1/organizations")

    assert response.status_code == 200
    assert response.json()["items"][0]["slug"] == "acme"


@pytest.mark.django_db
def test_a_session_change_without_a_csrf_token_is_refused(member, organization):
    cluster = ClusterFactory(organization=organization, name="prod")
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)

    response = client.patch(
        f"/api/v1/clusters/{cluster.id}", json.dumps({"name": "x"}),
        content_type="application/json",
    )

    assert response.status_code in (401, 403)
    cluster.refresh_from_db()
    assert cluster.name == "prod"


@pytest.mark.django_db
def test_the_openapi_document_validates_and_lists_every_route(anonymous_api):
    response = anonymous_api.client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    validate(document)
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    assert documented == EVERY_ROUTE
    schemes = document["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} == {"http", "apiKey"}


@pytest.mark.django_db
def test_the_browsable_docs_are_served(anonymous_api):
    assert anonymous_api.client.get("/api/v1/docs").status_code == 200


@pytest.mark.django_db
def test_a_user_without_any_membership_cannot_use_the_session(organization):
    client = Client()
    client.force_login(UserFactory())

    assert client.get("/api/v1/clusters").status_code == 401
