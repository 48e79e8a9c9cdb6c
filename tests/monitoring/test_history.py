"""Node counts and alerts over time: sampling, retention, the SVG chart and the cluster's card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clusters.models import Cluster
from monitoring.health import poll_clusters
from monitoring.history import build_chart, prune_samples, record_node_counts, step_points
from monitoring.models import Alert, NodeCountSample, Silence
from monitoring.tasks import poll_cluster_health
from tests.factories import AlertFactory, ClusterFactory
from tests.monitoring.sandbox import build_sandbox_cluster

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def cluster(organization):
    return ClusterFactory(organization=organization, status=Cluster.Status.RUNNING)


def samples(cluster: Cluster) -> list[tuple[int, int]]:
    return list(
        NodeCountSample.objects.filter(cluster=cluster)
        .order_by("at", "id")
        .values_list("desired", "in_service")
    )


def sample(cluster: Cluster, at: datetime, desired: int, in_service: int) -> NodeCountSample:
    return NodeCountSample.objects.create(
        cluster=cluster, at=at, desired=desired, in_service=in_service
    )


# --- sampling -----------------------------------------------------------------------------------


def test_recording_the_same_counts_twice_stores_one_sample(cluster):
    first = record_node_counts(cluster, 4, 4)
    second = record_node_counts(cluster, 4, 4)

    assert first is not None
    assert second is None
    assert samples(cluster) == [(4, 4)]


def test_a_change_in_either_count_stores_a_new_sample(cluster):
    record_node_counts(cluster, 4, 4)
    record_node_counts(cluster, 4, 3)
    record_node_counts(cluster, 5, 3)
    record_node_counts(cluster, 5, 3)

    assert samples(cluster) == [(4, 4), (4, 3), (5, 3)]


def test_the_health_poll_samples_aws_counts_only_when_they_change(organization):
    sandbox = build_sandbox_cluster(
        ClusterFactory(organization=organization, status=Cluster.Status.RUNNING), workers=3
    )

    def poll() -> None:
        poll_clusters([Cluster.objects.select_related("organization").get(pk=sandbox.cluster.pk)])

    poll()
    poll()
    assert samples(sandbox.cluster) == [(4, 4)]  # one master and three workers

    sandbox.client("ec2").stop_instances(InstanceIds=sandbox.worker_ids()[:1])
    poll()
    assert samples(sandbox.cluster) == [(4, 4), (4, 3)]


# --- retention ----------------------------------------------------------------------------------


def test_pruning_drops_samples_past_retention_but_keeps_each_clusters_newest(organization):
    busy = ClusterFactory(organization=organization)
    quiet = ClusterFactory(organization=organization)
    sample(busy, NOW - timedelta(days=40), 3, 3)
    sample(busy, NOW - timedelta(days=31), 3, 2)
    sample(busy, NOW - timedelta(days=2), 3, 3)
    sample(quiet, NOW - timedelta(days=50), 2, 2)
    sample(quiet, NOW - timedelta(days=45), 2, 1)

    deleted = prune_samples(now=NOW, retention=timedelta(days=30))

    assert deleted == 3
    assert samples(busy) == [(3, 3)]
    assert samples(quiet) == [(2, 1)]  # still what the quiet cluster's counts are


def test_the_beat_poll_prunes_old_samples(cluster):
    sample(cluster, timezone.now() - timedelta(days=90), 3, 3)
    sample(cluster, timezone.now() - timedelta(days=1), 3, 2)

    outcome = poll_cluster_health()

    assert outcome["pruned_samples"] == 1
    assert samples(cluster) == [(3, 2)]


# --- the chart ----------------------------------------------------------------------------------


def test_step_points_hold_each_value_until_the_next_and_the_last_until_the_end():
    start = NOW - timedelta(hours=24)
    points = step_points(
        [(start, 4), (start + timedelta(hours=12), 2)],
        start=start, end=NOW, maximum=4, top=0, height=100,
    )

    # x runs from 40 to 630 (590 wide): 12 h is the middle, 335.
    assert points == "40,0 335,0 335,50 630,50"


def test_a_sample_from_before_the_period_starts_the_line_at_the_left_edge(cluster):
    sample(cluster, NOW - timedelta(days=3), 4, 4)
    sample(cluster, NOW - timedelta(hours=6), 4, 2)

    chart = build_chart(cluster, "24h", now=NOW)

    assert chart.desired_points == "40,10 482.5,10 630,10"
    assert chart.in_service_points == "40,10 482.5,10 482.5,65 630,65"
    assert [row[1:] for row in chart.node_rows] == [(4, 4), (4, 2)]


def test_firing_alerts_are_counted_from_their_start_and_end_times(cluster):
    AlertFactory(cluster=cluster, starts_at=NOW - timedelta(hours=12),
                 ends_at=NOW - timedelta(hours=6), status=Alert.Status.RESOLVED)
    AlertFactory(cluster=cluster, starts_at=NOW - timedelta(hours=6))
    AlertFactory(cluster=cluster, starts_at=NOW - timedelta(hours=3))
    AlertFactory(cluster=cluster, starts_at=NOW - timedelta(days=3),
                 ends_at=NOW - timedelta(days=2), status=Alert.Status.RESOLVED)  # outside

    chart = build_chart(cluster, "24h", now=NOW)

    assert [count for _, count in chart.alert_rows] == [0, 1, 2]
    assert chart.alert_max == 2
    assert "Firing alerts now: 2; most at once: 2." in chart.summary


def test_the_week_view_reaches_back_seven_days(cluster):
    sample(cluster, NOW - timedelta(days=5), 3, 3)

    day, week = build_chart(cluster, "24h", now=NOW), build_chart(cluster, "7d", now=NOW)

    assert day.desired_points.startswith("40,")  # held from before the day: drawn from its start
    assert week.desired_points.startswith("208.6,")  # 2 of 7 days into the week's 590 units
    assert week.period_label == "7 days"
    assert len(week.x_ticks) == 7  # one per midnight


def test_the_svg_draws_the_points_and_describes_them_in_words(cluster):
    sample(cluster, NOW - timedelta(hours=12), 4, 3)
    chart = build_chart(cluster, "24h", now=NOW)

    html = render_to_string(
        "monitoring/history.html#chart", {"cluster": cluster, "chart": chart, "periods": []}
    )

    assert f'points="{chart.in_service_points}"' in html
    assert "Nodes now: 3 in service of 4 desired" in html  # the <desc>
    assert "<td>4</td><td>3</td>" in html  # the table behind the chart


def test_a_cluster_without_history_says_so_instead_of_drawing(cluster):
    chart = build_chart(cluster, "24h", now=NOW)

    html = render_to_string(
        "monitoring/history.html#chart", {"cluster": cluster, "chart": chart, "periods": []}
    )

    assert chart.is_empty
    assert "No history yet" in html
    assert "<svg" not in html


# --- the cluster page's card --------------------------------------------------------------------


def history_url(cluster: Cluster, period: str = "") -> str:
    url = reverse("monitoring:cluster_history", args=[cluster.id])
    return f"{url}?period={period}" if period else url


def test_another_organizations_cluster_history_is_not_found(client, outsider, cluster):
    client.force_login(outsider)

    assert client.get(history_url(cluster)).status_code == 404


def test_the_card_shows_the_chart_and_firing_alerts_with_actions(client, member, cluster):
    record_node_counts(cluster, 4, 4)
    alert = AlertFactory(cluster=cluster, summary="Ingress nodes failing")
    client.force_login(member)

    body = client.get(history_url(cluster, "7d")).content.decode()

    assert "last 7 days" in body
    assert 'class="series-in-service"' in body
    assert "Ingress nodes failing" in body
    assert reverse("monitoring:acknowledge", args=[alert.id]) in body
    assert reverse("monitoring:silence", args=[alert.id]) in body


def test_a_viewer_sees_the_card_without_buttons(client, viewer, cluster):
    AlertFactory(cluster=cluster, summary="Ingress nodes failing")
    client.force_login(viewer)

    body = client.get(history_url(cluster)).content.decode()

    assert "Ingress nodes failing" in body
    assert "Acknowledge" not in body
    assert "Silence" not in body


@pytest.mark.parametrize("rows", [1, 30])
def test_the_card_costs_the_same_queries_whatever_the_history(
    client, member, cluster, django_assert_num_queries, rows
):
    start = timezone.now() - timedelta(hours=20)
    for n in range(rows):
        sample(cluster, start + timedelta(minutes=10 * n), 4, n % 4)
        AlertFactory(cluster=cluster, starts_at=start + timedelta(minutes=10 * n),
                     acknowledged_by=member, acknowledged_at=timezone.now())
    Silence.objects.create(organization=cluster.organization, cluster=cluster,
                           matchers={"severity": "warning"}, ends_at=timezone.now() + timedelta(1))
    client.force_login(member)
    client.get(history_url(cluster))  # the session's first request also records the session

    # session, user, current membership (middleware), cluster with its organization, the
    # membership check, firing alerts, silences, sample before the period, samples within, alerts.
    with django_assert_num_queries(10):
        response = client.get(history_url(cluster))

    assert response.status_code == 200


def test_acknowledging_from_htmx_answers_with_the_updated_row(client, member, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(member)

    url = reverse("monitoring:acknowledge", args=[alert.id])
    response = client.post(url, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="alert-{alert.id}"')
    assert "acknowledged by member@acme.test" in body
    alert.refresh_from_db()
    assert alert.acknowledged_by == member


def test_silencing_from_htmx_answers_with_the_row_marked_silenced(client, member, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(member)

    response = client.post(
        reverse("monitoring:silence", args=[alert.id]), {"duration": "1h"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "silenced until" in response.content.decode()
    assert Silence.objects.active().filter(cluster=cluster).count() == 1


def test_a_forged_htmx_acknowledge_by_a_viewer_is_refused(client, viewer, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(viewer)

    url = reverse("monitoring:acknowledge", args=[alert.id])
    response = client.post(url, HTTP_HX_REQUEST="true")

    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_alerts_page_marks_silenced_alerts(client, member, cluster):
    alert = AlertFactory(cluster=cluster)
    client.force_login(member)
    client.post(reverse("monitoring:silence", args=[alert.id]), {"duration": "1h"})

    body = client.get(reverse("monitoring:alerts")).content.decode()

    assert "silenced until" in body


def test_the_cluster_page_loads_the_card_from_monitoring(client, member, cluster):
    client.force_login(member)

    body = client.get(reverse("clusters:detail", args=[cluster.id])).content.decode()

    assert f'hx-get="{history_url(cluster)}"' in body
    assert 'hx-trigger="load"' in body
