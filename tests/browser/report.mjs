// The report page of `kefu dev` (/report) in chromium, after the chat test has talked to it.
// A FAQ is written into the rules file; users' questions it does not answer are pushed through
// /dev/api/push; then the page shows the messages by outcome and the questions grouped, as
// inline SVG — the key rates in a headline row, the messages per hour by outcome — asking no other
// host and running no script. Then the loop is closed from the page:
// a group's "Add" puts its question into the rules file as a similar question of its closest
// entry, kefu dev reloads the file, the group shows the FAQ answering it, and the same question
// asked again is answered by that entry; an entry picked from the list works too, and adding a
// question twice, or from another site's page, is refused with its reason. Saves a screenshot to target/browser/kefu-dev-report.png
// (and -390.png, a phone's width).
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const base = process.env.KEFU_DEV_URL;
const rulesFile = process.env.KEFU_RULES_FILE;
const expect = (condition, message) => { if (!condition) throw new Error(message); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const report = () => fetch(base + "/report.json").then((r) => r.json());
const reply = (content) => ({ reply: [{ type: "text", content }] });
async function until(what, check, tries = 100) {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value) return value;
    await sleep(100);
  }
  throw new Error("timed out: " + what);
}
async function push(openid, content) {
  const answer = await fetch(base + "/dev/api/push", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ openid, message: { type: "text", content } }),
  });
  expect(answer.ok, "push " + content + ": " + answer.status);
}

// A shop's FAQ on the sample rules: refunds, invoices, delivery.
const rules = JSON.parse(readFileSync(rulesFile, "utf8"));
rules.faq = { entries: [
  { id: "refund", questions: ["怎么申请退款", "如何退款"], action: reply("申请退款：「我的」-「订单」-「申请退款」。") },
  { id: "invoice", questions: ["怎么开发票", "发票在哪里开"], action: reply("开票：订单详情页-申请开票。") },
  { id: "delivery", questions: ["多久发货", "什么时候发货"], action: reply("48 小时内发货。") },
] };
writeFileSync(rulesFile, JSON.stringify(rules, null, 2));
// The report reads the FAQ through the rules cache, as the pushes do: once it shows the
// entries, the pushes use them.
await until("the FAQ loaded", async () => (await report()).entries.includes("delivery"), 100);

// Questions the FAQ only suggests an entry for, or has none for; one user each.
const asked = ["我要退", "我要退", "可以退吗", "能退吗", "发票抬头写错了", "发票抬头写错了", "东西还没到", "包裹怎么还没到"];
const before = await report();
const kept = (r) => (r.kept.unanswered || 0) + (r.kept.suggested || 0);
for (const [n, content] of asked.entries()) await push("o-report-" + n, content);
// The reply side takes the jobs behind the acknowledgements.
let now = await until("questions kept", async () => {
  const r = await report();
  return kept(r) >= kept(before) + asked.length && r;
});
const answeredBy = (r, id) => (r.top_answers.find((c) => c.outcome === "faq" && c.id === id) || { count: 0 }).count;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = null;
const shot = (suffix) => process.env.SCREENSHOT.replace(/\.png$/, suffix + ".png");
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  page.setDefaultTimeout(10_000);
  const offsite = [];
  page.on("request", (request) => { if (!request.url().startsWith(base)) offsite.push(request.url()); });
  await page.goto(base + "/report");
  const text = await page.innerText("body");
  expect(text.includes("messages by outcome"), "no outcomes: " + text);
  expect(text.includes("「我要退」"), "no refund group: " + text);
  // The key rates first, then the messages over time: one bar per hour, parts by outcome.
  const kpis = await page.locator(".kpi").allInnerTexts();
  expect(kpis.length === 5 && ["messages", "answered", "suggested", "unanswered", "hand-off"].every((k, i) => kpis[i].startsWith(k)),
    "the headline: " + JSON.stringify(kpis));
  expect(/\d %/.test(kpis[1]), "no answered rate: " + kpis[1]);
  expect(await page.locator("svg.chart rect").count() > 0, "no bars over time");
  expect((await page.innerText(".legend")).includes("suggested (FAQ unsure)"), "no legend");
  expect(await page.locator("svg rect").count() > 0, "no bars");
  expect(await page.locator("script").count() === 0, "a script in the page");
  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });

  // 「发票抬头写错了」: the FAQ only suggests invoice for it; its closest entry, chosen already. Add.
  const card = (lead) => page.locator("li.group", { has: page.locator(".examples .q", { hasText: "「" + lead + "」" }) }).first();
  const invoice = card("发票抬头写错了");
  expect(await invoice.locator("select[name=entry]").inputValue() === "invoice",
    "the closest entry is not chosen: " + await invoice.innerText());
  const beforeAnswers = answeredBy(now, "invoice");
  await invoice.locator("button[type=submit]").click();
  await page.locator(".notice", { hasText: "Added to invoice" }).waitFor();
  const written = JSON.parse(readFileSync(rulesFile, "utf8"));
  const questions = written.faq.entries.find((e) => e.id === "invoice").questions;
  expect(questions.includes("发票抬头写错了"), "the rules file lacks the question: " + JSON.stringify(questions));
  expect(written.rules.length === rules.rules.length && written.default, "the rest of the rules file changed");
  // The page reloads itself (no script: a refresh) once kefu dev has the file again.
  await card("发票抬头写错了").locator(".now", { hasText: "the FAQ answers it now: invoice" }).waitFor();
  // The same question again: answered by invoice.
  await push("o-report-again", "发票抬头写错了");
  now = await until("the question answered by invoice", async () => {
    const r = await report();
    return answeredBy(r, "invoice") === beforeAnswers + 1 && r;
  });
  console.log("  report page: Add → the rules file has 「发票抬头写错了」 under invoice; asked again, answered by invoice");

  // 「东西还没到」: no entry close; picked from the list, with another of its examples.
  const parcel = card("东西还没到");
  await parcel.locator("select[name=text]").selectOption("包裹怎么还没到");
  await parcel.locator("select[name=entry]").selectOption("delivery");
  await parcel.locator("button[type=submit]").click();
  await page.locator(".notice", { hasText: "Added to delivery" }).waitFor();
  expect(JSON.parse(readFileSync(rulesFile, "utf8")).faq.entries.find((e) => e.id === "delivery").questions.includes("包裹怎么还没到"),
    "the picked entry lacks the picked question");

  // The same question twice: refused, with the reason, and a way back.
  await page.goto(base + "/report");
  // The group answered now: its control folded, for its other questions.
  await card("发票抬头写错了").locator("summary").click();
  await card("发票抬头写错了").locator("button[type=submit]").click();
  const refusal = await page.innerText("body");
  expect(refusal.includes("Not added") && refusal.includes("invoice already has"), "no refusal: " + refusal);
  const status = await fetch(base + "/report/add-question", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ entry: "returns", text: "我要退" }),
  });
  const reason = await status.text();
  expect(status.status === 404 && reason.includes("no FAQ entry \"returns\""), "unknown entry: " + status.status + " " + reason);
  // A form another site's page posts here: refused.
  const forged = await fetch(base + "/report/add-question", {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://example.com" },
    body: "entry=refund&text=" + encodeURIComponent("我要退"),
  });
  expect(forged.status === 403, "a cross-site form: " + forged.status);
  await page.click("text=back to the report");
  console.log("  report page: a picked entry and example added; a duplicate refused (409), an unknown entry 404, another site's form 403");

  // A phone's width: nothing clipped sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + "/report");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width <= 390, "the page is " + width + " px wide at 390");
  await page.screenshot({ path: shot("-390"), fullPage: true });
  expect(offsite.length === 0, "the page asked for other hosts: " + offsite.join(", "));
  console.log("  report page: " + now.messages + " messages, " + now.group_count + " groups; screenshots: "
    + process.env.SCREENSHOT + ", " + shot("-390"));
} catch (error) {
  failed = error;
} finally {
  await browser.close();
}
if (failed) {
  console.error("report page test failed: " + failed.message);
  process.exit(1);
}
