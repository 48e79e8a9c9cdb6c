"""What one pushed event changes on an open cluster page besides its own timeline row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clusters.models import Cluster, Event
from monitoring.live import render_cluster_push
from tests.factories import ClusterFactory, EventFactory, NodePoolFactory

pytestmark = pytest.mark.django_db


def push_for(cluster: Cluster, kind: str) -> str:
    event = EventFactory(cluster=cluster, kind=kind)
    return render_cluster_push(cluster.id, [event])


def test_a_scale_push_updates_each_pools_status_and_size_cells(organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    pool = NodePoolFactory(cluster=cluster, name="workers", desired_size=5, min_size=3,
                           max_size=10, status=Cluster.Status.UPDATING)

    html = push_for(cluster, Event.Kind.SCALE)

    assert (f'<span id="pool-{pool.pk}-status" class="status status-updating" '
            f'hx-swap-oob="true">Updating</span>') in html
    assert f'<span id="pool-{pool.pk}-workers" hx-swap-oob="true">5 ' in html


def test_a_health_push_updates_the_health_text(organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING,
                             health=Cluster.Health.DEGRADED)

    html = push_for(cluster, Event.Kind.HEALTH)

    assert (f'<span id="cluster-{cluster.id}-health" class="health health-degraded" '
            f'hx-swap-oob="true">Health: degraded</span>') in html


def test_a_provisioning_step_does_not_touch_the_health_text(organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)

    assert f"cluster-{cluster.id}-health" not in push_for(cluster, Event.Kind.STEP)


def test_the_cluster_page_shows_health_only_once_the_cluster_runs(client, member, organization):
    creating = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    running = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING,
                             health=Cluster.Health.HEALTHY)
    client.force_login(member)

    creating_page = client.get(reverse("clusters:detail", args=[creating.id])).content.decode()
    running_page = client.get(reverse("clusters:detail", args=[running.id])).content.decode()

    silent = f'<span id="cluster-{creating.id}-health" class="health health-unknown"></span>'
    shown = f'<span id="cluster-{running.id}-health" class="health health-healthy">Health: healthy'
    assert silent in creating_page
    assert shown in running_page


def test_the_pool_table_cells_carry_the_ids_the_pushes_swap(client, member, organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)
    pool = NodePoolFactory(cluster=cluster, status=Cluster.Status.RUNNING)
    client.force_login(member)

    page = client.get(reverse("clusters:detail", args=[cluster.id])).content.decode()

    assert f'<td><span id="pool-{pool.pk}-workers">' in page
    assert f'<td><span id="pool-{pool.pk}-status" class="status status-running">Running' in page


def test_a_step_that_does_not_touch_pools_leaves_the_pool_cells_alone(organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    pool = NodePoolFactory(cluster=cluster)
    event = EventFactory(cluster=cluster, kind=Event.Kind.STEP, step="ensure_subnets")

    html = render_cluster_push(cluster.id, [event])

    assert f"pool-{pool.pk}-status" not in html
    assert f"cluster-{cluster.id}-nodes" not in html


def test_the_node_pool_step_pushes_the_pool_cells(organization):
    cluster = ClusterFactory(organization=organization, status=Cluster.Status.CREATING)
    pool = NodePoolFactory(cluster=cluster, status=Cluster.Status.RUNNING)
    event = EventFactory(cluster=cluster, kind=Event.Kind.STEP, step="ensure_node_pools")

    html = render_cluster_push(cluster.id, [event])

    assert f'<span id="pool-{pool.pk}-status" class="status status-running"' in html
