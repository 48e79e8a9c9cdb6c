"""The cluster list page: the current organization's live clusters, searchable and paged."""

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse

from accounts.models import Role
from clusters.models import Cluster
from clusters.provisioning.plan import plan_for
from tests.conftest import member_of
from tests.factories import ClusterFactory, InstanceTypeFactory, NodePoolFactory

pytestmark = pytest.mark.django_db

LIST = reverse("clusters:list")


def test_signed_out_users_are_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_home_sends_signed_in_users_to_the_cluster_list(client, member):
    client.force_login(member)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == LIST


def test_list_shows_the_organizations_clusters_with_their_figures(client, member, organization):
    InstanceTypeFactory(name="m5.xlarge", hourly_price_usd="0.2300")
    cluster = ClusterFactory(organization=organization, name="payments", status="running")
    NodePoolFactory(cluster=cluster, name="default", instance_type="m5.xlarge", desired_size=3)
    client.force_login(member)
    response = client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert "payments" in html
    assert f'id="cluster-{cluster.id}-row-status"' in html
    assert "m5.xlarge" in html
    # The same estimate as the cluster's plan: workers, masters, bastions, NAT gateways, LBs.
    assert f"${intcomma(plan_for(cluster).monthly_cost_usd)}" in html
    assert f"/api/v1/clusters/{cluster.id}/kubeconfig" in html


def test_list_leaves_out_other_organizations_and_deleted_clusters(
    client, member, organization, other_organization
):
    ClusterFactory(organization=other_organization, name="globex-secret")
    ClusterFactory(organization=organization, name="gone-for-good", status=Cluster.Status.DELETED)
    client.force_login(member)
    html = client.get(LIST).content.decode()
    assert "globex-secret" not in html
    assert "gone-for-good" not in html


def test_empty_list_leads_to_create_cluster(client, member):
    client.force_login(member)
    html = client.get(LIST).content.decode()
    assert "No clusters yet" in html
    assert reverse("clusters:create") in html


def test_viewer_sees_no_create_or_delete_buttons(client, viewer, organization):
    ClusterFactory(organization=organization, name="payments")
    client.force_login(viewer)
    html = client.get(LIST).content.decode()
    assert "payments" in html
    assert reverse("clusters:create") not in html
    assert "#delete" not in html


def test_search_finds_clusters_by_name_or_id(client, member, organization):
    wanted = ClusterFactory(organization=organization, name="payments")
    ClusterFactory(organization=organization, name="search-engine")
    client.force_login(member)
    by_name = client.get(LIST, {"q": "pay"}).content.decode()
    by_id = client.get(LIST, {"q": wanted.id}).content.decode()
    assert "payments" in by_name and "search-engine" not in by_name
    assert "payments" in by_id


def test_filter_by_status_shows_only_that_status(client, member, organization):
    ClusterFactory(organization=organization, name="broken", status=Cluster.Status.FAILED)
    ClusterFactory(organization=organization, name="healthy", status=Cluster.Status.RUNNING)
    client.force_login(member)
    html = client.get(LIST, {"status": "failed"}).content.decode()
    assert "broken" in html and "healthy" not in html


def test_sort_by_name_orders_rows_alphabetically(client, member, organization):
    for name in ["charlie", "alpha", "bravo"]:
        ClusterFactory(organization=organization, name=name)
    client.force_login(member)
    html = client.get(LIST, {"sort": "name"}).content.decode()
    assert html.index("alpha") < html.index("bravo") < html.index("charlie")


def test_unknown_filter_values_fall_back_to_defaults(client, member, organization):
    ClusterFactory(organization=organization, name="payments")
    client.force_login(member)
    response = client.get(LIST, {"status": "bogus", "sort": "drop table", "page": "-3"})
    assert response.status_code == 200
    assert "payments" in response.content.decode()


def test_list_pages_25_clusters_at_a_time(client, member, organization):
    ClusterFactory.create_batch(30, organization=organization)
    client.force_login(member)
    first = client.get(LIST).content.decode()
    second = client.get(LIST, {"page": 2}).content.decode()
    assert first.count("-row-status") == 25
    assert second.count("-row-status") == 5
    assert "page 2 of 2" in second


def test_htmx_search_gets_only_the_table(client, member, organization):
    ClusterFactory(organization=organization, name="payments")
    client.force_login(member)
    html = client.get(LIST, {"q": "pay"}, headers={"HX-Request": "true"}).content.decode()
    assert 'id="cluster-table"' in html
    assert "<html" not in html


def test_list_shows_the_current_organization_only_for_members_of_two(
    client, organization, other_organization
):
    user = member_of(organization, Role.MEMBER)
    member_of_other = member_of(other_organization, Role.MEMBER)
    ClusterFactory(organization=other_organization, name="globex-cluster")
    from tests.factories import MembershipFactory

    MembershipFactory(user=member_of_other, organization=organization)
    client.force_login(user)
    assert "globex-cluster" not in client.get(LIST).content.decode()


@pytest.mark.parametrize("size", [5, 60])
def test_list_query_count_does_not_grow_with_clusters(
    client, member, organization, django_assert_num_queries, size
):
    InstanceTypeFactory()
    for cluster in ClusterFactory.create_batch(size, organization=organization):
        NodePoolFactory(cluster=cluster, name="default")
        NodePoolFactory(cluster=cluster, name="big", instance_type="m5.2xlarge")
    client.force_login(member)
    client.get(LIST)  # warm the session and the catalog policy row
    # session, user, membership (middleware), memberships (nav), count, page, pools, firing
    # alerts of the page, prices, last event id
    with django_assert_num_queries(10):
        response = client.get(LIST, {"sort": "name"})
    assert response.status_code == 200


def test_list_counts_only_firing_alerts_of_each_cluster(client, member, organization):
    from monitoring.models import Alert

    noisy = ClusterFactory(organization=organization, name="noisy", status="running")
    quiet = ClusterFactory(organization=organization, name="quiet", status="running")
    for fingerprint, status in [("a", "firing"), ("b", "firing"), ("c", "resolved")]:
        Alert.objects.create(cluster=noisy, organization=organization, fingerprint=fingerprint,
                             summary=fingerprint, status=status)
    Alert.objects.create(cluster=quiet, organization=organization, fingerprint="d",
                         summary="d", status="resolved")
    client.force_login(member)
    html = client.get(LIST).content.decode()
    assert f'?cluster={noisy.id}" class="alert-count">2</a>' in html
    assert f"?cluster={quiet.id}" not in html


@pytest.mark.parametrize("sort", ["newest", "oldest", "name", "-name", "status"])
def test_every_page_in_turn_lists_each_cluster_once_in_order(client, member, organization, sort):
    # Pages past the middle are read from the other end (clusters/views.py _page_of).
    import re

    from clusters.forms import ClusterListFilter

    statuses = ["running", "failed", "creating", "deleted"]
    for i in range(120):  # 90 live: pages 3 and 4 are read backwards, 4 is a short one
        ClusterFactory(organization=organization, name=f"c-{(i * 37) % 120:03d}",
                       status=statuses[i % 4])
    expected = list(
        Cluster.objects.filter(organization=organization).live()
        .order_by(*ClusterListFilter.SORTS[sort]).values_list("id", flat=True)
    )
    client.force_login(member)
    listed = []
    for page in (1, 2, 3, 4):
        html = client.get(LIST, {"sort": sort, "page": page}).content.decode()
        listed += re.findall(r'<tr id="cluster-(\w+)-row">', html)
    assert len(expected) == 90
    assert listed == expected
