"""End to end in Chromium: a person invited by e-mail signs up from the link and joins."""

import re

import pytest
from playwright.sync_api import sync_playwright

from accounts.models import Membership, Role
from tests.factories import TEST_PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def last_link(mailoutbox, pattern: str) -> str:
    for message in reversed(mailoutbox):
        found = re.search(pattern, message.body)
        if found:
            return found.group(0)
    raise AssertionError(f"no mail with a link matching {pattern}")


@pytest.mark.django_db(transaction=True)
def test_an_invited_person_signs_up_from_the_link_confirms_and_joins(
    live_server, organization, owner, mailoutbox, settings
):
    settings.SITE_URL = live_server.url
    # The ORM is not usable while Playwright's event loop runs in this thread: set up before,
    # assert after.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            admin_page = chromium.new_page()
            admin_page.set_default_timeout(15_000)
            admin_page.goto(f"{live_server.url}/accounts/login/")
            admin_page.fill("input[name=login]", "owner@acme.test")
            admin_page.fill("input[name=password]", TEST_PASSWORD)
            admin_page.click("button[type=submit]")
            admin_page.wait_for_url(re.compile(r".*/clusters/$"))
            admin_page.goto(f"{live_server.url}/orgs/acme/members/")
            admin_page.fill("#id_email", "newcomer@example.test")
            admin_page.select_option("#id_role", "admin")
            admin_page.get_by_role("button", name="Send invitation").click()
            admin_page.get_by_text("Invitation sent to newcomer@example.test").wait_for()

            invite_url = last_link(mailoutbox, r"http://\S+/orgs/invitations/[\w-]+/")
            newcomer = chromium.new_context().new_page()
            newcomer.set_default_timeout(15_000)
            newcomer.goto(invite_url)
            newcomer.get_by_role("link", name="Sign up").click()
            newcomer.fill("input[name=email]", "newcomer@example.test")
            newcomer.fill("input[name=password1]", "a-long-enough-passphrase-9")
            newcomer.fill("input[name=password2]", "a-long-enough-passphrase-9")
            newcomer.locator("main button[type=submit]").click()
            newcomer.wait_for_url(re.compile(r".*/accounts/confirm-email/$"))

            newcomer.goto(last_link(mailoutbox, r"http://\S+/accounts/confirm-email/\S+"))
            newcomer.locator("main button[type=submit]").click()
            newcomer.wait_for_url(invite_url)
            newcomer.get_by_role("button", name="Accept and join").click()
            newcomer.get_by_text("Welcome to Acme").wait_for()
            page_text = newcomer.locator("main").inner_text()
        finally:
            chromium.close()
    assert "Welcome to Acme: you are admin." in page_text
    membership = Membership.objects.get(user__email="newcomer@example.test")
    assert (membership.organization, membership.role) == (organization, Role.ADMIN)
