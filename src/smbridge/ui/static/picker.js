/* The picker's app: an outbox of actions, each with a requestId made here and kept until
 * the server answers it (a dropped connection loses nothing, a retry never applies twice),
 * the scan field kept focused for the scanner's keyboard wedge, a beep and a vibration on
 * every answer. Plain JavaScript, no build step. */
(function () {
  "use strict";

  var KEY = "smbridge.picker.outbox";
  var RETRY_MAX_MS = 15000;
  var sending = false;
  var retryTimer = null;
  var retryDelay = 1000;
  var audio = null;

  function newRequestId() {
    if (window.crypto && window.crypto.randomUUID) {
      return "ui-" + window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "ui-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function load() {
    try {
      var items = JSON.parse(window.localStorage.getItem(KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }

  function save(items) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(items));
    } catch (e) { /* storage full or disabled: the item stays in memory for this page */ }
  }

  function showOutbox() {
    var box = document.getElementById("pk-outbox");
    if (!box) { return; }
    var count = load().length;
    box.textContent = count ? "Ожидают отправки: " + count + " (повтор при связи)" : "";
  }

  function message(text, kind) {
    var box = document.getElementById("pk-message");
    if (!box) { return; }
    box.textContent = text || "";
    box.className = kind ? "pk-" + kind : "";
  }

  function beep(kind) {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx) {
        audio = audio || new Ctx();
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = kind === "good" ? 1200 : (kind === "warn" ? 660 : 220);
        gain.gain.value = 0.2;
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start();
        osc.stop(audio.currentTime + (kind === "good" ? 0.08 : 0.35));
      }
    } catch (e) { /* no sound on this device */ }
    if (navigator.vibrate) {
      navigator.vibrate(kind === "good" ? 40 : [120, 60, 120]);
    }
  }

  function enqueue(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) { fields[name] = String(value); });
    fields.request_id = newRequestId();
    var items = load();
    items.push({ url: form.getAttribute("action"),  /* form.action is shadowed by an input named "action" */ fields: fields, at: Date.now() });
    save(items);
    showOutbox();
    pump();
  }

  function schedule() {
    if (retryTimer) { return; }
    retryTimer = window.setTimeout(function () { retryTimer = null; pump(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
  }

  function csrfOf(item) {
    if (item.fields.csrf_token) { return item.fields.csrf_token; }
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  /* Send the oldest action; the next one leaves only once it is answered (in order). */
  function pump() {
    if (sending) { return; }
    var items = load();
    if (!items.length) { showOutbox(); return; }
    var item = items[0];
    var body = new URLSearchParams();
    Object.keys(item.fields).forEach(function (name) { body.append(name, item.fields[name]); });
    sending = true;
    fetch(item.url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfOf(item), "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("content-type") || "";
      if (type.indexOf("application/json") === -1) {
        if (response.redirected && response.url.indexOf("/login") !== -1) {
          message("Сессия истекла: войдите снова, действия сохранены", "warn");
          return "keep";
        }
        if (response.status >= 500 || response.status === 429) { return "retry"; }
        return response.text().then(function () {
          return { ok: false, message: "Действие отклонено (" + response.status + ")" };
        });
      }
      if (response.status === 503 || response.status === 502 || response.status === 504) {
        return "retry";
      }
      return response.json();
    }).then(function (answer) {
      sending = false;
      if (answer === "retry" || answer === "keep") {
        if (answer === "retry") { schedule(); }
        showOutbox();
        return;
      }
      retryDelay = 1000;
      var rest = load();
      if (rest.length && rest[0].fields.request_id === item.fields.request_id) { rest.shift(); }
      save(rest);
      showOutbox();
      answered(answer);
      pump();
    }).catch(function () {
      sending = false;  /* no answer: the same requestId goes again */
      message("Нет связи: действие будет отправлено повторно", "warn");
      showOutbox();
      schedule();
    });
  }

  function answered(answer) {
    var kind = answer.ok ? (answer.sound || "good") : "bad";
    beep(kind);
    if (answer.redirect) {
      window.location.assign(answer.redirect);
      return;
    }
    refresh(function () {
      message(answer.message || (answer.ok ? "Готово" : "Действие отклонено"), kind);
      if (answer.needsWeight) {
        var card = document.querySelector("[data-line='" + answer.needsWeight + "']");
        var details = card && card.querySelector("details");
        var weight = card && card.querySelector("[data-test=weight-input]");
        if (details) { details.open = true; }
        if (weight) { weight.focus(); }
      }
    });
  }

  /* Fetch the page again and put its main part in place, keeping the scanner's focus. */
  function refresh(then) {
    if (load().length) { then(); return; }  /* more answers are coming: refresh after them */
    fetch(window.location.href, { credentials: "same-origin" }).then(function (response) {
      return response.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("picker-main");
      var current = document.getElementById("picker-main");
      if (fresh && current) {
        /* A scan being typed while the page was fetched goes on in the fresh field: the
           scanner does not wait for our refresh, and no keystroke may be lost. */
        var typing = current.querySelector("[data-scan-input]");
        var typed = typing ? typing.value : "";
        current.replaceWith(document.importNode(fresh, true));
        bind();
        var field = document.querySelector("[data-scan-input]");
        if (field && typed) { field.value = typed; }
      }
      then();
      focusScan();
    }).catch(function () { then(); });
  }

  function focusScan() {
    var scan = document.querySelector("[data-scan-input]");
    var active = document.activeElement;
    var busy = active && active !== scan && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
    if (scan && !busy) { scan.focus(); }
  }

  function bind() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-outbox]"), function (form) {
      if (form.dataset.bound) { return; }
      form.dataset.bound = "yes";
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (form.hasAttribute("data-scan")) {
          var input = form.querySelector("[data-scan-input]");
          if (!input || !input.value.trim()) { return; }
          enqueue(form);
          input.value = "";
          input.focus();
          return;
        }
        enqueue(form);
        var button = form.querySelector("button[type=submit]");
        if (button) { button.classList.add("pk-pending"); }
      });
    });
    var scan = document.querySelector("[data-scan-input]");
    if (scan && !scan.dataset.bound) {
      scan.dataset.bound = "yes";
      scan.addEventListener("blur", function () { window.setTimeout(focusScan, 300); });
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-substitute-search]"), bindSearch);
    /* A badge scanned on the sign-in page: its Enter moves on to the PIN. */
    var badge = document.querySelector("[data-badge]");
    if (badge && !badge.dataset.bound) {
      badge.dataset.bound = "yes";
      badge.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          var pin = document.querySelector("[data-test=picker-pin]");
          if (pin) { pin.focus(); }
        }
      });
    }
  }

  /* The replacement form: a scanned or typed barcode/SKU or a name finds products of the
   * store's orders; the scanner's Enter searches instead of sending the form. */
  function bindSearch(input) {
    if (input.dataset.bound) { return; }
    input.dataset.bound = "yes";
    var form = input.form;
    var results = form.querySelector("[data-substitute-results]");
    var url = form.getAttribute("action").replace(/\/orders\/.*$/, "/substitutes");
    var timer = null;
    function search() {
      var text = input.value.trim();
      if (text.length < 2 || !results) { return; }
      fetch(url + "?q=" + encodeURIComponent(text), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          results.textContent = "";
          (answer.products || []).forEach(function (product) {
            var button = document.createElement("button");
            button.type = "button";
            button.className = "pk-wide pk-secondary";
            button.setAttribute("data-test", "replace-result");
            button.textContent = product.name + " · " + product.sku;
            button.addEventListener("click", function () {
              form.elements.sku.value = product.sku;
              form.elements.name.value = product.name;
              if (product.price) { form.elements.price.value = product.price; }
              results.textContent = "";
            });
            results.appendChild(button);
          });
        }).catch(function () { /* no search offline: type the substitute in */ });
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); search(); }
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("input, select, textarea, summary, details, a, button")) {
      focusScan();
    }
  });
  window.addEventListener("online", function () { retryDelay = 1000; pump(); });
  window.addEventListener("focus", pump);

  bind();
  showOutbox();
  focusScan();
  pump();
}());
