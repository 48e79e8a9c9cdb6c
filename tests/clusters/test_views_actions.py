"""The pages' changes end to end through the domain functions: launch, preview, scale, pools,
delete — and the domain's refusals shown inline with nothing changed."""

import re

import pytest
from django.urls import reverse

from clusters.models import Cluster, NodePool
from tests.factories import (
    ClusterFactory,
    InstanceTypeFactory,
    KubernetesReleaseFactory,
    NodePoolFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog(settings):
    # The pages only enqueue; the engine is not under test here.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    KubernetesReleaseFactory(
        version="1.31.4", is_default=True, images={"eu-central-1": "ami-12c6146b"}
    )
    InstanceTypeFactory(name="m5.xlarge", vcpus=4, memory_mib=16384, is_recommended=True,
                        regions=["eu-central-1"])
    InstanceTypeFactory(name="m5.2xlarge", vcpus=8, memory_mib=32768, is_recommended=True,
                        regions=["eu-central-1"], hourly_price_usd="0.4600")


def create_data(**overrides) -> dict:
    data = {"name": "payments", "region": "eu-central-1", "availability_zone_count": 2,
            "kubernetes_version": "1.31.4", "instance_type": "m5.xlarge", "min_size": 3,
            "max_size": 3}
    data.update(overrides)
    return data


@pytest.fixture
def cluster(organization):
    cluster = ClusterFactory(organization=organization, name="payments", status="running")
    NodePoolFactory(cluster=cluster, name="default", status="running")
    return cluster


def test_creating_a_cluster_launches_it_and_opens_its_page(client, member, organization):
    client.force_login(member)
    response = client.post(reverse("clusters:create"), create_data())
    cluster = Cluster.objects.get(organization=organization, name="payments")
    assert response.status_code == 302
    assert response["Location"] == cluster.get_absolute_url()
    assert len(cluster.availability_zones) == 2
    assert cluster.node_pools.get().instance_type == "m5.xlarge"
    assert cluster.created_by == member


def test_a_taken_name_is_refused_inline_and_the_input_kept(client, member, organization):
    ClusterFactory(organization=organization, name="payments")
    client.force_login(member)
    response = client.post(reverse("clusters:create"), create_data(max_size=4))
    html = response.content.decode()
    assert response.status_code == 422
    assert "already has a cluster named" in html
    assert 'name="max_size" value="4"' in html
    assert Cluster.objects.filter(name="payments").count() == 1


def test_the_preview_shows_the_monthly_cost_and_the_aws_resources(client, member):
    client.force_login(member)
    response = client.post(reverse("clusters:preview"), create_data())
    html = response.content.decode()
    assert response.status_code == 200
    assert "a month" in html
    assert "vpc" in html and "nat_gateway" in html
    assert "eu-central-1a" in html and "eu-central-1b" in html
    assert 'class="cost-lines"' in html


def preview(client, **overrides) -> tuple[int, float]:
    """The preview's number of resources and its monthly cost, read from the page."""
    html = client.post(reverse("clusters:preview"), create_data(**overrides)).content.decode()
    cost = re.search(r"Estimated <strong>\$([\d,.]+)</strong>", html).group(1)
    return html.count('<span class="kind">'), float(cost.replace(",", ""))


def test_the_preview_grows_with_the_availability_zones(client, member):
    client.force_login(member)
    two_resources, two_cost = preview(client)
    three_resources, three_cost = preview(client, availability_zone_count=3)
    assert three_resources > two_resources
    assert three_cost > two_cost


def test_scaling_a_pool_writes_the_new_sizes(client, member, cluster):
    pool = cluster.node_pools.get()
    client.force_login(member)
    response = client.post(
        reverse("clusters:pool_scale", args=[cluster.id, pool.pk]),
        {f"pool-{pool.pk}-min_size": 4, f"pool-{pool.pk}-max_size": 6,
         f"pool-{pool.pk}-instance_type": "m5.xlarge"},
    )
    assert response.status_code == 302
    pool.refresh_from_db()
    assert (pool.min_size, pool.max_size, pool.desired_size) == (4, 6, 4)


def test_scaling_below_three_workers_once_confirmed_goes_ahead(client, member, cluster):
    pool = cluster.node_pools.get()
    client.force_login(member)
    response = client.post(
        reverse("clusters:pool_scale", args=[cluster.id, pool.pk]),
        {f"pool-{pool.pk}-min_size": 1, f"pool-{pool.pk}-max_size": 1,
         f"pool-{pool.pk}-instance_type": "m5.xlarge", f"pool-{pool.pk}-confirm_small": "on"},
    )
    assert response.status_code == 302
    pool.refresh_from_db()
    assert (pool.min_size, pool.max_size) == (1, 1)


def test_changing_the_instance_type_is_recorded_on_the_pool(client, member, cluster):
    pool = cluster.node_pools.get()
    client.force_login(member)
    client.post(
        reverse("clusters:pool_scale", args=[cluster.id, pool.pk]),
        {f"pool-{pool.pk}-min_size": 3, f"pool-{pool.pk}-max_size": 3,
         f"pool-{pool.pk}-instance_type": "m5.2xlarge"},
    )
    pool.refresh_from_db()
    assert pool.instance_type == "m5.2xlarge"


def test_scaling_past_the_node_quota_is_refused_inline(client, member, cluster, organization):
    organization.max_nodes = 5
    organization.save()
    pool = cluster.node_pools.get()
    client.force_login(member)
    response = client.post(
        reverse("clusters:pool_scale", args=[cluster.id, pool.pk]),
        {f"pool-{pool.pk}-min_size": 3, f"pool-{pool.pk}-max_size": 50,
         f"pool-{pool.pk}-instance_type": "m5.xlarge"},
    )
    assert response.status_code == 422
    pool.refresh_from_db()
    assert pool.max_size == 3


def test_adding_a_pool_creates_it(client, member, cluster):
    client.force_login(member)
    response = client.post(
        reverse("clusters:pool_add", args=[cluster.id]),
        {"add-pool-name": "big", "add-pool-instance_type": "m5.2xlarge",
         "add-pool-min_size": 3, "add-pool-max_size": 5},
    )
    assert response.status_code == 302
    assert cluster.node_pools.filter(name="big", instance_type="m5.2xlarge").exists()


def test_removing_a_pool_marks_it_for_deletion(client, member, cluster):
    extra = NodePoolFactory(cluster=cluster, name="extra", status="running")
    client.force_login(member)
    response = client.post(reverse("clusters:pool_delete", args=[cluster.id, extra.pk]))
    assert response.status_code == 302
    extra.refresh_from_db()
    assert extra.status == Cluster.Status.DELETING


def test_removing_the_last_pool_is_refused_with_a_message(client, member, cluster):
    pool = cluster.node_pools.get()
    client.force_login(member)
    response = client.post(
        reverse("clusters:pool_delete", args=[cluster.id, pool.pk]), follow=True
    )
    assert "last node pool" in response.content.decode()
    pool.refresh_from_db()
    assert pool.status == Cluster.Status.RUNNING


def test_deleting_with_the_right_name_starts_deletion(client, member, cluster):
    client.force_login(member)
    response = client.post(
        reverse("clusters:delete", args=[cluster.id]), {"delete-confirm_name": "payments"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("clusters:list")
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.DELETING
    assert NodePool.objects.filter(cluster=cluster).exists()
