import re

import pytest
from django.db import IntegrityError

from clusters.models import Cluster, new_cluster_id
from tests.factories import ClusterFactory, NodePoolFactory


def test_cluster_ids_are_short_and_dns_safe():
    for _ in range(200):
        assert re.fullmatch(r"[a-z][a-z0-9]{4}", new_cluster_id())


@pytest.mark.django_db
def test_two_live_clusters_of_an_org_cannot_share_a_name(organization):
    ClusterFactory(organization=organization, name="prod")
    with pytest.raises(IntegrityError):
        ClusterFactory(organization=organization, name="prod")


@pytest.mark.django_db
def test_a_deleted_cluster_frees_its_name(organization):
    ClusterFactory(organization=organization, name="prod", status=Cluster.Status.DELETED)
    assert ClusterFactory(organization=organization, name="prod").status == Cluster.Status.PENDING


@pytest.mark.django_db
def test_clusters_are_visible_only_to_members_of_their_organization(member, outsider):
    cluster = ClusterFactory(organization=member.memberships.get().organization)
    assert list(Cluster.objects.visible_to(member)) == [cluster]
    assert list(Cluster.objects.visible_to(outsider)) == []


@pytest.mark.django_db
def test_a_pool_cannot_have_min_above_max():
    with pytest.raises(IntegrityError):
        NodePoolFactory(min_size=5, max_size=3)


@pytest.mark.django_db
def test_cluster_dns_names_live_under_the_base_domain(settings):
    settings.HAPPA_BASE_DOMAIN = "k8s.example.com"
    cluster = ClusterFactory(id="x7k2p")
    assert cluster.api_hostname == "api.x7k2p.k8s.example.com"
    assert cluster.ingress_hostname == "ingress.x7k2p.k8s.example.com"
