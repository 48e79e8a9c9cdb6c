"""Accessibility and phone layout of the main pages, in Chromium against the real stack.

Each page is checked by the axe-core engine (WCAG 2.1 A and AA rules, contrast included; the
engine ships inside the axe-playwright-python package) and by our own checks of what axe leaves
out or reports only as "needs review": every form control has an accessible name, every image and
SVG has a text alternative or is hidden from assistive technology, the page has one h1, and the
keyboard reaches the page's main action. At a phone's viewport (390×844) no page scrolls sideways
and the top navigation fits on screen with targets big enough to tap.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
MIN_TARGET_PX = 24  # WCAG 2.2 target size (minimum), 2.5.8
TAB_LIMIT = 80

# (page, path or a key of the fixture below, the main action the keyboard must reach)
PAGES = [
    ("cluster list", "/clusters/", "Create cluster"),
    ("create cluster", "/clusters/new/", "Create cluster"),
    ("cluster page", "{cluster_url}", "Delete cluster"),
    ("alerts", "/monitoring/alerts/", "Acknowledge"),
    ("organization settings", "/orgs/acme/settings/", "Save settings"),
    ("members", "/orgs/acme/members/", "Send invitation"),
    ("account", "/orgs/account/", "Save profile"),
    ("sessions", "/orgs/account/sessions/", "Sign out this session"),
]
LOGIN = ("login", "/accounts/login/", "Sign In")

# Our own checks, run in the page. Names follow the accessible-name rules closely enough for our
# markup: <label for>, a wrapping <label>, aria-label, aria-labelledby, title; buttons and links
# are also named by their text (a visually hidden span counts, as it does for screen readers).
UNNAMED_CONTROLS_JS = """
() => {
  const text = (el) => (el.textContent || "").replace(/\\s+/g, " ").trim();
  const named = (el) => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const by = el.getAttribute("aria-labelledby");
    const byText = (id) => document.getElementById(id) && text(document.getElementById(id));
    if (by && by.split(/\\s+/).some(byText)) return true;
    if (el.labels && Array.from(el.labels).some((l) => text(l))) return true;
    if ((el.getAttribute("title") || "").trim()) return true;
    if (el.matches("button, a[href], summary") && text(el)) return true;
    if (el.matches("input[type=submit], input[type=button]") && el.value) return true;
    return false;
  };
  const controls = document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button, a[href], summary"
  );
  return Array.from(controls).filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 160));
}
"""

IMAGES_WITHOUT_TEXT_JS = """
() => {
  const hidden = (el) => el.closest("[aria-hidden=true]") !== null;
  const bad = [];
  for (const img of document.querySelectorAll("img")) {
    if (!hidden(img) && img.getAttribute("alt") === null) bad.push(img.outerHTML.slice(0, 160));
  }
  for (const svg of document.querySelectorAll("svg")) {
    if (hidden(svg) || svg.parentElement.closest("svg")) continue;
    const title = svg.querySelector(":scope > title");
    const label = svg.getAttribute("aria-label") || svg.getAttribute("aria-labelledby");
    if (svg.getAttribute("role") !== "img" || !(label || (title && title.textContent.trim())))
      bad.push(svg.outerHTML.slice(0, 160));
  }
  return bad;
}
"""

FOCUSED_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const r = el.getBoundingClientRect();
  return {
    name: (el.getAttribute("aria-label") || el.textContent || el.value || "")
      .replace(/\\s+/g, " ").trim(),
    visible: r.width > 0 && r.height > 0,
  };
}
"""

# What sticks out past the right edge, outermost first, for the failure message.
WIDE_ELEMENTS_JS = """
() => {
  const right = (el) => el.getBoundingClientRect().right;
  const out = (el) => el && right(el) > window.innerWidth + 0.5;
  return Array.from(document.querySelectorAll("body *"))
    .filter((el) => out(el) && !out(el.parentElement))
    .slice(0, 8)
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(right(el))} px)`);
}
"""

NAV_TARGETS_JS = """
() => Array.from(document.querySelectorAll(
    "header.topbar a, header.topbar button, header.topbar select"))
  .map((el) => { const r = el.getBoundingClientRect();
    return {name: (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 40),
            left: r.left, right: r.right, top: r.top, width: r.width, height: r.height,
            hidden: el.closest(".skip") !== null}; })
  .filter((t) => !t.hidden)
"""


@pytest.fixture(scope="module")
def a11y_cluster(stack, seeded) -> dict:
    """A running cluster with a pool, part of its ledger and a firing alert."""
    return stack.run(
        """
from accounts.models import Organization
from clusters.models import Cluster, Event, KubernetesRelease, NodePool, ResourceRecord
from monitoring.models import Alert
org = Organization.objects.get(slug="acme")
cluster = Cluster.objects.create(
    organization=org, name="storefront-a11y",
    release=KubernetesRelease.objects.get(version="1.31.4"),
    availability_zones=["eu-central-1a", "eu-central-1b"], vpc_cidr="10.9.0.0/16",
    status="running", health="degraded",
)
NodePool.objects.create(cluster=cluster, name="default", instance_type="m5.xlarge",
                        min_size=3, max_size=5, desired_size=3, status="running")
for key, kind, aws_id in [("vpc", "vpc", "vpc-0a11y0001"),
                          ("subnet/public/eu-central-1a", "subnet", "subnet-0a11y01")]:
    ResourceRecord.objects.create(cluster=cluster, key=key, kind=kind, aws_id=aws_id, step="s")
    Event.objects.create(cluster=cluster, organization=org, kind="resource",
                         message=f"Created {key}", aws_id=aws_id)
Alert.objects.create(cluster=cluster, organization=org, fingerprint="a11y-api",
                     summary="Kubernetes API answers slowly", severity="warning")
emit({"id": cluster.id, "url": cluster.get_absolute_url()})
"""
    )


@pytest.fixture(scope="module")
def desktop(browser, stack, seeded):
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def phone(browser, stack, seeded):
    # Not is_mobile: mobile emulation zooms out to fit wide content, which widens innerWidth too
    # and would hide the very overflow this checks for.
    context = browser.new_context(viewport=PHONE, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(stack.url("/accounts/login/"))
    page.get_by_label("Email").fill(seeded["owner"])
    page.get_by_label("Password").fill(seeded["password"])
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(stack.url("/clusters/"))
    yield page
    context.close()


@pytest.fixture(scope="module")
def signed_out(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def open_page(page, stack, path: str, a11y_cluster: dict) -> None:  # noqa: ANN001
    response = page.goto(stack.url(path.format(cluster_url=a11y_cluster["url"])))
    assert response is not None
    assert response.status == 200, f"{path}: HTTP {response.status}"
    page.wait_for_load_state("networkidle")


def assert_accessible(page, name: str) -> None:  # noqa: ANN001
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"
    assert page.evaluate(UNNAMED_CONTROLS_JS) == [], f"{name}: form controls without a name"
    assert page.evaluate(IMAGES_WITHOUT_TEXT_JS) == [], f"{name}: images without a text"
    assert page.locator("h1").count() == 1, f"{name}: not exactly one h1"


def tab_to(page, action: str) -> list[str]:  # noqa: ANN001
    """Press Tab from the top of the page until `action` has focus; returns the names passed."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); "
                  "window.scrollTo(0, 0); }")
    page.locator("body").focus()
    passed = []
    for _ in range(TAB_LIMIT):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused is None:
            continue
        passed.append(focused["name"])
        # A button may carry a hidden object for screen readers: "Acknowledge <alert summary>".
        if focused["name"] == action or focused["name"].startswith(f"{action} "):
            assert focused["visible"], f"{action} has focus but is not visible"
            return passed
    raise AssertionError(f"Tab never reached {action!r} in {TAB_LIMIT} presses: {passed}")


@pytest.mark.parametrize(("name", "path", "action"), PAGES, ids=[p[0] for p in PAGES])
def test_each_signed_in_page_passes_axe_and_names_every_control(
    desktop, stack, a11y_cluster, name, path, action
):
    open_page(desktop, stack, path, a11y_cluster)
    assert_accessible(desktop, name)


def test_the_login_page_passes_axe_and_names_every_control(signed_out, stack):
    name, path, _ = LOGIN
    signed_out.goto(stack.url(path))
    assert_accessible(signed_out, name)


@pytest.mark.parametrize(("name", "path", "action"), PAGES, ids=[p[0] for p in PAGES])
def test_the_keyboard_reaches_each_pages_main_action(
    desktop, stack, a11y_cluster, name, path, action
):
    open_page(desktop, stack, path, a11y_cluster)
    passed = tab_to(desktop, action)
    assert passed[0] == "Skip to content", f"{name}: the first Tab stop is {passed[0]!r}"


def test_the_keyboard_reaches_sign_in_on_the_login_page(signed_out, stack):
    signed_out.goto(stack.url(LOGIN[1]))
    passed = tab_to(signed_out, LOGIN[2])
    assert passed[0] == "Skip to content", passed
    # The form comes before its button, in reading order: the password field's own help link.
    assert passed.index("Forgot your password?") < len(passed) - 1, passed


def test_the_skip_link_moves_focus_past_the_navigation(desktop, stack, a11y_cluster):
    open_page(desktop, stack, "/clusters/", a11y_cluster)
    tab_to(desktop, "Skip to content")
    expect(desktop.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    desktop.keyboard.press("Enter")
    assert desktop.url.endswith("#main")
    desktop.keyboard.press("Tab")
    focused = desktop.evaluate(
        "() => document.querySelector('main').contains(document.activeElement)"
    )
    assert focused, "after the skip link, Tab should land inside <main>"


def assert_fits_the_phone(page, name: str) -> None:  # noqa: ANN001
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["inner"] == PHONE["width"], widths
    assert widths["scroll"] <= widths["inner"], (
        f"{name}: scrolls sideways {widths}: {page.evaluate(WIDE_ELEMENTS_JS)}"
    )
    targets = page.evaluate(NAV_TARGETS_JS)
    assert targets, f"{name}: no top navigation"
    for target in targets:
        assert target["width"] > 0, f"{name}: {target['name']} is not shown"
        assert target["left"] >= 0, f"{name}: {target['name']} starts off screen"
        assert target["right"] <= PHONE["width"], f"{name}: {target['name']} ends off screen"
        assert target["height"] >= MIN_TARGET_PX, f"{name}: {target['name']} is too small to tap"


@pytest.mark.parametrize(("name", "path", "action"), PAGES, ids=[p[0] for p in PAGES])
def test_no_page_scrolls_sideways_on_a_phone_and_the_navigation_fits(
    phone, stack, a11y_cluster, name, path, action
):
    open_page(phone, stack, path, a11y_cluster)
    assert_fits_the_phone(phone, name)
    if name == "cluster list":
        screenshot(phone, "phone-cluster-list")
    if name == "cluster page":
        screenshot(phone, "phone-cluster-page")


def test_the_login_page_fits_a_phone(browser, stack):
    context = browser.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    page.goto(stack.url(LOGIN[1]))
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["inner"] == PHONE["width"], widths
    assert widths["scroll"] <= widths["inner"], widths
    context.close()


def test_the_phone_navigation_takes_a_member_to_the_alerts(phone, stack, a11y_cluster):
    open_page(phone, stack, "/clusters/", a11y_cluster)
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").tap()
    phone.wait_for_url(stack.url("/monitoring/alerts/"))
    expect(phone.get_by_role("heading", level=1)).to_be_visible()


BROKEN_PAGE = """<!doctype html><html lang="en"><head><title>Broken</title></head><body>
<header class="topbar"><a href="#">x</a></header>
<main><h1>One</h1><h1>Two</h1>
<input type="text" name="unnamed">
<svg width="20" height="20"><circle cx="10" cy="10" r="9"/></svg>
<p style="color:#999;background:#fff">Pale text</p>
<div style="width:900px">Too wide for a phone</div></main></body></html>"""


def test_the_checks_catch_a_broken_page(browser):
    """The checks above can fail: a page with each fault is caught by each of them."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_content(BROKEN_PAGE)
    violations = {v["id"] for v in Axe().run(page, options=WCAG_AA).response["violations"]}
    assert {"label", "color-contrast"} <= violations
    assert page.evaluate(UNNAMED_CONTROLS_JS) == ['<input type="text" name="unnamed">']
    assert len(page.evaluate(IMAGES_WITHOUT_TEXT_JS)) == 1
    with pytest.raises(AssertionError, match="scrolls sideways"):
        assert_fits_the_phone(page, "broken")
    page.set_content(BROKEN_PAGE.replace('<div style="width:900px">Too wide for a phone</div>', ""))
    with pytest.raises(AssertionError, match="too small to tap"):
        assert_fits_the_phone(page, "broken")
    with pytest.raises(AssertionError, match="Tab never reached"):
        tab_to(page, "Create cluster")
    context.close()
