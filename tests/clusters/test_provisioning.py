import pytest

from clusters.models import Cluster, Event, ResourceRecord
from tests.clusters.engine_helpers import (
    assert_exactly_planned,
    client,
    make_cluster,
    reconcile_until_settled,
    sandbox,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


def test_reconcile_brings_a_pending_cluster_to_running_with_exactly_the_planned_resources():
    cluster = make_cluster()
    cluster = reconcile_until_settled(cluster.id)
    assert cluster.status == Cluster.Status.RUNNING, cluster.status_reason
    assert_exactly_planned(cluster)
