// The chat window as a developer uses it: a real `kefu dev` (started by run.sh), the page at /
// in chromium. Sends a text, a mini-program card (the sample rules answer it with a link card)
// and 「人工」, and sees the default reply, the link card and the hand-off; then the inspector,
// the hand-off silencing replies, and a rules edit (broken, then good) showing up live.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const base = process.env.KEFU_DEV_URL;
const rulesFile = process.env.KEFU_RULES_FILE;
const log = process.env.KEFU_DEV_LOG;
const started = Date.now();
const step = (what) => console.log(`  [${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

async function waitForServer() {
  for (let i = 0; i < 200; i++) {
    try {
      const info = await fetch(base + "/dev/api/info").then((r) => r.json());
      if (info.kefu_dev) return info;
    } catch (_) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("kefu dev did not answer " + base);
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

await waitForServer();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = null;
const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
const offsite = [];
const pageErrors = [];
page.on("request", (request) => { if (!request.url().startsWith(base)) offsite.push(request.url()); });
page.on("pageerror", (error) => pageErrors.push(error.message));
page.setDefaultTimeout(10_000);

const kf = (selector) => page.locator(".row.kf " + selector);
async function say(text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

try {
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("openid").value !== "");
  await page.fill("#openid", "o-browser");
  await page.dispatchEvent("#openid", "change");
  step("page loaded");

  await say("你好");
  await kf(".bubble.text", { hasText: "收到你的消息" }).first().waitFor();
  await page.locator(".row.user .bubble.text", { hasText: "你好" }).waitFor();
  step("text → the default reply");

  await page.click("#plus");
  await page.click("[data-send=miniprogrampage]");
  await kf(".card.link .card-title", { hasText: "帮助中心" }).waitFor();
  await page.locator(".row.user .card.miniprogrampage").waitFor();
  step("mini-program card → the link card");

  await say("人工");
  const handoff = page.locator(".system.handoff", { hasText: "已转人工客服" });
  await handoff.waitFor();
  await page.waitForFunction(() => /\d\d:\d\d/.test(document.querySelector(".system.handoff .countdown")?.textContent || ""));
  const left = await handoff.locator(".countdown").textContent();
  expect(/^(29|30):\d\d$/.test(left), "the hold's remaining time: " + left);
  step("人工 → hand-off, " + left + " left");

  // The inspector of the 人工 push: the rule and the decrypted passive answer.
  const row = page.locator(".row.user", { hasText: "人工" });
  await row.locator("details.inspect summary").click();
  const panel = row.locator("details.inspect .panel");
  const inspected = await panel.textContent();
  expect(inspected.includes("rule human (#0): exact \"人工\" → hand-off"), "inspector rule: " + inspected);
  expect(inspected.includes("transfer_customer_service"), "inspector answer: " + inspected);
  expect(inspected.includes("msg_signature="), "inspector request: " + inspected);
  expect(inspected.includes("\"Content\":\"人工\""), "inspector decrypted message: " + inspected);
  step("inspector: signed request, decrypted message, rule, passive answer");

  await say("在吗");
  await page.locator(".system.warn", { hasText: "no auto-reply: a human agent holds o-browser" }).waitFor();
  step("during the hand-off: no auto-reply, and the page says why");

  // Rules edits, live: a broken file is reported with its position and changes nothing…
  const sample = JSON.parse(readFileSync(rulesFile, "utf8"));
  writeFileSync(rulesFile, JSON.stringify({ rules: [{ name: "oops", match: { exact: "x" }, action: { reply: [] } }] }));
  await page.locator(".system.error", { hasText: "rules[0] (oops): reply has 0 messages" }).waitFor();
  step("broken rules edit reported with the rule's position");
  // …then a good edit is taken up.
  sample.rules.unshift({ name: "promo", match: { contains: "优惠" },
    action: { reply: [{ type: "text", content: "本周全场九折" }] } });
  writeFileSync(rulesFile, JSON.stringify(sample, null, 2));
  await page.locator(".system.good", { hasText: "rules reloaded" }).waitFor();
  // The functions' rule cache re-reads the file 2 s after its last load.
  await page.waitForTimeout(2100);
  await page.fill("#openid", "o-browser-2");
  await page.dispatchEvent("#openid", "change");
  await say("有优惠吗");
  await kf(".bubble.text", { hasText: "本周全场九折" }).waitFor();
  step("good rules edit used by the next push");

  // Back to the first user: the whole conversation, for the screenshot.
  await page.fill("#openid", "o-browser");
  await page.dispatchEvent("#openid", "change");
  const handoffRow = page.locator(".row.user", { hasText: "人工" });
  await handoffRow.locator("details.inspect summary").click();
  await handoffRow.locator("details.inspect[open] .panel").waitFor();
  await handoffRow.scrollIntoViewIfNeeded();
  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  step("screenshot: " + process.env.SCREENSHOT);

  expect(offsite.length === 0, "the page asked for other hosts: " + offsite.join(", "));
  expect(pageErrors.length === 0, "errors in the page: " + pageErrors.join("; "));
  const terminal = readFileSync(log, "utf8");
  for (const line of ["← o-browser [text] 人工 — hand-off", "no auto-reply: a human agent holds o-browser",
    "rules[0] (oops): reply has 0 messages", "rules reloaded from"]) {
    expect(terminal.includes(line), "kefu dev's terminal lacks: " + line);
  }
  step("terminal explains the same");
} catch (error) {
  failed = error;
  await page.screenshot({ path: process.env.SCREENSHOT.replace(/\.png$/, "-failed.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
if (failed) {
  console.error("browser test failed: " + failed.message);
  process.exit(1);
}
