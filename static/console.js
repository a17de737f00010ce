// The chair's console: keyboard shortcuts for the buttons that carry data-key
// (n = volgende, p = vorige, b = scherm op zwart, Enter = besproken en volgende).
// Not while typing in a field, and never with a modifier key held.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName))) { return; }
    var key = event.key === "ArrowRight" ? "n" : event.key === "ArrowLeft" ? "p" : event.key;
    var button = document.querySelector('button[data-key="' + key + '"]');
    if (button) { event.preventDefault(); button.click(); }
  });
}());
