// kefu dev's chat window: the user's side of a customer-service conversation.
// Sends through POST /dev/api/push; everything shown comes from GET /dev/api/events.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  seq: 0, entries: [], info: {}, skew: 0, openid: "", openids: new Set(),
  // The push shown in the inspector (its seq), and when each user's hand-off last ended.
  inspected: 0, handoffEnded: {},
};

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

// The image a reply sends: the sandbox keeps what was uploaded, so the page shows those bytes;
// a placeholder when they cannot be had (replies sent to --wechat-api, an expired media_id).
function picture(mediaId) {
  const placeholder = () => el("div", { class: "picture", "data-msgtype": "image", title: mediaId || "", text: "图片" });
  if (!state.info.sandbox || !mediaId) return placeholder();
  const img = el("img", { class: "picture-img", "data-msgtype": "image", alt: "图片", title: mediaId,
    src: "/sandbox/media/" + encodeURIComponent(mediaId) });
  img.addEventListener("error", () => img.replaceWith(placeholder()));
  return img;
}

// A text reply, line breaks kept. The numbered lines of a 「您是不是想问：1. … 2. …」
// suggestion can be clicked: that sends the number, as the user would type it.
function textBubble(content) {
  const bubble = el("div", { class: "bubble text", "data-msgtype": "text" });
  const lines = content.split("\n");
  // Numbered lines after an opening line (「您是不是想问：」 or the rules' own suggest_intro).
  const numbered = lines.slice(1).filter((line) => /^\d{1,2}[.、．]\s*\S/.test(line));
  if (numbered.length < 1) {
    bubble.textContent = content;
    return bubble;
  }
  // One block per line (a blank one keeps its height).
  lines.forEach((line, i) => {
    const choice = i > 0 && line.match(/^(\d{1,2})[.、．]\s*\S/);
    if (choice) {
      const button = el("button", { type: "button", class: "choice", "data-choice": choice[1], title: "reply " + choice[1], text: line });
      button.addEventListener("click", () => send({ type: "text", content: choice[1] }));
      bubble.append(button);
    } else {
      bubble.append(el("div", { class: "line", text: line || "\u00a0" }));
    }
  });
  return bubble;
}

// A reply as WeChat shows it.
function renderReply(entry) {
  const body = entry.body || {};
  switch (entry.msgtype) {
    case "text": return row("kf", textBubble(body.content || ""));
    case "image": return row("kf", picture(body.media_id));
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

function inspectorTitle(push) {
  if (push.refused) return "inspect · refused " + push.status;
  if (push.method === "GET") return "inspect · URL check";
  if (!push.rule) return "inspect · HTTP " + push.status;
  if (push.rule.rule) return "inspect · rule " + push.rule.rule;
  if (/^faq\b/.test(push.rule.why)) return "inspect · faq";
  if (/^a number\b/.test(push.rule.why)) return "inspect · suggestion picked";
  return "inspect · " + (push.rule.outcome === "reply" ? "default" : "no rule");
}

// The link under a push; the inspector itself opens in the side panel, where there is room.
function inspectLink(push) {
  const link = el("button", { type: "button", class: "inspect", "data-seq": String(push.seq), text: inspectorTitle(push) });
  link.addEventListener("click", () => inspect(push));
  return link;
}

function inspect(push) {
  state.inspected = push ? push.seq : 0;
  for (const link of document.querySelectorAll("button.inspect")) {
    link.classList.toggle("selected", Number(link.dataset.seq) === state.inspected);
  }
  const panel = $("inspector");
  if (!push) { panel.hidden = true; return; }
  const answer = "HTTP " + push.status + "\n" + pretty(push.answer);
  $("inspector-title").textContent = (push.openid ? push.openid + " · " : "") + inspectorTitle(push).replace(/^inspect · /, "");
  $("inspector-body").replaceChildren(...[
    push.rule ? el("div", { class: "rule-line" }, el("h4", { text: "rule" }), el("div", { text: ruleLine(push.rule) })) : null,
    section("refused", push.refused),
    section("signed request (" + (push.mode || "?") + ")", push.method + " " + (state.info.push_path || "") + "?" + push.query + "\n\n" + pretty(push.body)),
    section("decrypted message", pretty(push.decrypted)),
    section("parsed", push.message ? JSON.stringify(push.message, null, 2) : ""),
    section("passive answer", answer),
    section("passive answer, decrypted", pretty(push.answer_decrypted)),
  ].filter(Boolean));
  panel.hidden = false;
  // Below the conversation on a narrow screen: bring it into view.
  if (window.innerWidth <= 860) panel.scrollIntoView({ block: "nearest" });
}

// A push: the user's message as the user sees it, with its inspector.
function renderPush(entry) {
  const kind = entry.message && entry.message.kind;
  const nodes = [];
  const link = inspectLink(entry);
  if (!kind) {
    // Nothing opened: a URL check (GET), or a refusal; either way one line.
    const verified = entry.method === "GET" && entry.status === 200;
    const text = verified ? "URL verified (GET): echostr answered · 服务器配置校验通过"
      : entry.refused || entry.method + " push: HTTP " + entry.status;
    nodes.push(el("div", { class: "system " + (verified ? "good" : "error") + " push-line" }, el("span", { text }), link));
  } else if (kind.type === "event") {
    const label = (kind.event === "user_enter_tempsession" ? "进入会话 · " : "事件 · ") + kind.event
      + (kind.kf_account ? " · " + kind.kf_account : "") + (kind.to_kf_account ? " → " + kind.to_kf_account : "");
    const line = el("div", { class: "system event" + (entry.refused ? " error" : "") }, el("span", { text: label }));
    if (entry.refused) line.append(el("div", { class: "meta refused", text: entry.refused }));
    line.append(link);
    nodes.push(line);
  } else {
    let content;
    if (kind.type === "text") content = el("div", { class: "bubble text", text: kind.content });
    else if (kind.type === "image") content = el("div", { class: "picture", title: kind.pic_url, text: "图片" });
    else if (kind.type === "link") content = linkCard(kind);
    else if (kind.type === "miniprogrampage") content = miniProgramCard(kind);
    else content = el("div", { class: "bubble", text: "[" + kind.type + "]" });
    const meta = el("div", { class: "meta" + (entry.refused ? " refused" : "") });
    meta.textContent = entry.refused || (entry.rule ? ruleLine(entry.rule) : "");
    nodes.push(row("user", content, meta, link));
  }
  if (entry.handoff_until) {
    const left = el("b", { class: "countdown", "data-until": String(entry.handoff_until),
      "data-openid": entry.openid || "", "data-seq": String(entry.seq) });
    const by = kind && kind.type === "event" ? "已接入人工客服 · an agent holds the session" : "已转人工客服 · transferred to a human agent";
    nodes.push(el("div", { class: "system handoff" },
      el("span", {}, by + " — auto-replies off · ", left)));
  }
  return nodes;
}

function render(entry) {
  if (entry.kind === "push") return renderPush(entry);
  if (entry.kind === "reply") return [renderReply(entry)];
  if (entry.kind === "notice") return [system(entry.level, entry.text)];
  if (entry.kind === "handoff_ended") return [system("handoff ended", "人工客服已结束 · " + entry.text)];
  return [];
}

// A push of unknown user (a URL check, a refusal of a body that says nobody) belongs to the
// conversation open when it came; other lines without a user (rules reloads) to every one.
function visible(entry) {
  if (entry.pinned !== undefined) return entry.pinned === state.openid;
  return !entry.openid || entry.openid === state.openid;
}

function redraw() {
  const chat = $("chat");
  chat.replaceChildren();
  for (const entry of state.entries) if (visible(entry)) chat.append(...render(entry));
  const shown = state.entries.find((e) => e.seq === state.inspected);
  inspect(shown && visible(shown) ? shown : null);
  tick();
  chat.scrollTop = chat.scrollHeight;
}

function tick() {
  const now = Date.now() + state.skew;
  for (const node of document.querySelectorAll(".countdown")) {
    const ended = (state.handoffEnded[node.dataset.openid] || 0) > Number(node.dataset.seq);
    const left = ended ? 0 : Math.max(0, Number(node.dataset.until) - now);
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

// kefu's events, newest last, every user's: the kind, and the rest of the terminal's line.
function addEvent(entry) {
  const list = $("event-list");
  list.append(el("li", { class: "event", title: "id " + entry.id },
    el("b", {}, entry.event), " " + entry.text.replace(/^event \S+ /, "")));
  while (list.children.length > 50) list.firstChild.remove();
  list.scrollTop = list.scrollHeight;
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
      if (entry.kind === "push" && !entry.openid) entry.pinned = state.openid;
      if (entry.kind === "handoff_ended" && entry.openid) state.handoffEnded[entry.openid] = entry.seq;
      if (entry.kind === "event") { addEvent(entry); continue; }
      state.entries.push(entry);
      rememberOpenid(entry.openid);
      if (visible(entry)) {
        chat.append(...render(entry));
        if (entry.kind === "push" && $("inspect").checked) inspect(entry);
      }
    }
    if (answer.entries.length) tick();
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

// The fields each agent-session event carries (WeChat's names); empty ones are left out.
const EVENT_FIELDS = {
  kf_create_session: [["KfAccount", "test@kefu", "the agent who took the session"]],
  kf_switch_session: [["FromKfAccount", "test@kefu", "the agent handing over"], ["ToKfAccount", "test2@kefu", "the agent taking over"]],
  kf_close_session: [["KfAccount", "test@kefu", "the agent who closed it"], ["CloseType", "", "optional, kept as sent"]],
  user_enter_tempsession: [["SessionFrom", "kefu-dev-page", "the contact button's session-from"]],
};

function eventForm(open) {
  $("event-form").hidden = !open;
  if (open) { eventFields(); $("event-name").focus(); }
}

function eventFields() {
  const name = $("event-name").value;
  const box = $("event-fields");
  box.replaceChildren();
  if (!name) {
    box.append(el("label", {}, "Event", el("input", { id: "event-other", placeholder: "e.g. subscribe_msg_popup_event" })),
      el("label", {}, "Fields", el("input", { "data-pairs": "1", placeholder: "NAME=VALUE NAME=VALUE" })));
    return;
  }
  for (const [field, value, hint] of EVENT_FIELDS[name] || []) {
    const input = el("input", { "data-field": field, name: field, placeholder: hint });
    input.value = value;
    box.append(el("label", {}, field, input));
  }
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
        $("extras").hidden = true;
        eventForm(true);
        return;      } else {
        send({ type });
      }
      $("extras").hidden = true;
    });
  }
  $("event-name").addEventListener("change", eventFields);
  $("event-cancel").addEventListener("click", () => eventForm(false));
  $("event-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = $("event-name").value;
    const name = chosen || $("event-other").value.trim();
    if (!name) { $("event-other").focus(); return; }
    const fields = {};
    for (const input of $("event-fields").querySelectorAll("input[data-field]")) {
      if (input.value.trim()) fields[input.dataset.field] = input.value.trim();
    }
    const extra = $("event-fields").querySelector("input[data-pairs]");
    for (const pair of (extra ? extra.value : "").split(/\s+/).filter(Boolean)) {
      const at = pair.indexOf("=");
      if (at > 0) fields[pair.slice(0, at)] = pair.slice(at + 1);
    }
    eventForm(false);
    send({ type: "event", name, fields });
  });
  $("inspector-close").addEventListener("click", () => inspect(null));
  $("openid").addEventListener("change", () => {
    const openid = $("openid").value.trim();
    if (openid !== state.openid) { state.openid = openid; redraw(); }
  });
  $("inspect").addEventListener("change", () => {
    if (!$("inspect").checked) return;
    const pushes = state.entries.filter((e) => e.kind === "push" && visible(e));
    if (pushes.length) inspect(pushes[pushes.length - 1]);
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
