"""A page whose websocket drops while a worker provisions catches up, with no gap and no duplicate.

Another session launches the cluster (as the API or a colleague would); the page, opened on it,
is never reloaded. Mid-way its socket is killed the way a network drop kills it (close code 1006,
"abnormal closure"); htmx's ws extension reconnects and the page asks for what it missed
(`?after=<newest event seen>`). At the end the page shows exactly the cluster's events in the
database, each once, in order.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_live import PROVISIONING_TIMEOUT_MS, launch

pytestmark = pytest.mark.browser

# Keeps every WebSocket the page opens, and offers to drop them all as a network failure would:
# the socket goes away without a closing handshake and its handler sees code 1006.
TRACK_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__opened = 0;
  window.WebSocket = function (url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.__sockets.push(socket);
    socket.addEventListener("open", () => { window.__opened += 1; });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
  window.__dropSockets = () => {
    window.__sockets.splice(0).forEach((socket) => {
      const onclose = socket.onclose;
      socket.onclose = null;
      socket.close();
      if (onclose) { onclose.call(socket, new CloseEvent("close", {code: 1006})); }
    });
  };
})();
"""


def event_ids_on(page, cluster_id: str) -> list[int]:  # noqa: ANN001
    rows = page.locator(f"#cluster-{cluster_id}-events li[id^='event-']")
    return [int(row_id.removeprefix("event-")) for row_id in rows.evaluate_all(
        "rows => rows.map(row => row.id)")]


def test_a_socket_dropped_mid_provisioning_catches_up_with_no_gap_and_no_duplicate(
    browser, stack, seeded
):
    page = sign_in(browser, stack, seeded["owner"], seeded["password"])
    page.context.add_init_script(TRACK_SOCKETS)
    cluster_id = launch(stack, seeded, "reconnect-demo")
    page.goto(stack.url(f"/clusters/{cluster_id}/"))
    page.evaluate("window.__not_reloaded = true")
    status = page.locator(f"#cluster-{cluster_id}-status")
    page.wait_for_function("window.__opened >= 1", timeout=30_000)
    expect(page.locator(f"#cluster-{cluster_id}-progress")).to_contain_text(
        re.compile(r"step [3-9]|step 1\d"), timeout=PROVISIONING_TIMEOUT_MS
    )
    shown_before_drop = len(event_ids_on(page, cluster_id))

    page.evaluate("window.__dropSockets()")
    page.wait_for_function("window.__opened >= 2", timeout=60_000)

    expect(status).to_contain_text("Running", timeout=PROVISIONING_TIMEOUT_MS)
    in_database = stack.run(
        "from clusters.models import Event\n"
        f"emit(list(Event.objects.filter(cluster_id={cluster_id!r}).values_list('id', flat=True)"
        ".order_by('id')))"
    )
    # The last events may still be on their way after the status badge: wait for the tail.
    expect(page.locator(f"#event-{in_database[-1]}")).to_be_attached(timeout=30_000)
    shown = event_ids_on(page, cluster_id)
    assert len(shown) > shown_before_drop
    assert len(shown) == len(set(shown)), "an event is shown twice"
    assert sorted(shown) == in_database, "the page misses events or shows foreign ones"
    assert shown == sorted(shown), "events are out of order"
    assert page.evaluate("window.__not_reloaded === true")
    page.context.close()
