// Live screens (console, projector, participants' live view): "notify, then fetch".
// The element with data-stream names the meeting's event stream (ids only) and
// data-fragment the URL of the screen's own regions; on every event the script fetches
// that URL again (through the server, so through the privacy gate) and swaps the elements
// whose ids data-regions lists. EventSource reconnects by itself and sends Last-Event-ID,
// so the server replays what was missed. Plain JavaScript, no libraries (CSP: 'self').
(function () {
  "use strict";
  var root = document.querySelector("[data-stream]");
  if (!root) { return; }
  var streamUrl = root.getAttribute("data-stream");
  var fragmentUrl = root.getAttribute("data-fragment");
  var regions = (root.getAttribute("data-regions") || "").split(/\s+/).filter(Boolean);
  var statusEl = document.querySelector("[data-live-status]");
  var KINDS = ["live", "current_changed", "item_changed", "decision", "blank", "closed", "agenda_changed",
               "action", "attendance", "projector_revoked", "herladen"];
  var busy = false, again = false, source = null;

  function say(text) { if (statusEl) { statusEl.textContent = text; } }

  // A region the user is typing in is not replaced under their hands (the console's forms).
  function editing(el) {
    if (!el.hasAttribute("data-keep-while-editing")) { return false; }
    var active = document.activeElement;
    if (active && el.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) { return true; }
    return !!el.querySelector("form[data-dirty]");
  }

  function swap(doc) {
    regions.forEach(function (id) {
      var fresh = doc.getElementById(id), old = document.getElementById(id);
      if (!fresh || !old) { return; }
      if (editing(old)) {
        if (fresh.getAttribute("data-item") !== old.getAttribute("data-item")) {
          say("Er staat een ander punt op het scherm; uw formulier hoort nog bij het vorige punt.");
        }
        return;
      }
      old.replaceWith(document.importNode(fresh, true));
    });
    var fresh = doc.querySelector("[data-version]");
    if (fresh) {
      var version = fresh.getAttribute("data-version");
      root.setAttribute("data-version", version);
      document.querySelectorAll('input[name="version"]').forEach(function (input) { input.value = version; });
    }
    document.dispatchEvent(new CustomEvent("netwerk:live-updated"));
  }

  function gone(message) {
    if (source) { source.close(); }
    say(message);
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(fragmentUrl, {credentials: "same-origin", cache: "no-store", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        if (response.status === 404 || response.status === 403) {
          gone("Dit scherm is niet meer beschikbaar (link ingetrokken, verlopen of overleg gesloten).");
          var wall = document.getElementById("wall");
          if (wall) { wall.replaceChildren(); }
          return null;
        }
        if (response.redirected || !response.ok) { gone("Laad de pagina opnieuw (u bent mogelijk uitgelogd)."); return null; }
        return response.text();
      })
      .then(function (text) {
        if (text) { swap(new DOMParser().parseFromString(text, "text/html")); }
      })
      .catch(function () { say("Bijwerken mislukt; het volgende bericht probeert het opnieuw."); })
      .finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  // Clock and item timer (the projector and the console): local time of this PC.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = new Date();
    document.querySelectorAll("[data-clock]").forEach(function (el) {
      el.textContent = pad(now.getHours()) + ":" + pad(now.getMinutes());
    });
    document.querySelectorAll("[data-started]").forEach(function (el) {
      var started = Date.parse(el.getAttribute("data-started"));
      var planned = parseInt(el.getAttribute("data-planned"), 10) || 0;
      if (isNaN(started)) { return; }
      var used = Math.max(0, Math.floor((now.getTime() - started) / 1000));
      el.textContent = Math.floor(used / 60) + ":" + pad(used % 60) + " van " + planned + ":00";
      el.classList.toggle("over", used > planned * 60);
    });
  }
  tick();
  window.setInterval(tick, 1000);
  document.addEventListener("netwerk:live-updated", tick);

  if (!window.EventSource) { say("Deze browser werkt niet live bij; laad de pagina opnieuw om bij te werken."); return; }
  source = new EventSource(streamUrl, {withCredentials: true});
  source.onopen = function () { say("Live verbonden."); };
  source.onerror = function () {
    say(source.readyState === EventSource.CLOSED ? "Verbinding verbroken; laad de pagina opnieuw."
                                                 : "Verbinding weg; opnieuw verbinden…");
  };
  // A decision or action on another item than the one shown changes nothing on this screen:
  // no fetch (each fetch reads through the gate and writes audit entries).
  function onEvent(event) {
    if (event.type === "decision" || event.type === "action") {
      var shown = document.querySelector("[data-shown-item]"), data = {};
      try { data = JSON.parse(event.data); } catch (ignored) { data = {}; }
      if (shown && data.item && data.item !== shown.getAttribute("data-shown-item")) { return; }
    }
    refresh();
  }
  KINDS.forEach(function (kind) { source.addEventListener(kind, onEvent); });
  source.addEventListener("einde", function () {
    gone("De live-verbinding is beëindigd (sessie verlopen, geen toegang meer of link ingetrokken).");
    refresh();
  });
  window.netwerkLive = {refresh: refresh};
}());
