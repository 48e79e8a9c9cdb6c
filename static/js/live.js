// Live pages (templates/monitoring/live.html#ws_connect): htmx's ws extension swaps the pushed
// fragments; this script drops events the page already has, reconnects with ?after=<the newest
// event seen> so the server replays exactly what was missed, and shows "reconnecting…".
(function () {
  "use strict";
  var seen = new Set();
  var newest = {};   // socket path -> newest event id seen on it

  function pathOf(url) { return url.replace(/^wss?:\/\/[^/]+/, "").split("?")[0]; }
  function idsIn(html) {
    var ids = [], re = /data-event-id="(\d+)"/g, m;
    while ((m = re.exec(html)) !== null) { ids.push(parseInt(m[1], 10)); }
    return ids;
  }
  function indicator(elt, show) {
    var box = elt.closest ? elt.closest("[ws-connect]") : null;
    var badge = box && box.querySelector(".live-reconnecting");
    if (badge) { badge.hidden = !show; }
  }

  // Every (re)connection asks for the events after the newest one this page has.
  var create = htmx.createWebSocket;
  htmx.createWebSocket = function (url) {
    var path = pathOf(url), after = newest[path];
    if (after) {
      url = /[?&]after=/.test(url) ? url.replace(/([?&]after=)\d*/, "$1" + after)
                                     : url + (url.indexOf("?") < 0 ? "?" : "&") + "after=" + after;
    }
    return create ? create(url) : new WebSocket(url, []);
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[ws-connect][data-live-after]").forEach(function (elt) {
      newest[pathOf(elt.getAttribute("ws-connect"))] = parseInt(elt.dataset.liveAfter, 10) || 0;
    });
    document.querySelectorAll("[data-event-id]").forEach(function (elt) {
      seen.add(parseInt(elt.dataset.eventId, 10));
    });
  });

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var ids = idsIn(evt.detail.message);
    var fresh = ids.filter(function (id) { return !seen.has(id); });
    if (ids.length && !fresh.length) { evt.preventDefault(); return; }   // a duplicate: drop it
    var path = pathOf(evt.detail.elt.getAttribute("ws-connect") || "");
    ids.forEach(function (id) {
      seen.add(id);
      if (!(newest[path] >= id)) { newest[path] = id; }
    });
  });

  // A message mixing new and already-shown events appends both: keep the first row of each id.
  document.addEventListener("htmx:wsAfterMessage", function () {
    var first = {};
    document.querySelectorAll("li[id^='event-']").forEach(function (row) {
      if (first[row.id]) { row.remove(); } else { first[row.id] = true; }
    });
  });

  document.addEventListener("htmx:wsOpen", function (evt) { indicator(evt.detail.elt, false); });
  document.addEventListener("htmx:wsClose", function (evt) { indicator(evt.detail.elt, true); });
  document.addEventListener("htmx:wsError", function (evt) { indicator(evt.detail.elt, true); });
})();
