/*
 * contactcenter web chat widget. One file, no dependencies, no CDN.
 *
 * Embed:  <script src="https://support.example.com/widget.js" async></script>
 * Optional, before it: window.ContactCenterChat = {title: "Help",
 *   user: {user_id, email, name, user_hash}}  (user_hash from your back end).
 *
 * It speaks Socket.IO v5 over Engine.IO v4 on a plain WebSocket itself:
 * "0{..}" open, "2"/"3" ping/pong, "40{auth}" connect, "42[..]" events,
 * "42<id>[..]"/"43<id>[..]" acks, "44{..}" connect_error, "41" disconnect.
 * Messages are shown with textContent, never as HTML.
 */
(function () {
  "use strict";
  if (window.__contactcenterChatLoaded) return;
  window.__contactcenterChatLoaded = true;

  var script = document.currentScript;
  var base = new URL(script && script.src ? script.src : "/widget.js", location.href);
  var settings = window.ContactCenterChat || {};
  var title = (script && script.getAttribute("data-title")) || settings.title || "Chat with us";
  var user = settings.user && settings.user.user_id ? settings.user : null;
  var KEY = "contactcenter-chat:" + base.origin + (user ? ":user:" + user.user_id : "");
  var ACTION_TEXT = { yes: "Yes", no: "No", human: "Talk to a human" };

  // ---- persistence: token and unsent messages ---------------------------------------
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  var saved = load();
  var state = {
    token: user ? null : saved.token || null,
    lastId: 0,  // per page: a fresh page asks for the whole history
    outbox: Array.isArray(saved.outbox) ? saved.outbox : [],
    conversationId: null,
  };
  function save() {
    try {
      localStorage.setItem(KEY, JSON.stringify({
        token: state.token, outbox: state.outbox,
      }));
    } catch (e) { /* storage blocked: the chat still works for this page */ }
  }
  function newId() {
    var a = new Uint8Array(9);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return "c" + Array.prototype.map.call(a, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // ---- the Socket.IO link -------------------------------------------------------------
  function Link(handlers) {
    this.h = handlers;
    this.ws = null;
    this.ready = false;
    this.attempt = 0;
    this.acks = {};
    this.nextAck = 1;
    this.timer = null;
    this.pingTimer = null;
    this.stopped = false;
  }
  Link.prototype.url = function () {
    var u = new URL("/socket.io/", base);
    u.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    u.search = "?EIO=4&transport=websocket";
    return u.toString();
  };
  Link.prototype.open = function () {
    var self = this;
    clearTimeout(this.timer);
    if (this.stopped) return;
    var ws;
    try { ws = new WebSocket(this.url()); } catch (e) { this.retry(); return; }
    this.ws = ws;
    ws.onmessage = function (ev) { if (ws === self.ws) self.packet(String(ev.data)); };
    ws.onclose = function () { if (ws === self.ws) self.lost(); };
    ws.onerror = function () { /* onclose follows */ };
  };
  Link.prototype.raw = function (s) {
    if (this.ws && this.ws.readyState === 1) { this.ws.send(s); return true; }
    return false;
  };
  Link.prototype.alive = function (ms) {
    var self = this;
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(function () { if (self.ws) self.ws.close(); }, ms);
  };
  Link.prototype.packet = function (data) {
    var type = data.charAt(0);
    if (type === "0") {                      // Engine.IO open
      var info = JSON.parse(data.slice(1));
      this.pingWindow = (info.pingInterval || 25000) + (info.pingTimeout || 20000);
      this.alive(this.pingWindow);
      this.raw("40" + JSON.stringify(this.h.auth()));
    } else if (type === "2") {               // ping -> pong
      this.raw("3");
      this.alive(this.pingWindow || 45000);
    } else if (type === "1") {               // Engine.IO close
      this.ws.close();
    } else if (type === "4") {               // a Socket.IO packet
      this.socketPacket(data.slice(1));
    }
  };
  Link.prototype.socketPacket = function (p) {
    var kind = p.charAt(0), rest = p.slice(1);
    if (kind === "0") {                       // connected
      this.ready = true;
      this.attempt = 0;
      this.h.connected();
    } else if (kind === "1") {                // disconnected by the server
      this.ready = false;
      if (this.ws) this.ws.close();
    } else if (kind === "2" || kind === "3") { // event or ack
      var m = /^(\d*)([\s\S]*)$/.exec(rest);
      var args;
      try { args = JSON.parse(m[2]); } catch (e) { return; }
      if (!Array.isArray(args)) return;
      if (kind === "2") {
        this.h.event(String(args[0]), args[1]);
      } else {
        var cb = this.acks[m[1]];
        delete this.acks[m[1]];
        if (cb) cb(args[0]);
      }
    } else if (kind === "4") {                // connect_error
      var err = {};
      try { err = JSON.parse(rest) || {}; } catch (e) { /* keep {} */ }
      var detail = err.data || { code: "refused", message: err.message || "refused" };
      this.ready = false;
      var again = this.h.refused(detail);
      this.stopped = again === false;
      if (this.ws) this.ws.close();
    }
  };
  Link.prototype.emit = function (event, data, ack) {
    if (!this.ready) return false;
    var id = "";
    if (ack) { id = String(this.nextAck++); this.acks[id] = ack; }
    return this.raw("42" + id + JSON.stringify([event, data]));
  };
  Link.prototype.lost = function () {
    var pending = this.acks;
    this.ws = null;
    this.ready = false;
    this.acks = {};
    clearTimeout(this.pingTimer);
    Object.keys(pending).forEach(function (k) { pending[k]({ error: { code: "disconnected" } }); });
    this.h.disconnected();
    this.retry();
  };
  Link.prototype.retry = function (after) {
    if (this.stopped) return;
    var self = this;
    // Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... 30 s.
    var ceiling = Math.min(30000, 500 * Math.pow(2, this.attempt++));
    var delay = after || ceiling / 2 + Math.random() * ceiling / 2;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.open(); }, delay);
  };

  // ---- the user interface ---------------------------------------------------------------
  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;min-width:56px;height:56px;",
    "border-radius:28px;border:0;padding:0 20px;background:#1f4fd1;color:#fff;font-size:16px;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible{",
    "outline:3px solid #ffbf47;outline-offset:2px}",
    ".badge{display:inline-block;margin-left:8px;min-width:20px;padding:1px 6px;border-radius:10px;",
    "background:#d4351c;color:#fff;font-size:12px}",
    ".badge[hidden]{display:none}",
    ".panel{position:fixed;right:20px;bottom:88px;z-index:2147483001;width:370px;max-width:calc(100vw - 40px);",
    "height:560px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;",
    "color:#0b0c0c;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:12px 16px;",
    "background:#1f4fd1;color:#fff}",
    "h2{margin:0;font-size:17px}",
    ".close{background:transparent;border:0;color:#fff;font-size:24px;line-height:1;cursor:pointer;",
    "width:40px;height:40px}",
    ".status{padding:4px 16px;font-size:13px;background:#fff7d6;color:#594d00}",
    ".status:empty{display:none}",
    ".log{flex:1;overflow-y:auto;padding:12px;background:#f6f7f9;margin:0;list-style:none}",
    ".msg{max-width:85%;margin:6px 0;padding:8px 12px;border-radius:12px;background:#fff;",
    "border:1px solid #dde1e6;white-space:pre-wrap;overflow-wrap:anywhere;font-size:15px}",
    ".msg.customer{margin-left:auto;background:#1f4fd1;color:#fff;border-color:#1f4fd1}",
    ".msg.system,.note{max-width:100%;text-align:center;background:transparent;border:0;",
    "color:#505a5f;font-size:13px}",
    ".who{display:block;font-size:12px;font-weight:600;margin-bottom:2px}",
    ".meta{display:block;font-size:11px;opacity:.75;margin-top:4px}",
    ".msg.failed{background:#fbe9e7;color:#6b1b0f;border-color:#d4351c}",
    ".links{margin:6px 0 0;padding-left:18px}",
    ".links a{color:inherit}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;padding:6px 12px;background:#f6f7f9}",
    ".quick:empty{display:none}",
    ".quick button,.csat button{border:1px solid #1f4fd1;background:#fff;color:#1f4fd1;",
    "border-radius:16px;padding:6px 12px;font-size:14px;cursor:pointer;min-height:36px}",
    ".typing{padding:2px 16px;font-size:13px;color:#505a5f;min-height:18px}",
    "form.send{display:flex;gap:8px;padding:10px;border-top:1px solid #dde1e6}",
    "textarea{flex:1;resize:none;height:44px;max-height:120px;padding:10px;font-size:15px;",
    "border:1px solid #6f777b;border-radius:8px}",
    "form.send button{border:0;border-radius:8px;background:#1f4fd1;color:#fff;padding:0 16px;",
    "font-size:15px;cursor:pointer}",
    ".fs{border:0;margin:0;padding:0}",
    ".csat{margin:8px 0;padding:10px;background:#fff;border:1px solid #dde1e6;border-radius:8px}",
    ".csat legend{font-size:14px;font-weight:600;padding:0}",
    ".csat .scale{display:flex;gap:6px;margin:8px 0}",
    ".csat button[aria-pressed=true]{background:#1f4fd1;color:#fff}",
    ".csat textarea{width:100%;height:56px}",
    ".sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;",
    "clip:rect(0 0 0 0);border:0;white-space:nowrap}",
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100%;",
    "max-height:100%;border-radius:0}.launcher{right:12px;bottom:12px}}",
    "@media (prefers-reduced-motion:no-preference){.panel{transition:opacity .15s}}",
  ].join("");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    if (text != null) e.textContent = String(text);  // text, never HTML
    return e;
  }

  var host = el("div", { id: "contactcenter-chat" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) { root.appendChild(el("style", null, CSS)); }
  } else {
    root.appendChild(el("style", null, CSS));
  }

  var launcher = el("button", {
    class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "cc-panel",
    "aria-label": "Open chat",
  }, "Chat");
  var badge = el("span", { class: "badge", hidden: "" });
  launcher.appendChild(badge);
  var panel = el("section", {
    class: "panel", id: "cc-panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "cc-title", hidden: "",
  });
  var header = el("header");
  header.appendChild(el("h2", { id: "cc-title" }, title));
  var closeBtn = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "\u00d7");
  header.appendChild(closeBtn);
  var status = el("div", { class: "status", role: "status", "aria-live": "polite" });
  var log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  var typingLine = el("div", { class: "typing", "aria-live": "polite" });
  var quick = el("div", { class: "quick", role: "group", "aria-label": "Quick replies" });
  var form = el("form", { class: "send" });
  var label = el("label", { for: "cc-input", class: "sr" }, "Message");
  var input = el("textarea", {
    id: "cc-input", rows: "1", maxlength: "4000", placeholder: "Write a message\u2026",
    autocomplete: "off",
  });
  var sendBtn = el("button", { type: "submit" }, "Send");
  form.appendChild(label); form.appendChild(input); form.appendChild(sendBtn);
  [header, status, log, typingLine, quick, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher);
  root.appendChild(panel);

  var unread = 0;
  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat" +
      (unread ? " (" + unread + " new)" : ""));
    if (open) {
      unread = 0; badge.hidden = true;
      input.focus();
      log.scrollTop = log.scrollHeight;
    }
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeBtn.addEventListener("click", function () { setOpen(false); launcher.focus(); });
  panel.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { setOpen(false); launcher.focus(); }
  });

  var byId = {};      // server id -> element
  var byClient = {};  // client id -> element

  function timeOf(iso) {
    var d = iso ? new Date(iso) : new Date();
    var t = el("time", { datetime: d.toISOString() },
      d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    return t;
  }
  function whoLabel(m) {
    if (m.author === "customer") return "You";
    if (m.author === "agent") return m.author_name || "Agent";
    if (m.author === "bot") return "Bot";
    return "";
  }
  function scroll() { log.scrollTop = log.scrollHeight; }
  function note(text) {
    var li = el("li", { class: "note" }, text);
    log.appendChild(li); scroll();
    return li;
  }

  function render(m) {
    if (m.id && byId[m.id]) return byId[m.id];
    var li = m.client_id && byClient[m.client_id];
    var fresh = !li;
    if (fresh) {
      li = el("li", { class: "msg " + (m.author || "system") });
      li.appendChild(el("span", { class: "who" }, whoLabel(m)));
      li.appendChild(el("span", { class: "text" }, m.text));
      var meta = el("span", { class: "meta" });
      meta.appendChild(timeOf(m.created_at));
      li.appendChild(meta);
      if (m.suggestions && m.suggestions.length) {
        var ul = el("ul", { class: "links" });
        m.suggestions.forEach(function (s) {
          if (!s.url || !/^https?:\/\//.test(s.url)) return;
          var a = el("a", { href: s.url, target: "_blank", rel: "noopener noreferrer" }, s.title || s.url);
          var item = el("li"); item.appendChild(a); ul.appendChild(item);
        });
        if (ul.childNodes.length) li.appendChild(ul);
      }
      log.appendChild(li);
      if (m.client_id) byClient[m.client_id] = li;
    }
    if (m.id) {
      byId[m.id] = li;
      li.setAttribute("data-id", String(m.id));
      li.classList.remove("pending", "failed");
      var state_ = li.querySelector(".state");
      if (state_) state_.remove();
    }
    // Quick replies belong to the newest message. The ack of a message already on
    // screen may arrive after the bot's answer to it, and must not clear its buttons.
    if (fresh) showQuick(m.author === "customer" ? [] : m.actions || []);
    if (m.author === "agent") typingLine.textContent = "";
    scroll();
    return li;
  }
  function showQuick(actions) {
    while (quick.firstChild) quick.removeChild(quick.firstChild);
    actions.forEach(function (a) {
      var id = typeof a === "string" ? a : a.id;
      var text = (a && a.label) || ACTION_TEXT[id] || id;
      var b = el("button", { type: "button" }, text);
      b.addEventListener("click", function () { submit(text); input.focus(); });
      quick.appendChild(b);
    });
  }
  function seen(id) {
    if (typeof id === "number" && id > state.lastId) { state.lastId = id; save(); }
  }

  function pendingElement(item) {
    var li = render({ author: "customer", text: item.text, client_id: item.id });
    if (!li.getAttribute("data-id")) {
      li.classList.add("pending");
      if (!li.querySelector(".state")) {
        li.querySelector(".meta").appendChild(el("span", { class: "state" }, " \u00b7 Sending\u2026"));
      }
    }
    return li;
  }
  function failed(item, message) {
    var li = byClient[item.id];
    if (!li) return;
    li.classList.remove("pending");
    li.classList.add("failed");
    var s = li.querySelector(".state");
    if (s) s.textContent = " \u00b7 Not sent: " + message;
  }

  // ---- the outbox: unsent messages keep their client ids until acknowledged -----------
  var flushing = false, flushTimer = null;
  function flush() {
    if (flushing || !link.ready || !state.outbox.length) return;
    flushing = true;
    var item = state.outbox[0];
    var ok = link.emit("message", { id: item.id, text: item.text }, function (ack) {
      flushing = false;
      var err = ack && ack.error;
      if (!err) {
        state.outbox.shift(); save();
        render({ id: ack.id, client_id: item.id, author: "customer", text: item.text });
        flush();
        return;
      }
      if (err.code === "rate_limited" || err.code === "unavailable" ||
          err.code === "disconnected" || err.retry) {
        clearTimeout(flushTimer);   // kept: sent again, same id, stored once
        if (err.code !== "disconnected") {
          flushTimer = setTimeout(flush, Math.max(500, (err.retry_after || 2) * 1000));
        }
        return;
      }
      state.outbox.shift(); save();   // refused for good: say why
      failed(item, err.message || err.code);
      flush();
    });
    if (!ok) flushing = false;
  }
  function submit(text) {
    if (!text || !text.trim()) return;
    var item = { id: newId(), text: text };
    state.outbox.push(item); save();
    pendingElement(item);
    showQuick([]);
    flush();
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value;
    input.value = "";
    submit(text);
    input.focus();
  });
  var lastTyping = 0;
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit ? form.requestSubmit() : sendBtn.click();
    }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (link.ready && now - lastTyping > 3000) {
      lastTyping = now;
      link.emit("typing", { typing: true });
    }
  });

  // ---- satisfaction --------------------------------------------------------------------
  function csatForm(prompt) {
    var li = el("li", { class: "csat-item" });
    var f = el("form", { class: "csat" });
    var fs = el("fieldset", { class: "fs" });
    fs.appendChild(el("legend", null, prompt.question || "How did we do?"));
    var scale = el("div", { class: "scale", role: "group" });
    var chosen = 0;
    (prompt.scale || [1, 2, 3, 4, 5]).forEach(function (n) {
      var b = el("button", { type: "button", "aria-pressed": "false",
        "aria-label": "Rate " + n + " out of 5" }, n);
      b.addEventListener("click", function () {
        chosen = n;
        Array.prototype.forEach.call(scale.children, function (x) {
          x.setAttribute("aria-pressed", String(x === b));
        });
      });
      scale.appendChild(b);
    });
    fs.appendChild(scale);
    var cl = el("label", { for: "cc-csat-comment", class: "sr" }, "Comment (optional)");
    var comment = el("textarea", { id: "cc-csat-comment", placeholder: "Comment (optional)", maxlength: "1000" });
    fs.appendChild(cl); fs.appendChild(comment);
    var submitBtn = el("button", { type: "submit" }, "Send rating");
    fs.appendChild(submitBtn);
    f.appendChild(fs);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!chosen) { scale.firstChild.focus(); return; }
      link.emit("csat", { conversation_id: prompt.conversation_id, score: chosen,
        comment: comment.value || null }, function (ack) {
        if (ack && ack.ok) { li.textContent = "Thank you for your rating."; li.className = "note"; }
      });
    });
    li.appendChild(f);
    log.appendChild(li); scroll();
  }

  // ---- wiring --------------------------------------------------------------------------
  var typingTimer = null;
  var link = new Link({
    auth: function () {
      var a = { last_id: state.lastId };
      if (user) {
        ["user_id", "email", "name", "user_hash"].forEach(function (k) { if (user[k]) a[k] = user[k]; });
      } else if (state.token) {
        a.visitor_token = state.token;
      }
      return a;
    },
    connected: function () { status.textContent = ""; },
    disconnected: function () {
      flushing = false;
      status.textContent = "Offline \u2014 reconnecting; your messages will be sent.";
    },
    refused: function (err) {
      var code = err.code;
      if (code === "invalid_token" || code === "token_expired") {
        state.token = null; save();   // start again as a new visitor
        link.attempt = 0;
        return true;
      }
      if (code === "rate_limited" || code === "unavailable") {
        status.textContent = err.message || "Busy; retrying.";
        return true;
      }
      status.textContent = "Chat unavailable: " + (err.message || code);
      return false;
    },
    event: function (name, data) {
      data = data || {};
      if (name === "session") {
        if (data.visitor_token && !user) state.token = data.visitor_token;
        if (data.conversation_id) state.conversationId = data.conversation_id;
        save();
        if (!data.conversation_id && !log.childNodes.length) {
          note("Ask us anything \u2014 we usually answer in a few minutes.");
        }
      } else if (name === "history") {
        (data.messages || []).forEach(function (m) { render(m); seen(m.id); });
        state.outbox.forEach(pendingElement);
        flush();
      } else if (name === "message") {
        var known = data.id && byId[data.id];
        render(data); seen(data.id);
        if (!known && data.author !== "customer" && panel.hidden) {
          unread++; badge.textContent = String(unread); badge.hidden = false;
          launcher.setAttribute("aria-label", "Open chat (" + unread + " new)");
        }
      } else if (name === "typing") {
        clearTimeout(typingTimer);
        typingLine.textContent = data.typing ? (data.author_name || "Agent") + " is typing\u2026" : "";
        if (data.typing) typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 10000);
      } else if (name === "agent_joined") {
        note((data.agent_name || "An agent") + " joined the conversation.");
      } else if (name === "resolved") {
        note("This conversation was marked as resolved.");
        showQuick([]);
      } else if (name === "csat") {
        csatForm(data);
      } else if (name === "error" && data.event !== "message" && data.event !== "csat") {
        status.textContent = data.message || "Something went wrong.";
      }
    },
  });

  function start() {
    document.body.appendChild(host);
    status.textContent = "Connecting\u2026";
    link.open();
    if (settings.open) setOpen(true);
  }
  window.ContactCenterChat = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(panel.hidden); },
    settings: settings,
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
