"""SSO by hand, in Debian's Chromium: the login page's button, the IdP's form, back signed in."""

from __future__ import annotations

import pytest

from accounts.models import IdentityProvider, Membership, Role
from tests.idp.fixtures import (
    IDP_USERS,
    ORG_CLIENT_ID,
    ORG_CLIENT_SECRET,
)

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are
    # still plain synchronous code, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def test_a_person_signs_in_with_the_organizations_provider_in_a_browser(
    page, live_server, organization, oidc_provider
):
    IdentityProvider.objects.create(
        organization=organization,
        name="Acme SSO",
        issuer=oidc_provider.issuer,
        client_id=ORG_CLIENT_ID,
        client_secret=ORG_CLIENT_SECRET,
        group_roles={"platform-admins": Role.ADMIN},
    )
    alice = IDP_USERS["admin"]

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Acme SSO").click()
    page.wait_for_url(f"{oidc_provider.base_url}/login/**")
    page.get_by_label("Username").fill(alice.username)
    page.get_by_label("Password").fill(alice.password)
    page.get_by_role("button", name="Sign in").click()
    # Back on Happa, past the callback: wherever the home page sends a signed-in member.
    page.wait_for_url(lambda url: url.startswith(live_server.url) and "/accounts/" not in url)

    assert alice.email in page.content()
    assert Membership.objects.get(user__email=alice.email).role == Role.ADMIN
