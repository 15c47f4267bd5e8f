// The report page of `kefu dev` (/report) in chromium, after the chat test has talked to it:
// a user's unanswered questions pushed through /dev/api/push, then the page shows the messages
// by outcome and the questions grouped, as inline SVG, asking no other host and running no
// script. Saves a screenshot to target/browser/kefu-dev-report.png.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const base = process.env.KEFU_DEV_URL;
const expect = (condition, message) => { if (!condition) throw new Error(message); };

// Questions the sample rules have no answer for (their default replies), one user each.
const asked = ["退钱", "我要退钱", "钱能退吗", "发票怎么开", "能开发票吗"];
for (const [n, content] of asked.entries()) {
  const answer = await fetch(base + "/dev/api/push", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ openid: "o-report-" + n, message: { type: "text", content } }),
  });
  expect(answer.ok, "push " + content + ": " + answer.status);
}
// The reply side takes the jobs behind the acknowledgements.
let report = null;
for (let i = 0; i < 100; i++) {
  report = await fetch(base + "/report.json").then((r) => r.json());
  if ((report.kept.unanswered || 0) >= asked.length) break;
  await new Promise((r) => setTimeout(r, 100));
}
expect((report.kept.unanswered || 0) >= asked.length, "questions not kept: " + JSON.stringify(report));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = null;
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  const offsite = [];
  page.on("request", (request) => { if (!request.url().startsWith(base)) offsite.push(request.url()); });
  await page.goto(base + "/report");
  const text = await page.innerText("body");
  expect(text.includes("messages by outcome"), "no outcomes: " + text);
  expect(text.includes("「我要退钱」") || text.includes("「退钱」"), "no refund group: " + text);
  expect(await page.locator("svg rect").count() > 0, "no bars");
  expect(await page.locator("script").count() === 0, "a script in the page");
  expect(offsite.length === 0, "the page asked for other hosts: " + offsite.join(", "));
  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  console.log("  report page: " + report.messages + " messages, " + report.group_count + " groups; screenshot: " + process.env.SCREENSHOT);
} catch (error) {
  failed = error;
} finally {
  await browser.close();
}
if (failed) {
  console.error("report page test failed: " + failed.message);
  process.exit(1);
}
