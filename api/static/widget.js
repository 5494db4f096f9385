/*! nps-api survey widget 1.0.0 | MIT-style licence of nps-api | no dependencies */
(function (w, d) {
  "use strict";
  if (w.npsWidget && w.npsWidget.version) return;
  var VERSION = "1.0.0", P = "npsw";
  var TEXTS = {
    en: {
      question: "How likely are you to recommend us to a friend or colleague?",
      low: "Not at all likely", high: "Extremely likely",
      detractor: "We are sorry to hear that. What should we do better?",
      passive: "Thank you! What would make it a 10 for you?",
      promoter: "Glad to hear it! What do you like most?",
      next: "Next", send: "Send", close: "Close", label: "Your feedback",
      thanks: "Thank you for your feedback!"
    },
    de: {
      question: "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?",
      low: "Überhaupt nicht wahrscheinlich", high: "Äußerst wahrscheinlich",
      detractor: "Das tut uns leid. Was sollten wir besser machen?",
      passive: "Danke! Was fehlt Ihnen zu einer 10?",
      promoter: "Das freut uns! Was gefällt Ihnen am besten?",
      next: "Weiter", send: "Senden", close: "Schließen", label: "Ihr Feedback",
      thanks: "Vielen Dank für Ihr Feedback!"
    }
  };
  var CSS =
    "." + P + "{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;box-sizing:border-box;" +
    "width:26rem;max-width:calc(100vw - 2rem);padding:1rem 1.25rem;background:#fff;color:#1a1a1a;" +
    "border:1px solid #767676;border-radius:.5rem;box-shadow:0 4px 24px rgba(0,0,0,.2);" +
    "font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    "." + P + " *{box-sizing:border-box;font:inherit;color:inherit}" +
    "." + P + " fieldset{border:0;margin:0;padding:0;min-width:0}" +
    "." + P + " legend,." + P + " label.q{display:block;padding:0 2rem .75rem 0;font-weight:600}" +
    "." + P + "-s{display:grid;grid-template-columns:repeat(11,1fr);gap:.25rem}" +
    "." + P + "-s input{position:absolute;opacity:0;width:1px;height:1px;margin:0}" +
    "." + P + "-s span{display:block;text-align:center;padding:.45rem 0;border:1px solid #767676;" +
    "border-radius:.25rem;cursor:pointer;background:#f7f7f7}" +
    "." + P + "-s input:checked+span{background:#1f4fd1;border-color:#1f4fd1;color:#fff}" +
    "." + P + "-s input:focus-visible+span,." + P + " button:focus-visible,." + P +
    " textarea:focus-visible{outline:3px solid #1f4fd1;outline-offset:2px}" +
    "." + P + "-e{display:flex;justify-content:space-between;gap:1rem;margin:.35rem 0 .75rem;" +
    "font-size:13px;color:#4a4a4a}." + P + "-e span+span{text-align:right}" +
    "." + P + " textarea{display:block;width:100%;min-height:5rem;padding:.5rem;border:1px solid #767676;" +
    "border-radius:.25rem;margin-bottom:.75rem;resize:vertical}" +
    "." + P + " button{cursor:pointer;border-radius:.25rem;border:1px solid #1f4fd1;padding:.5rem 1rem;" +
    "background:#1f4fd1;color:#fff}" +
    "." + P + " button[disabled]{opacity:.6;cursor:default}" +
    "." + P + " ." + P + "-x{position:absolute;top:.5rem;right:.5rem;padding:.1rem .55rem;" +
    "background:#fff;color:#1a1a1a;border-color:#767676;font-size:18px;line-height:1.2}" +
    "." + P + "-t{margin:0;padding-right:2rem;font-weight:600}" +
    "@media (prefers-reduced-motion:no-preference){." + P + "{animation:" + P +
    "-in .25s ease-out}}@keyframes " + P + "-in{from{opacity:0;transform:translateY(1rem)}}";

  var script = d.currentScript || {}, data = script.dataset || {};
  var cfg = {
    key: data.key, survey: data.survey, lang: data.lang, days: +(data.days || 90),
    api: data.api || (script.src ? new URL(script.src, location.href).origin : ""),
    texts: {}, customerId: null, segments: null
  };
  var root = null, sent = false, idem = null, score = null;

  function warn(message) {
    try { console.warn("[nps widget] " + message); } catch (e) { /* no console */ }
  }
  function lang() {
    var l = (cfg.lang || d.documentElement.lang || navigator.language || "en").slice(0, 2);
    return TEXTS[l] ? l : "en";
  }
  function t(name) {
    var own = cfg.texts[lang()] || cfg.texts;
    return typeof own[name] === "string" ? own[name] : TEXTS[lang()][name];
  }
  function storeKey() { return P + ":" + cfg.survey; }
  function snoozed() {
    try {
      var at = +w.localStorage.getItem(storeKey());
      return at > 0 && Date.now() - at < cfg.days * 864e5;
    } catch (e) { return false; }
  }
  function remember() {
    try { w.localStorage.setItem(storeKey(), String(Date.now())); } catch (e) { /* private mode */ }
  }
  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "w" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function el(tag, attrs, text) {
    var node = d.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }
  function category(s) { return s >= 9 ? "promoter" : s >= 7 ? "passive" : "detractor"; }

  function post(body, attempt) {
    return fetch(cfg.api + "/v1/responses", {
      method: "POST", mode: "cors", credentials: "omit",
      headers: {
        "Authorization": "Bearer " + cfg.key, "Content-Type": "application/json",
        "Idempotency-Key": idem
      },
      body: JSON.stringify(body)
    }).then(function (r) {
      if ((r.status >= 500 || r.status === 429) && attempt < 2) throw new Error("HTTP " + r.status);
      if (!r.ok) warn("the answer was not recorded (HTTP " + r.status + ")");
    }).catch(function (e) {
      if (attempt < 2) return new Promise(function (ok) { setTimeout(ok, 1000); })
        .then(function () { return post(body, attempt + 1); });
      warn("the survey API is unreachable: " + (e && e.message));
    });
  }
  function submit(comment) {
    if (sent || score == null) return;
    sent = true;
    remember();
    idem = idem || uuid();
    var body = { survey_id: cfg.survey, score: score, locale: lang() };
    if (comment) body.comment = comment;
    if (cfg.customerId) body.customer_id = String(cfg.customerId);
    if (cfg.segments) body.segments = cfg.segments;
    return post(body, 1);
  }
  function close() {
    if (!root) return;
    if (score != null && !sent) submit("");
    remember();
    root.remove();
    root = null;
  }

  function frame() {
    var box = el("aside", { "class": P, "aria-label": t("label"), lang: lang() });
    var x = el("button", { type: "button", "class": P + "-x", "aria-label": t("close") }, "×");
    x.addEventListener("click", close);
    box.appendChild(x);
    box.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
    return box;
  }
  function stepScore(box) {
    var form = el("form", {}), set = el("fieldset", {}), grid = el("div", { "class": P + "-s" });
    set.appendChild(el("legend", {}, t("question")));
    for (var i = 0; i <= 10; i++) {
      var label = el("label", {});
      var input = el("input", { type: "radio", name: P + "-score", value: String(i) });
      if (i === 0) input.setAttribute("aria-describedby", P + "-lo");
      if (i === 10) input.setAttribute("aria-describedby", P + "-hi");
      label.appendChild(input);
      label.appendChild(el("span", {}, String(i)));
      grid.appendChild(label);
    }
    set.appendChild(grid);
    var ends = el("div", { "class": P + "-e" });
    ends.appendChild(el("span", { id: P + "-lo" }, t("low")));
    ends.appendChild(el("span", { id: P + "-hi" }, t("high")));
    set.appendChild(ends);
    form.appendChild(set);
    var next = el("button", { type: "submit", disabled: "" }, t("next"));
    form.appendChild(next);
    form.addEventListener("change", function () { next.removeAttribute("disabled"); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var chosen = form.querySelector("input:checked");
      if (!chosen) return;
      score = +chosen.value;
      form.remove();
      stepComment(box);
    });
    box.appendChild(form);
  }
  function stepComment(box) {
    var form = el("form", {});
    form.appendChild(el("label", { "for": P + "-c", "class": "q" }, t(category(score))));
    var text = el("textarea", { id: P + "-c", maxlength: "2000" });
    form.appendChild(text);
    var send = el("button", { type: "submit" }, t("send"));
    form.appendChild(send);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send.setAttribute("disabled", "");
      submit(text.value.trim());
      form.remove();
      var thanks = el("p", { "class": P + "-t", role: "status", tabindex: "-1" }, t("thanks"));
      box.appendChild(thanks);
      thanks.focus();
    });
    box.appendChild(form);
    text.focus();
  }
  function open() {
    try {
      if (root) return;
      if (!cfg.key || !cfg.survey) return warn("data-key and data-survey are required");
      if (!d.body) return void d.addEventListener("DOMContentLoaded", open);
      if (!d.getElementById(P + "-css")) {
        var style = el("style", { id: P + "-css" }, CSS);
        d.head.appendChild(style);
      }
      sent = false; idem = null; score = null;
      root = frame();
      stepScore(root);
      d.body.appendChild(root);
    } catch (e) { warn("could not show the survey: " + e.message); }
  }

  w.npsWidget = {
    version: VERSION,
    open: open,
    close: close,
    setCustomer: function (id) { cfg.customerId = id; },
    setSegments: function (segments) { cfg.segments = segments || null; },
    configure: function (o) {
      o = o || {};
      for (var k in o) if (k in cfg) cfg[k] = o[k];
    }
  };
  try { if (data.texts) cfg.texts = JSON.parse(data.texts); } catch (e) { warn("data-texts is not JSON"); }
  w.npsWidget.configure(w.npsWidgetSettings);
  if (data.auto !== "false" && !snoozed()) {
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", open); else open();
  }
})(window, document);
