"""The ops panel: monitoring's models and the cross-organization health view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clusters.models import Cluster
from monitoring.models import Alert
from tests.factories import AlertFactory, ClusterFactory, NotificationChannelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_ops_see_every_organizations_cluster_health_worst_first(
    ops, organization, other_organization
):
    calm = ClusterFactory(organization=organization, name="calm", status="running",
                          health=Cluster.Health.HEALTHY)
    burning = ClusterFactory(organization=other_organization, name="burning", status="running",
                             health=Cluster.Health.UNHEALTHY)
    AlertFactory(cluster=burning)
    AlertFactory(cluster=burning)

    body = ops.get(reverse("admin:monitoring_clusterhealth_changelist")).content.decode()

    assert body.index("burning") < body.index("calm")
    assert calm.id in body


@pytest.mark.parametrize("model", ["alert", "silence", "notificationchannel", "delivery",
                                   "clusteralertreceiver"])
def test_ops_list_pages_of_monitoring_models_load(ops, organization, model):
    AlertFactory(cluster=ClusterFactory(organization=organization))
    NotificationChannelFactory(organization=organization)

    response = ops.get(reverse(f"admin:monitoring_{model}_changelist"))

    assert response.status_code == 200


def test_ops_resolve_alerts_from_the_admin(ops, organization):
    alert = AlertFactory(cluster=ClusterFactory(organization=organization))

    ops.post(reverse("admin:monitoring_alert_changelist"),
             {"action": "resolve_selected", "_selected_action": [alert.pk]})

    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED


def test_customers_cannot_open_the_ops_health_view(client, owner):
    client.force_login(owner)

    response = client.get(reverse("admin:monitoring_clusterhealth_changelist"))

    assert response.status_code == 302  # to the ops login
