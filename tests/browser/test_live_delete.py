"""Deleting in the page: the worker tears the cluster down in the sandbox AWS while the list,
never reloaded, follows it to "Deleted"; after a reload it is gone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_live import (
    PROVISIONING_TIMEOUT_MS,
    assert_not_reloaded,
    launch,
    mark_page,
    open_when_running,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def launched(stack, seeded) -> dict[str, str]:
    return {"delete-demo": launch(stack, seeded, "delete-demo")}


def test_a_deleted_cluster_goes_from_the_list(browser, stack, seeded, launched):
    cluster_id = launched["delete-demo"]
    page = open_when_running(browser, stack, seeded, cluster_id)
    page.get_by_label(re.compile("Type the cluster's name")).fill("delete-demo")
    page.get_by_role("button", name="Delete cluster").click()
    page.wait_for_url(stack.url("/clusters/"))
    row_status = page.locator(f"#cluster-{cluster_id}-row-status")
    expect(row_status).to_contain_text("Deleting")
    mark_page(page)
    expect(row_status).to_contain_text("Deleted", timeout=PROVISIONING_TIMEOUT_MS)
    assert_not_reloaded(page)
    page.reload()
    expect(page.locator(f"#cluster-{cluster_id}-row")).to_have_count(0)
    remaining = stack.run(
        "from clusters.models import ResourceRecord\n"
        f"emit(ResourceRecord.objects.filter(cluster_id={cluster_id!r}, deleted_at=None).count())"
    )
    assert remaining == 0
    page.context.close()
