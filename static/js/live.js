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

  // The page's cursor: data-live-after, else the ?after= it rendered into ws-connect; and the
  // events it already shows (rows id="event-<id>" or any data-event-id).
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[ws-connect]").forEach(function (elt) {
      var url = elt.getAttribute("ws-connect"), m = /[?&]after=(\d+)/.exec(url);
      newest[pathOf(url)] = parseInt(elt.dataset.liveAfter || (m && m[1]), 10) || 0;
    });
    document.querySelectorAll("[data-event-id]").forEach(function (elt) {
      seen.add(parseInt(elt.dataset.eventId, 10));
    });
    document.querySelectorAll("li[id^='event-']").forEach(function (row) {
      var id = parseInt(row.id.slice(6), 10);
      if (id) { seen.add(id); }
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
