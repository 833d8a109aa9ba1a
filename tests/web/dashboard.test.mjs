// SPDX-License-Identifier: Apache-2.0
// dashboard.test.mjs — the dashboard as a person sees it, in a real headless Chromium
// (Debian's, driven by playwright-core). Run by tests/monitor/serve_test.cpp, which
// starts Redis and `swarmkeeper serve` and passes:
//   SK_URL          the dashboard's base URL
//   SK_SEED         a shell command that seeds more stale coordinators (the change)
//   SK_SCREENSHOT   where to save the screenshot
//   SK_REFRESH_MS   the serve's refresh
//   SK_USER, SK_PASSWORD  basic-auth credentials, if serve asks for them (an https URL
//                   is served with the test's own CA: its certificate is not checked)
// Checks: no console errors; every chart draws a non-empty series; the change shows
// on the page within two refreshes (plus the census, through the event stream); a
// triggered alert appears; with credentials configured, a browser without gets 401.
// Prints "DASHBOARD OK" and exits 0, or prints what failed and exits 1.
import { execSync } from "node:child_process";
import { createRequire } from "node:module";

// playwright-core is installed in web/node_modules by scripts/setup.sh.
const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const url = process.env.SK_URL;
const refresh = Number(process.env.SK_REFRESH_MS || 1000);
const fail = (msg) => { console.error("DASHBOARD FAIL: " + msg); process.exitCode = 1; };

// Polls fn(arg) in the page until it is true. (Playwright's waitForFunction evaluates its
// predicate with eval inside the page, which the dashboard's Content-Security-Policy
// rightly forbids; page.evaluate goes through the debugger protocol, outside the policy.)
async function waitFor(page, fn, arg, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > deadline) throw new Error("timed out after " + timeout + " ms: " + String(fn).slice(0, 100));
    await new Promise((r) => setTimeout(r, 100));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.SK_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const user = process.env.SK_USER;
  const context = { viewport: { width: 1280, height: 1000 }, ignoreHTTPSErrors: url.startsWith("https:") };
  if (user) {
    // (A page would show the browser's login prompt, which headless Chromium cancels;
    // the context's own requests show the answer itself.)
    const stranger = await browser.newContext(context);
    const denied = await stranger.request.get(url, { failOnStatusCode: false });
    console.log("without credentials: " + denied.status() + " " + (denied.headers()["www-authenticate"] || ""));
    if (denied.status() !== 401) fail("a browser without credentials got " + denied.status());
    await stranger.close();
  }
  const page = await browser.newPage(user ? { ...context, httpCredentials: { username: user, password: process.env.SK_PASSWORD } }
    : context);
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  const main = await page.goto(url, { waitUntil: "load" });
  const csp = (await main.allHeaders())["content-security-policy"] || "";
  if (!csp.includes("script-src 'self'")) fail("the page has no Content-Security-Policy: " + csp);
  await waitFor(page, () => document.querySelectorAll(".uplot canvas").length >= 4, null, 15000);
  // Wait until the census has been seen (the stale tile shows a number).
  await waitFor(page, () => /\d/.test(document.getElementById("t-stale").textContent), null, 30000);
  const before = await page.textContent("#t-stale");
  // Charts draw non-empty series: each plot has at least one non-null value.
  await waitFor(page, () => {
    const plots = [...document.querySelectorAll(".uplot")];
    return plots.length >= 4 && window.__skPlotsHaveData && window.__skPlotsHaveData();
  }, null, 20000).catch(() => fail("a chart has no data"));
  // The change: more stale coordinators, which also crosses the test's alert rule.
  execSync(process.env.SK_SEED, { stdio: "inherit" });
  const t0 = Date.now();
  await waitFor(page, (b) => document.getElementById("t-stale").textContent !== b, before,
    2 * refresh + 15000).catch(() => fail("the stale count never changed on the page (was " + before + ")"));
  const after = await page.textContent("#t-stale");
  console.log(`stale coordinators on the page: ${before} -> ${after} in ${Date.now() - t0} ms`);
  await waitFor(page, () => [...document.querySelectorAll("#alerts tr.firing td")].some((td) => td.textContent === "TooManyStale"),
    null, 20000).catch(() => fail("the triggered alert never appeared on the page"));
  await page.screenshot({ path: process.env.SK_SCREENSHOT || "dashboard.png", fullPage: true });
  if (errors.length) fail("console errors: " + errors.join(" | "));
  if (!process.exitCode) console.log("DASHBOARD OK");
} catch (e) {
  fail(String(e));
} finally {
  await browser.close();
}
