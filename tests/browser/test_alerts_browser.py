"""Alerts in Chromium against the real stack: a fault injected in the sandbox AWS, the health poll,
the alert appearing on the open cluster page without a reload, acknowledge and silence in the page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

POLL = """
from clusters.models import Cluster
from monitoring.health import poll_clusters
emit(poll_clusters([Cluster.objects.select_related("organization").get(pk={id!r})]).changed)
"""


@pytest.fixture(scope="module")
def sandbox_cluster(stack, seeded) -> dict:
    """A running cluster whose AWS resources exist in the sandbox, polled once (healthy).

    The samples of the hours before are written straight to the database, as earlier polls would
    have written them (the way test_pages writes a ledger), so the chart has a past to draw.
    """
    return stack.run(
        """
from datetime import timedelta
from django.utils import timezone
from accounts.models import Organization
from clusters.models import Cluster, KubernetesRelease, NodePool
from monitoring.health import poll_clusters
from monitoring.models import NodeCountSample
from tests.monitoring.sandbox import build_sandbox_cluster

org = Organization.objects.get(slug="acme")
cluster = Cluster.objects.create(
    organization=org, name="checkout", release=KubernetesRelease.objects.get(version="1.31.4"),
    availability_zones=["eu-central-1a", "eu-central-1b"], vpc_cidr="10.2.0.0/16",
    status="running",
)
NodePool.objects.create(cluster=cluster, name="default", instance_type="m5.xlarge",
                        min_size=3, max_size=3, desired_size=3, status="running")
sandbox = build_sandbox_cluster(cluster, workers=3)
now = timezone.now()
for hours_ago, desired, in_service in [(20, 3, 3), (15, 4, 3), (14, 4, 4)]:
    NodeCountSample.objects.create(cluster=cluster, at=now - timedelta(hours=hours_ago),
                                   desired=desired, in_service=in_service)
poll_clusters([Cluster.objects.select_related("organization").get(pk=cluster.pk)])
cluster.refresh_from_db()
emit({"id": cluster.id, "health": cluster.health, "alarm": sandbox.alarm_name,
      "worker": sandbox.worker_ids()[0]})
"""
    )


def inject_faults(stack, cluster: dict) -> None:  # noqa: ANN001
    """An ingress alarm goes to ALARM and a worker stops; then the health poll runs."""
    stack.run(
        f"""
from clusters.provisioning.aws import aws_client
aws_client("cloudwatch", "eu-central-1").set_alarm_state(
    AlarmName={cluster["alarm"]!r}, StateValue="ALARM", StateReason="browser test fault")
aws_client("ec2", "eu-central-1").stop_instances(InstanceIds=[{cluster["worker"]!r}])
"""
    )
    assert stack.run(POLL.format(id=cluster["id"])) > 0


def test_an_alert_appears_live_and_is_acknowledged_and_silenced_in_the_page(
    browser, stack, seeded, sandbox_cluster
):
    cluster_id = sandbox_cluster["id"]
    assert sandbox_cluster["health"] == "healthy"
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    page.goto(stack.url(f"/clusters/{cluster_id}/"))
    card = page.locator(f"#cluster-{cluster_id}-monitoring")
    chart = card.get_by_role("img", name=re.compile("Node counts and firing alerts"))
    expect(chart).to_be_visible()
    expect(card).to_contain_text("No firing alerts.")
    page.evaluate("window.__not_reloaded = true")

    inject_faults(stack, sandbox_cluster)

    # The push updates the banner (live.html) and the card refreshes itself from the socket.
    expect(page.locator(f"#cluster-{cluster_id}-alerts")).to_contain_text("3 firing alerts")
    alarm_row = card.locator("tr.alert", has_text="ingress nodes failing health checks")
    pool_row = card.locator("tr.alert", has_text="Node pool default: 2 of 3 nodes in service")
    expect(alarm_row).to_be_visible()
    expect(pool_row).to_be_visible()
    expect(card).to_contain_text("Firing alerts now: 3")  # the chart's description followed

    alarm_row.get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(alarm_row).to_contain_text(f"acknowledged by {seeded['owner']}")
    expect(alarm_row.get_by_role("button", name=re.compile("^Acknowledge"))).to_have_count(0)

    pool_row.get_by_label(re.compile("^Silence .* for$")).select_option(label="1 hour")
    pool_row.get_by_role("button", name=re.compile("^Silence")).click()
    expect(pool_row).to_contain_text("silenced until")
    expect(page.locator(f"#cluster-{cluster_id}-alerts")).to_contain_text("(acknowledged)")
    assert page.evaluate("window.__not_reloaded === true")
    screenshot(page, "cluster-alerts")

    state = stack.run(
        f"""
from monitoring.models import Alert, Silence
alarm = Alert.objects.get(cluster_id={cluster_id!r}, fingerprint="health:alarm/ingress-unhealthy")
silence = Silence.objects.active().get(cluster_id={cluster_id!r})
emit({{"acknowledged_by": alarm.acknowledged_by.email,
       "hours": round((silence.ends_at - silence.starts_at).total_seconds() / 3600, 2),
       "matchers": silence.matchers}})
"""
    )
    assert state["acknowledged_by"] == seeded["owner"]
    assert state["hours"] == 1.0
    assert state["matchers"]["resource"] == "auto_scaling_group/worker/default"

    page.get_by_role("link", name="All alerts of this cluster").first.click()
    page.wait_for_url(re.compile(r"/monitoring/alerts/\?cluster="))
    silences = page.get_by_role("region", name="Active silences")
    expect(silences).to_contain_text("resource=auto_scaling_group/worker/default")
    expect(page.locator("#alerts tr.alert", has_text="Node pool default")).to_contain_text(
        "silenced until"
    )
    screenshot(page, "alerts")
    page.context.close()


def test_a_viewer_sees_the_clusters_alerts_without_buttons(browser, stack, seeded, sandbox_cluster):
    cluster_id = sandbox_cluster["id"]
    stack.run(
        f"""
from monitoring.alerts import fire_alert
from clusters.models import Cluster
fire_alert(Cluster.objects.get(pk={cluster_id!r}), fingerprint="browser:viewer",
           summary="Seen by viewers, changed by members")
"""
    )
    page = sign_in(browser, stack, seeded["viewer"], seeded["password"])
    page.goto(stack.url(f"/clusters/{cluster_id}/"))
    card = page.locator(f"#cluster-{cluster_id}-monitoring")
    expect(card).to_contain_text("Seen by viewers, changed by members")
    for name in ["Acknowledge", "Silence"]:
        expect(card.get_by_role("button", name=re.compile(f"^{name}"))).to_have_count(0)
    page.context.close()


def test_the_owner_sees_the_organizations_members(browser, stack, seeded):
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    page.goto(stack.url("/orgs/acme/members/"))
    members = page.get_by_role("region", name="Members")
    expect(members).to_contain_text(seeded["owner"])
    expect(members).to_contain_text(seeded["viewer"])
    screenshot(page, "organization")
    page.context.close()
