// kefu dev's chat window: the user's side of a customer-service conversation.
// Sends through POST /dev/api/push; everything shown comes from GET /dev/api/events.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { seq: 0, entries: [], info: {}, skew: 0, openid: "", openids: new Set() };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// JSON laid out for reading, but only when nothing is lost: numbers beyond 2^53 (a MsgId)
// would be rounded by JSON.parse, so such a body is shown as it came.
function pretty(text) {
  if (!text) return "";
  try {
    const value = JSON.parse(text);
    return JSON.stringify(value) === text.trim() ? JSON.stringify(value, null, 2) : text;
  } catch (_) { return text; }
}

function row(side, ...content) {
  const avatar = el("div", { class: "avatar", text: side === "user" ? "我" : "客" });
  return el("div", { class: "row " + side }, avatar, el("div", { class: "stack" }, ...content));
}

function system(level, text, extra) {
  const line = el("div", { class: "system " + level });
  line.append(el("span", { text }));
  if (extra) line.append(extra);
  return line;
}

function card(kind, title, body) {
  return el("div", { class: "card " + kind, "data-msgtype": kind },
    el("div", { class: "card-title", text: title || "" }), body);
}

function linkCard(link) {
  const host = (link.url || "").replace(/^https?:\/\//, "").split("/")[0];
  return card("link", link.title,
    el("div", { class: "link-body" },
      el("div", { class: "desc", text: link.description || host }),
      el("div", { class: "thumb", title: link.thumb_url || "", text: "↗" })));
}

function miniProgramCard(page) {
  const c = el("div", { class: "card miniprogrampage", "data-msgtype": "miniprogrampage" },
    el("div", { class: "mp-head" }, el("span", { class: "mp-icon" }), el("span", { text: state.info.appid || "小程序" })),
    el("div", { class: "card-title", text: page.title || "" }),
    el("div", { class: "mp-thumb", title: page.pagepath || page.page_path || "", text: "▣" }),
    el("div", { class: "mp-foot", text: "小程序 · " + (page.pagepath || page.page_path || "") }));
  return c;
}

// A reply as WeChat shows it.
function renderReply(entry) {
  const body = entry.body || {};
  switch (entry.msgtype) {
    case "text": return row("kf", el("div", { class: "bubble text", "data-msgtype": "text", text: body.content || "" }));
    case "image": return row("kf", el("div", { class: "picture", "data-msgtype": "image", title: body.media_id || "", text: "图片" }));
    case "link": return row("kf", linkCard(body));
    case "miniprogrampage": return row("kf", miniProgramCard(body));
    default: return row("kf", el("div", { class: "bubble", text: "[" + entry.msgtype + "]" }));
  }
}

function section(title, text) {
  if (!text) return null;
  return el("div", {}, el("h4", { text: title }), el("pre", { text }));
}

function ruleLine(rule) {
  if (!rule) return "rules unavailable";
  const outcome = { reply: "auto-reply", transfer: "hand-off to a human agent", nothing: "nothing sent" }[rule.outcome] || rule.outcome;
  return (rule.rule ? "rule " + rule.rule + " (#" + rule.index + "): " : "") + rule.why + " → " + outcome;
}

function inspector(push) {
  const summary = push.refused ? "inspect · refused " + push.status
    : "inspect · " + (push.rule ? (push.rule.rule ? "rule " + push.rule.rule : push.rule.outcome === "reply" ? "default" : "no rule") : "HTTP " + push.status);
  const details = el("details", { class: "inspect" }, el("summary", { text: summary }));
  if ($("inspect").checked) details.open = true;
  const answer = "HTTP " + push.status + "\n" + pretty(push.answer);
  details.append(el("div", { class: "panel" },
    push.rule ? el("div", { class: "rule-line" }, el("h4", { text: "rule" }), el("div", { text: ruleLine(push.rule) })) : null,
    section("refused", push.refused),
    section("signed request (" + (push.mode || "?") + ")", push.method + " " + (state.info.push_path || "") + "?" + push.query + "\n\n" + pretty(push.body)),
    section("decrypted message", pretty(push.decrypted)),
    section("parsed", push.message ? JSON.stringify(push.message, null, 2) : ""),
    section("passive answer", answer),
    section("passive answer, decrypted", pretty(push.answer_decrypted))));
  return details;
}

// A push: the user's message as the user sees it, with its inspector.
function renderPush(entry) {
  const kind = entry.message && entry.message.kind;
  const nodes = [];
  const meta = el("div", { class: "meta" + (entry.refused ? " refused" : "") });
  meta.textContent = entry.refused ? "HTTP " + entry.status + ": " + entry.refused : (entry.rule ? ruleLine(entry.rule) : "");
  const extras = [meta, inspector(entry)];
  if (!kind) {
    nodes.push(el("div", { class: "system error" }, el("span", { text: entry.method + " push refused: HTTP " + entry.status }), ...extras));
  } else if (kind.type === "event") {
    nodes.push(el("div", { class: "system event" }, el("span", { text: (kind.event === "user_enter_tempsession" ? "进入会话 · " : "事件 · ") + kind.event }), ...extras));
  } else {
    let content;
    if (kind.type === "text") content = el("div", { class: "bubble text", text: kind.content });
    else if (kind.type === "image") content = el("div", { class: "picture", title: kind.pic_url, text: "图片" });
    else if (kind.type === "link") content = linkCard(kind);
    else if (kind.type === "miniprogrampage") content = miniProgramCard(kind);
    else content = el("div", { class: "bubble", text: "[" + kind.type + "]" });
    nodes.push(row("user", content, ...extras));
  }
  if (entry.handoff_until) {
    const left = el("b", { class: "countdown", "data-until": String(entry.handoff_until) });
    nodes.push(el("div", { class: "system handoff" },
      el("span", {}, "已转人工客服 · transferred to a human agent — auto-replies off for ", left)));
  }
  return nodes;
}

function render(entry) {
  if (entry.kind === "push") return renderPush(entry);
  if (entry.kind === "reply") return [renderReply(entry)];
  if (entry.kind === "notice") return [system(entry.level, entry.text)];
  return [];
}

function visible(entry) {
  return !entry.openid || entry.openid === state.openid;
}

function redraw() {
  const chat = $("chat");
  chat.replaceChildren();
  for (const entry of state.entries) if (visible(entry)) chat.append(...render(entry));
  tick();
  chat.scrollTop = chat.scrollHeight;
}

function tick() {
  const now = Date.now() + state.skew;
  for (const node of document.querySelectorAll(".countdown")) {
    const left = Math.max(0, Number(node.dataset.until) - now);
    const s = Math.floor(left / 1000);
    node.textContent = left ? String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0") : "ended";
  }
}

function rememberOpenid(openid) {
  if (!openid || state.openids.has(openid)) return;
  state.openids.add(openid);
  $("openids").append(el("option", { value: openid }));
}

// One poll at a time; an entry is shown once even if two answers carry it.
let polling = null;
function poll() {
  if (!polling) polling = pollOnce().finally(() => { polling = null; });
  return polling;
}

async function pollOnce() {
  try {
    const answer = await fetch("/dev/api/events?after=" + state.seq).then((r) => r.json());
    state.skew = answer.now - Date.now();
    const chat = $("chat");
    const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
    for (const entry of answer.entries) {
      if (entry.seq <= state.seq) continue;
      state.seq = entry.seq;
      state.entries.push(entry);
      rememberOpenid(entry.openid);
      if (visible(entry)) chat.append(...render(entry));
    }
    if (answer.entries.length && atBottom) chat.scrollTop = chat.scrollHeight;
    $("status").textContent = "";
  } catch (err) {
    $("status").textContent = "kefu dev is not answering (" + err.message + ")";
  }
}

async function send(message) {
  const openid = $("openid").value.trim();
  if (openid !== state.openid) { state.openid = openid; redraw(); }
  const response = await fetch("/dev/api/push", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ openid, mode: $("mode").value, format: $("format").value, message }),
  });
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    $("status").textContent = answer.error || "HTTP " + response.status;
  }
  await poll();
  // The poll may have been one that started before the push: ask again.
  await poll();
}

function setup() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const content = $("text").value;
    if (!content.trim()) return;
    $("text").value = "";
    send({ type: "text", content });
  });
  $("plus").addEventListener("click", () => { $("extras").hidden = !$("extras").hidden; });
  for (const button of document.querySelectorAll("[data-send]")) {
    button.addEventListener("click", () => {
      const type = button.dataset.send;
      if (type === "event") {
        const name = (window.prompt("Event name (e.g. kf_close_session)", "kf_close_session") || "").trim();
        if (!name) return;
        const fields = {};
        const extra = window.prompt("Fields, as NAME=VALUE separated by spaces (optional)", name.startsWith("kf_") ? "KfAccount=test@kefu" : "") || "";
        for (const pair of extra.split(/\s+/).filter(Boolean)) {
          const at = pair.indexOf("=");
          if (at > 0) fields[pair.slice(0, at)] = pair.slice(at + 1);
        }
        send({ type: "event", name, fields });
      } else {
        send({ type });
      }
      $("extras").hidden = true;
    });
  }
  $("openid").addEventListener("change", () => {
    const openid = $("openid").value.trim();
    if (openid !== state.openid) { state.openid = openid; redraw(); }
  });
  $("inspect").addEventListener("change", () => {
    for (const d of document.querySelectorAll("details.inspect")) d.open = $("inspect").checked;
  });
  setInterval(poll, 400);
  setInterval(tick, 1000);
}

fetch("/dev/api/info").then((r) => r.json()).then((info) => {
  state.info = info;
  state.openid = info.openid;
  $("openid").value = info.openid;
  rememberOpenid(info.openid);
  $("app").textContent = info.appid;
  $("push-path").textContent = info.push_path;
  if (!info.plaintext_accepted) {
    const plaintext = document.querySelector('#mode option[value="plaintext"]');
    plaintext.textContent += " (refused as deployed; kefu dev --allow-plaintext)";
  }
  $("rules").textContent = info.rules;
  setup();
  poll();
});
