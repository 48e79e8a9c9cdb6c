"""The cluster page: who sees it, what viewers may not do, and guards that need no domain call."""

import pytest
from django.urls import reverse

from clusters.models import Cluster, NodePool
from tests.factories import (
    ClusterFactory,
    EventFactory,
    InstanceTypeFactory,
    NodePoolFactory,
    ResourceRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster(organization):
    InstanceTypeFactory(name="m5.xlarge")
    cluster = ClusterFactory(organization=organization, name="payments", status="running")
    NodePoolFactory(cluster=cluster, name="default", instance_type="m5.xlarge")
    return cluster


def test_cluster_page_shows_access_details_and_live_element_ids(client, member, cluster):
    client.force_login(member)
    response = client.get(cluster.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert f"https://{cluster.api_hostname}" in html
    assert f"CNAME {cluster.ingress_hostname}." in html
    for suffix in ["status", "progress", "events", "alerts", "nodes", "diagram"]:
        assert f'id="cluster-{cluster.id}-{suffix}"' in html
    assert f'ws-connect="/ws/clusters/{cluster.id}/?after=0"' in html
    assert f"/api/v1/clusters/{cluster.id}/kubeconfig" in html


def test_cluster_page_lists_events_and_the_resource_ledger(client, member, cluster):
    event = EventFactory(cluster=cluster, message="VPC created", aws_id="vpc-0abc")
    ResourceRecordFactory(cluster=cluster, key="vpc", kind="vpc", aws_id="vpc-0abc")
    client.force_login(member)
    html = client.get(cluster.get_absolute_url()).content.decode()
    assert f'id="event-{event.id}"' in html
    assert "VPC created" in html
    assert "vpc-0abc" in html
    assert f"?after={event.id}" in html


def test_another_organizations_cluster_is_not_found(client, outsider, cluster):
    client.force_login(outsider)
    assert client.get(cluster.get_absolute_url()).status_code == 404


def test_another_organizations_cluster_cannot_be_deleted(client, outsider, cluster):
    client.force_login(outsider)
    response = client.post(
        reverse("clusters:delete", args=[cluster.id]), {"delete-confirm_name": "payments"}
    )
    assert response.status_code == 404
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.RUNNING


def test_viewer_sees_the_page_without_mutating_buttons(client, viewer, cluster):
    client.force_login(viewer)
    html = client.get(cluster.get_absolute_url()).content.decode()
    assert "payments" in html
    assert "Delete cluster" not in html
    assert "Remove pool" not in html
    assert 'name="pool-' not in html
    assert "Add a node pool" not in html


@pytest.mark.parametrize(
    ("url_name", "with_pool"),
    [("clusters:delete", False), ("clusters:pool_add", False), ("clusters:retry", False),
     ("clusters:pool_scale", True), ("clusters:pool_delete", True)],
)
def test_a_forged_post_from_a_viewer_is_refused(client, viewer, cluster, url_name, with_pool):
    pool = cluster.node_pools.get()
    args = [cluster.id, pool.pk] if with_pool else [cluster.id]
    client.force_login(viewer)
    response = client.post(
        reverse(url_name, args=args),
        {"delete-confirm_name": "payments", f"pool-{pool.pk}-min_size": 1,
         f"pool-{pool.pk}-max_size": 1, "add-pool-name": "extra"},
    )
    assert response.status_code == 403
    cluster.refresh_from_db()
    pool.refresh_from_db()
    assert cluster.status == Cluster.Status.RUNNING
    assert (pool.min_size, pool.max_size) == (3, 3)
    assert NodePool.objects.filter(cluster=cluster).count() == 1


def test_delete_with_the_wrong_name_is_refused_and_keeps_the_cluster(client, member, cluster):
    client.force_login(member)
    response = client.post(
        reverse("clusters:delete", args=[cluster.id]), {"delete-confirm_name": "paymentz"}
    )
    assert response.status_code == 422
    assert "That is not this cluster&#x27;s name" in response.content.decode()
    assert 'value="paymentz"' in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.RUNNING


def test_scaling_below_three_workers_asks_for_confirmation_and_changes_nothing(
    client, member, cluster
):
    pool = cluster.node_pools.get()
    client.force_login(member)
    response = client.post(
        reverse("clusters:pool_scale", args=[cluster.id, pool.pk]),
        {f"pool-{pool.pk}-min_size": 1, f"pool-{pool.pk}-max_size": 2,
         f"pool-{pool.pk}-instance_type": "m5.xlarge"},
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Tick the box to confirm" in html
    assert f'name="pool-{pool.pk}-min_size" value="1"' in html
    pool.refresh_from_db()
    assert (pool.min_size, pool.max_size) == (3, 3)


def test_scaling_with_min_above_max_is_refused_inline(client, member, cluster):
    pool = cluster.node_pools.get()
    client.force_login(member)
    response = client.post(
        reverse("clusters:pool_scale", args=[cluster.id, pool.pk]),
        {f"pool-{pool.pk}-min_size": 5, f"pool-{pool.pk}-max_size": 4,
         f"pool-{pool.pk}-instance_type": "m5.xlarge"},
    )
    assert response.status_code == 422
    assert "Must be at least the minimum." in response.content.decode()
    pool.refresh_from_db()
    assert (pool.min_size, pool.max_size) == (3, 3)


def test_scaling_a_pool_of_another_cluster_is_not_found(client, member, cluster, organization):
    other_pool = NodePoolFactory(cluster=ClusterFactory(organization=organization))
    client.force_login(member)
    response = client.post(
        reverse("clusters:pool_scale", args=[cluster.id, other_pool.pk]),
        {f"pool-{other_pool.pk}-min_size": 4, f"pool-{other_pool.pk}-max_size": 4},
    )
    assert response.status_code == 404


def test_the_diagram_fragment_is_served_alone(client, member, cluster):
    ResourceRecordFactory(cluster=cluster, key="vpc", kind="vpc", aws_id="vpc-0abc")
    client.force_login(member)
    response = client.get(reverse("clusters:diagram", args=[cluster.id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<div id="cluster-{cluster.id}-diagram"')
    assert "<svg" in html and "vpc-0abc" in html


def test_a_failed_cluster_shows_why_and_offers_a_retry(client, member, organization):
    failed = ClusterFactory(
        organization=organization, status="failed", status_reason="The NAT gateway never came up."
    )
    client.force_login(member)
    html = client.get(failed.get_absolute_url()).content.decode()
    assert "The NAT gateway never came up." in html
    assert reverse("clusters:retry", args=[failed.id]) in html
