// The chair's console: keyboard shortcuts for the buttons that carry data-key
// (n = volgende, p = vorige, b = scherm op zwart, Enter = besproken en volgende), moving
// agenda items (Alt+ArrowUp/ArrowDown on an item's button, or drag within a section), and
// the SMART checker as the chair types an action. Not while typing in a field, and never
// with a modifier key held (except Alt for moving). Everything also works without script:
// the buttons are ordinary forms.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      var row = event.target && event.target.closest && event.target.closest("li[data-item]");
      var move = row && row.querySelector('button[data-move="' + (event.key === "ArrowUp" ? "op" : "neer") + '"]');
      if (move) { event.preventDefault(); move.click(); }
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName))) { return; }
    var key = event.key === "ArrowRight" ? "n" : event.key === "ArrowLeft" ? "p" : event.key;
    var button = document.querySelector('button[data-key="' + key + '"]');
    if (button) { event.preventDefault(); button.click(); }
  });

  function say(text) {
    var el = document.querySelector("[data-live-status]");
    if (el) { el.textContent = text; }
  }

  // --- drag within a section; the whole new order is posted, with the version seen ---------
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var li = event.target.closest && event.target.closest("ol[data-section] > li[data-item]");
    if (!li) { return; }
    dragged = li;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", li.getAttribute("data-item"));
  });
  document.addEventListener("dragover", function (event) {
    var li = dragged && event.target.closest && event.target.closest("ol[data-section] > li[data-item]");
    if (li && li.parentNode === dragged.parentNode) { event.preventDefault(); }
  });
  document.addEventListener("drop", function (event) {
    var li = dragged && event.target.closest && event.target.closest("ol[data-section] > li[data-item]");
    if (!li || li === dragged || li.parentNode !== dragged.parentNode) { dragged = null; return; }
    event.preventDefault();
    var list = li.parentNode, box = li.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? li.nextSibling : li);
    dragged = null;
    saveOrder(list);
  });
  document.addEventListener("dragend", function () { dragged = null; });

  function saveOrder(list) {
    var form = document.getElementById("volgorde-form");
    if (!form) { return; }
    form.elements.section.value = list.getAttribute("data-section");
    form.elements.order.value = Array.prototype.map.call(list.querySelectorAll(":scope > li[data-item]"),
      function (li) { return li.getAttribute("data-item"); }).join(",");
    post(form).then(function (answer) {
      say(answer.message);
      if (window.netwerkLive) { window.netwerkLive.refresh(); }
    });
  }

  function post(form) {
    return fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                               headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        return response.json().catch(function () { return {ok: false, message: "Opslaan mislukt; laad de pagina opnieuw."}; });
      })
      .catch(function () { return {ok: false, message: "Geen verbinding; probeer het opnieuw."}; });
  }

  // --- the SMART checker as you type ---------------------------------------------------------
  var timer = null, asked = 0;
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (!form) { return; }
    if (form.closest("[data-keep-while-editing]")) { form.setAttribute("data-dirty", ""); }
    if (form.id !== "actie-form") { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { check(form); }, 300);
  });
  document.addEventListener("change", function (event) {
    if (event.target.form && event.target.form.id === "actie-form") { check(event.target.form); }
  });

  // Typed before this script ran (moving on with "n" loads the console anew, and on a busy
  // PC the chair may be typing before the script has arrived): mark and check it now.
  var early = document.getElementById("actie-form");
  if (early && Array.prototype.some.call(early.elements, function (el) {
    return (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type !== "hidden")) && el.value;
  })) {
    if (early.closest("[data-keep-while-editing]")) { early.setAttribute("data-dirty", ""); }
    check(early);
  }

  function check(form) {
    var mine = ++asked;
    var body = new FormData(form);
    fetch(form.getAttribute("data-smart-url"), {method: "POST", body: body, credentials: "same-origin",
                                                headers: {"X-Requested-With": "fetch",
                                                          "X-CSRFToken": body.get("csrf_token") || ""}})
      .then(function (response) { return response.json(); })
      .then(function (verdict) { if (mine === asked) { show(verdict); } })
      .catch(function () { /* the check on saving still holds */ });
  }

  function show(verdict) {
    var box = document.getElementById("smart-uitslag");
    if (!box) { return; }
    box.replaceChildren();
    if (verdict.ok && !verdict.findings.length) {
      var ok = document.createElement("p");
      ok.className = "hint";
      ok.textContent = "SMART: in orde.";
      box.appendChild(ok);
      return;
    }
    var list = document.createElement("ul");
    verdict.findings.forEach(function (finding) {
      var item = document.createElement("li");
      item.className = finding.blocking ? "error" : "hint";
      item.textContent = (finding.letter ? finding.letter + ": " : "") + (finding.blocking ? "" : "Tip: ") + finding.message;
      list.appendChild(item);
    });
    box.appendChild(list);
  }
}());
