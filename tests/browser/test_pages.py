"""Main paths in Chromium against the real stack: sign in, the pages, and what viewers cannot do."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def running_cluster(stack, seeded) -> dict:
    """A running cluster with one pool and part of its ledger, written straight to the database."""
    return stack.run(
        """
from accounts.models import Organization
from clusters.models import Cluster, KubernetesRelease, NodePool, ResourceRecord, Event
org = Organization.objects.get(slug="acme")
cluster = Cluster.objects.create(
    organization=org, name="payments", release=KubernetesRelease.objects.get(version="1.31.4"),
    availability_zones=["eu-central-1a", "eu-central-1b"], vpc_cidr="10.1.0.0/16",
    status="running", health="healthy",
)
NodePool.objects.create(cluster=cluster, name="default", instance_type="m5.xlarge",
                        min_size=3, max_size=5, desired_size=3, status="running")
for key, kind, aws_id in [
    ("vpc", "vpc", "vpc-0a1b2c3d"), ("subnet/public/eu-central-1a", "subnet", "subnet-01"),
    ("subnet/private/eu-central-1a", "subnet", "subnet-02"),
    ("nat_gateway/eu-central-1a", "nat_gateway", "nat-0f00"),
    ("load_balancer/api", "load_balancer", "arn:aws:elasticloadbalancing:eu-central-1:1:lb/api"),
]:
    ResourceRecord.objects.create(cluster=cluster, key=key, kind=kind, aws_id=aws_id, step="s")
    Event.objects.create(cluster=cluster, organization=org, kind="resource",
                         message=f"Created {key}", aws_id=aws_id)
emit({"id": cluster.id, "name": cluster.name})
"""
    )


def test_a_member_signs_in_with_the_local_account_and_lands_on_the_clusters(
    browser, stack, seeded
):
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    expect(page.get_by_role("heading", name=re.compile("Clusters"))).to_be_visible()
    page.context.close()


def test_a_wrong_password_is_refused_with_a_message(browser, stack, seeded):
    context = browser.new_context()
    page = context.new_page()
    page.goto(stack.url("/"))
    page.get_by_label("Email").fill(seeded["owner"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_text(re.compile("not correct", re.I))).to_be_visible()
    assert "/accounts/login/" in page.url
    context.close()


def test_the_cluster_page_shows_pools_ledger_and_the_drawn_architecture(
    browser, stack, seeded, running_cluster
):
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    page.get_by_role("link", name="payments", exact=True).click()
    expect(page.locator(f"#cluster-{running_cluster['id']}-status")).to_contain_text("Running")
    expect(page.get_by_role("cell", name="vpc-0a1b2c3d")).to_be_visible()
    diagram = page.locator(f"#cluster-{running_cluster['id']}-diagram svg")
    expect(diagram.locator('[data-part="NAT gateway"][data-state="present"]')).to_have_count(1)
    expect(diagram.locator('[data-part="NAT gateway"][data-state="planned"]')).to_have_count(1)
    screenshot(page, "cluster-page")
    page.goto(stack.url("/clusters/"))
    screenshot(page, "cluster-list")
    page.context.close()


def test_deleting_needs_the_clusters_name_typed(browser, stack, seeded, running_cluster):
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    page.goto(stack.url(f"/clusters/{running_cluster['id']}/"))
    page.get_by_label(re.compile("Type the cluster's name")).fill("paymentz")
    page.get_by_role("button", name="Delete cluster").click()
    expect(page.get_by_text("That is not this cluster's name.")).to_be_visible()
    expect(page.locator(f"#cluster-{running_cluster['id']}-status")).to_contain_text("Running")
    page.context.close()


def test_a_viewer_sees_no_mutating_buttons_and_a_forged_post_is_refused(
    browser, stack, seeded, running_cluster
):
    page = sign_in(browser, stack, seeded["viewer"], seeded["password"])
    expect(page.get_by_role("link", name="payments", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Create cluster")).to_have_count(0)
    page.get_by_role("link", name="payments", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("payments"))).to_be_visible()
    for name in ["Delete cluster", "Scale", "Remove pool", "Add pool", "Retry provisioning"]:
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    token = page.context.cookies(stack.base_url)
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    response = page.request.post(
        stack.url(f"/clusters/{running_cluster['id']}/delete/"),
        form={"delete-confirm_name": running_cluster["name"]},
        headers={"X-CSRFToken": csrf, "Referer": stack.url("/clusters/")},
    )
    assert response.status == 403
    status = stack.run(
        f"from clusters.models import Cluster\n"
        f"emit(Cluster.objects.get(pk={running_cluster['id']!r}).status)"
    )
    assert status == "running"
    page.context.close()


def test_the_create_page_offers_recommended_types_and_all_types_on_demand(
    browser, stack, seeded
):
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    page.get_by_role("link", name="Create cluster").first.click()
    expect(page.get_by_label("Name")).to_be_visible()
    expect(page.get_by_text("4 vCPU · 16 GiB")).to_be_visible()
    expect(page.get_by_text("r5.large")).to_be_hidden()
    page.get_by_text(re.compile("Show all types")).click()
    page.get_by_label("Search instance types").fill("c5")
    expect(page.get_by_text("c5.xlarge")).to_be_visible()
    expect(page.get_by_text("r5.large")).to_be_hidden()
    page.get_by_label("Name").fill("ab")
    expect(page.locator("#errors-name")).to_contain_text("at least 3 characters")
    page.context.close()
