"""Creating, planning, deleting clusters and changing node pools through the API."""

import pytest

from api.models import IdempotencyKey
from clusters.catalog import SANDBOX_NODE_IMAGE
from clusters.models import Cluster, NodePool
from tests.factories import (
    ClusterFactory,
    InstanceTypeFactory,
    KubernetesReleaseFactory,
    NodePoolFactory,
)

pytestmark = pytest.mark.django_db

BODY = {
    "name": "prod",
    "region": "eu-central-1",
    "availability_zone_count": 2,
    "node_pools": [{"name": "default", "instance_type": "m5.xlarge", "min_size": 3, "max_size": 5}],
}


@pytest.fixture(autouse=True)
def catalog(db):
    KubernetesReleaseFactory(
        version="1.31.4", is_default=True, images={"eu-central-1": SANDBOX_NODE_IMAGE}
    )
    InstanceTypeFactory(name="m5.xlarge")


def test_creating_a_cluster_answers_202_with_the_pending_cluster(member_api, member, organization):
    response = member_api.post("/clusters", BODY)

    assert response.status_code == 202, response.json()
    body = response.json()
    cluster = Cluster.objects.get(pk=body["id"])
    assert cluster.organization == organization
    assert cluster.created_by == member
    assert body["status"] == cluster.status == "pending"
    assert body["kubernetes_version"] == "1.31.4"
    assert [(p.name, p.min_size, p.max_size) for p in cluster.node_pools.all()] == [
        ("default", 3, 5)
    ]


def test_a_retried_create_with_the_same_idempotency_key_makes_one_cluster(member_api):
    headers = {"Idempotency-Key": "3c9b2f1e-create-prod"}

    first = member_api.post("/clusters", BODY, headers=headers)
    again = member_api.post("/clusters", BODY, headers=headers)

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Cluster.objects.count() == 1
    assert IdempotencyKey.objects.get().status_code == 202


def test_reusing_an_idempotency_key_for_another_request_is_refused(member_api):
    headers = {"Idempotency-Key": "key-1"}
    member_api.post("/clusters", BODY, headers=headers)

    response = member_api.post("/clusters", {**BODY, "name": "staging"}, headers=headers)

    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert Cluster.objects.count() == 1


def test_a_refused_create_keeps_no_idempotency_record(member_api):
    headers = {"Idempotency-Key": "key-2"}
    bad = {**BODY, "node_pools": [{"instance_type": "no.such.type"}]}

    assert member_api.post("/clusters", bad, headers=headers).status_code == 422

    assert IdempotencyKey.objects.count() == 0
    assert member_api.post("/clusters", bad, headers=headers).status_code == 422


def test_a_second_cluster_with_a_taken_name_is_a_409(member_api, organization):
    ClusterFactory(organization=organization, name="prod")

    response = member_api.post("/clusters", BODY)

    assert response.status_code == 409
    assert response.json()["fields"] == {"name": ["A live cluster already has this name."]}
    assert Cluster.objects.count() == 1


def test_an_unknown_instance_type_is_422_with_the_field_and_creates_nothing(member_api):
    response = member_api.post(
        "/clusters", {**BODY, "node_pools": [{"instance_type": "no.such.type"}]}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    assert any("no.such.type" in " ".join(messages) for messages in body["fields"].values())
    assert Cluster.objects.count() == 0


def test_a_dry_run_answers_the_plan_and_creates_nothing(member_api):
    response = member_api.post("/clusters", BODY, dry_run="true")

    assert response.status_code == 200
    plan = response.json()
    kinds = {resource["kind"] for resource in plan["resources"]}
    assert {"vpc", "subnet", "nat_gateway"} <= kinds
    assert float(plan["monthly_cost_usd"]) > 0
    assert Cluster.objects.count() == 0


def test_a_viewer_may_plan_but_not_create(viewer_api):
    assert viewer_api.post("/clusters", BODY, dry_run="true").status_code == 200
    assert viewer_api.post("/clusters", BODY).status_code == 403
    assert Cluster.objects.count() == 0


def test_deleting_a_cluster_answers_202_in_deleting(member_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")

    response = member_api.delete(f"/clusters/{cluster.id}")

    assert response.status_code == 202
    cluster.refresh_from_db()
    assert response.json()["status"] == cluster.status == "deleting"


def test_deleting_a_cluster_twice_is_a_409(member_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")
    member_api.delete(f"/clusters/{cluster.id}")

    assert member_api.delete(f"/clusters/{cluster.id}").status_code == 409


def test_a_viewer_cannot_delete_a_cluster(viewer_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")

    assert viewer_api.delete(f"/clusters/{cluster.id}").status_code == 403
    cluster.refresh_from_db()
    assert cluster.status == "running"


def test_a_node_pool_is_added_to_a_running_cluster(member_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")

    response = member_api.post(
        f"/clusters/{cluster.id}/node-pools",
        {"name": "gpu", "instance_type": "m5.xlarge", "min_size": 1, "max_size": 2},
    )

    assert response.status_code == 202, response.json()
    pool = NodePool.objects.get(cluster=cluster, name="gpu")
    assert (pool.min_size, pool.max_size) == (1, 2)


def test_node_pools_wait_until_the_cluster_runs(member_api, organization):
    cluster = ClusterFactory(organization=organization, status="creating")

    response = member_api.post(f"/clusters/{cluster.id}/node-pools", {"name": "gpu"})

    assert response.status_code == 409
    assert not NodePool.objects.filter(cluster=cluster).exists()


def test_a_duplicate_node_pool_name_is_a_409(member_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")
    NodePoolFactory(cluster=cluster, name="default")

    response = member_api.post(f"/clusters/{cluster.id}/node-pools", {"name": "default"})

    assert response.status_code == 409


def test_scaling_a_pool_records_the_new_sizes(member_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")
    pool = NodePoolFactory(
        cluster=cluster, min_size=3, max_size=3, desired_size=3, status="running"
    )

    response = member_api.patch(
        f"/clusters/{cluster.id}/node-pools/{pool.id}", {"min_size": 2, "max_size": 6}
    )

    assert response.status_code == 202, response.json()
    pool.refresh_from_db()
    assert (pool.min_size, pool.max_size) == (2, 6)


def test_scaling_with_min_above_max_is_422_and_changes_nothing(member_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")
    pool = NodePoolFactory(cluster=cluster, min_size=3, max_size=3, status="running")

    response = member_api.patch(
        f"/clusters/{cluster.id}/node-pools/{pool.id}", {"min_size": 5, "max_size": 2}
    )

    assert response.status_code == 422
    pool.refresh_from_db()
    assert (pool.min_size, pool.max_size) == (3, 3)


def test_deleting_a_pool_answers_202_in_deleting(member_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")
    NodePoolFactory(cluster=cluster, name="default", status="running")
    extra = NodePoolFactory(cluster=cluster, name="extra", status="running")

    response = member_api.delete(f"/clusters/{cluster.id}/node-pools/{extra.id}")

    assert response.status_code == 202, response.json()
    extra.refresh_from_db()
    assert extra.status == "deleting"


def test_another_tenants_pool_is_a_404(outsider_api, organization):
    cluster = ClusterFactory(organization=organization, status="running")
    pool = NodePoolFactory(cluster=cluster, status="running")

    response = outsider_api.patch(
        f"/clusters/{cluster.id}/node-pools/{pool.id}", {"min_size": 0, "max_size": 0}
    )

    assert response.status_code == 404
    pool.refresh_from_db()
    assert pool.max_size == 3
