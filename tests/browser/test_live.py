"""Live paths in Chromium against the real stack: the Celery worker provisions in the sandbox AWS
while the page, never reloaded, follows over its websocket."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

# Provisioning a whole cluster in the sandbox takes the solo worker a while on a busy machine.
PROVISIONING_TIMEOUT_MS = 300_000


def mark_page(page) -> None:  # noqa: ANN001
    """A flag that a reload would wipe: the test checks it is still there at the end."""
    page.evaluate("window.__not_reloaded = true")


def assert_not_reloaded(page) -> None:  # noqa: ANN001
    assert page.evaluate("window.__not_reloaded === true")


def launch(stack, seeded, name: str) -> str:  # noqa: ANN001
    """Launch a cluster through the domain function (as the API would); returns its id."""
    return stack.run(
        f"""
from accounts.models import Organization, User
from clusters.operations import launch_cluster
from clusters.specs import ClusterSpec, NodePoolSpec
org = Organization.objects.get(slug="acme")
owner = User.objects.get(email={seeded["owner"]!r})
cluster = launch_cluster(org, owner, ClusterSpec(name={name!r}, availability_zone_count=2,
                         node_pools=[NodePoolSpec(min_size=3, max_size=3)]))
emit(cluster.id)
"""
    )


def test_a_cluster_created_in_the_form_reaches_running_without_a_reload(browser, stack, seeded):
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    page.get_by_role("link", name="Create cluster").first.click()
    page.get_by_label("Name").fill("live-demo")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("a month", timeout=30_000)
    expect(preview).to_contain_text("nat_gateway")
    screenshot(page, "create-cluster")
    page.get_by_role("button", name="Create cluster").click()
    page.wait_for_url(re.compile(r"/clusters/[a-z0-9]{5}/$"))
    cluster_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    mark_page(page)
    status = page.locator(f"#cluster-{cluster_id}-status")
    expect(status).to_contain_text("Running", timeout=PROVISIONING_TIMEOUT_MS)
    expect(page.locator(f"#cluster-{cluster_id}-events li").first).to_be_visible()
    assert page.locator(f"#cluster-{cluster_id}-events li").count() > 10
    # The diagram followed the ledger: every planned part of the network now exists.
    diagram = page.locator(f"#cluster-{cluster_id}-diagram svg")
    expect(diagram.locator('[data-part="NAT gateway"][data-state="present"]')).to_have_count(2)
    # The pool table followed too: its first pool went from Pending to Running.
    expect(page.locator('#pools [id^="pool-"][id$="-status"]').first).to_have_text("Running")
    assert_not_reloaded(page)
    screenshot(page, "cluster-running")
    page.context.close()


@pytest.fixture(scope="module")
def launched(stack, seeded) -> dict[str, str]:
    """Clusters launched up front, through the domain function (as the API would)."""
    return {name: launch(stack, seeded, name) for name in ("scale-demo",)}


def open_when_running(browser, stack, seeded, cluster_id: str):  # noqa: ANN001, ANN201
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    page.goto(stack.url(f"/clusters/{cluster_id}/"))
    expect(page.locator(f"#cluster-{cluster_id}-status")).to_contain_text(
        "Running", timeout=PROVISIONING_TIMEOUT_MS
    )
    return page


def test_scaling_a_pool_in_the_page_is_applied_and_followed_live(
    browser, stack, seeded, launched
):
    cluster_id = launched["scale-demo"]
    page = open_when_running(browser, stack, seeded, cluster_id)
    pool_form = page.get_by_role("form", name="Scale node pool default")
    pool_form.get_by_label("Min").fill("4")
    pool_form.get_by_label("Max").fill("5")
    pool_form.get_by_role("button", name="Scale").click()
    expect(page.get_by_text("Scaling node pool default.")).to_be_visible()
    expect(page.locator("#pools")).to_contain_text("4 (4–5)")
    mark_page(page)
    expect(page.locator(f"#cluster-{cluster_id}-nodes")).to_contain_text("4 workers")
    expect(page.locator(f"#cluster-{cluster_id}-events")).to_contain_text(
        re.compile("scal", re.I), timeout=PROVISIONING_TIMEOUT_MS
    )
    expect(page.locator(f"#cluster-{cluster_id}-status")).to_contain_text(
        "Running", timeout=PROVISIONING_TIMEOUT_MS
    )
    assert_not_reloaded(page)
    sizes = stack.run(
        "from clusters.models import NodePool\n"
        f"p = NodePool.objects.get(cluster_id={cluster_id!r}, name='default')\n"
        "emit([p.min_size, p.max_size, p.desired_size])"
    )
    assert sizes == [4, 5, 4]
    page.context.close()
