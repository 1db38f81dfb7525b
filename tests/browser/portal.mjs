// The portal's journeys in Debian's headless Chromium (run by
// tests/cli/test_portal_browser.sh, which sets up the registry, the gateway
// and the server).  Any failed expectation exits non-zero.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";

const { BASE, PASSWORD, EVIL, SMTP, MX, WS, SHOTS, TODAY, DAY2 } = process.env;
for (const [k, v] of Object.entries({ BASE, PASSWORD, EVIL, SMTP, MX, WS, SHOTS, TODAY, DAY2 })) assert.ok(v, k + " must be set");

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const dialogs = [];
const problems = [];

async function session(user, viewport = { width: 1200, height: 900 }) {
  const context = await browser.newContext({ viewport, timezoneId: "America/Chicago", locale: "en-US" });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on("dialog", async (d) => { dialogs.push(user + ": " + d.message()); await d.dismiss(); });
  page.on("pageerror", (e) => problems.push(user + ": " + e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/status of (401|404|422)/.test(m.text())) problems.push(user + ": console: " + m.text()); });
  await page.goto(BASE + "/");
  await page.waitForSelector("#login-name");
  await page.fill("#login-name", user);
  await page.fill("#login-password", PASSWORD);
  await page.press("#login-password", "Enter");
  await page.waitForSelector("nav a");
  return page;
}

const shot = (page, name) => page.screenshot({ path: `${SHOTS}/portal-${name}.png`, fullPage: true });
const step = (s) => console.log("portal: " + s);
const smtp = (from) => execFileSync(SMTP, [from], { encoding: "utf8" }).trim();

try {
  // ---- 1. the member signs up with three servers, a pasted typo refused at its line ----
  const mia = await session("mia");
  await mia.waitForSelector("#enrollment");
  assert.equal(await mia.textContent("#enrollment"), "none");
  assert.match(await mia.textContent("#enrollment-words"), /not blocked for any host/);
  await mia.click("text=Sign up for the port 25 block");
  await mia.waitForSelector("#srv-0-address");
  await mia.fill("#srv-0-address", MX);
  await mia.fill("#paste", "192.0.2.26, application-server, student records\n192.0.2.2777, network-device, the core switch");
  await mia.click("#add-pasted");
  const typo = mia.locator("#srv-2-address");
  assert.equal(await typo.inputValue(), "192.0.2.2777");
  assert.equal(await typo.getAttribute("aria-invalid"), "true");
  const err = (await mia.textContent("#srv-2-address-error")).trim();
  assert.match(err, /'192\.0\.2\.2777' is not an IPv4 or IPv6 address/);
  // the error is next to its own line, and the good lines carry none
  assert.equal(await mia.locator("#server-lines li.bad").count(), 1);
  assert.equal(await mia.locator("#server-lines li").nth(2).locator(".field-error").textContent(), err);
  // refused on submit too: nothing is sent while a line is bad
  await mia.check("#contact-confirm");
  await mia.check("#ack");
  assert.match(await mia.textContent("label[for=ack]"), /I understand that if I fail to provide a server address for exclusion from the block, mail from that server will not be allowed to be transmitted outside our network/);
  await mia.click("#submit-signup");
  assert.ok(mia.url().endsWith("/signup/springfield-k12"), "submitted with a bad line: " + mia.url());
  await shot(mia, "signup");
  // a line outside the space is refused as well
  await mia.fill("#srv-2-address", "198.51.100.9");
  assert.match(await mia.textContent("#srv-2-address-error"), /outside your address space/);
  await mia.fill("#srv-2-address", "192.0.2.27");
  assert.equal(await mia.locator("#server-lines li.bad").count(), 0);
  await mia.click("#submit-signup");
  await mia.waitForSelector("#req-status");
  const reqUrl = mia.url();
  const reqId = reqUrl.split("/").pop();
  assert.match(reqId, /^\d+$/);
  assert.equal(await mia.textContent("#req-status"), "submitted");
  assert.deepEqual(await mia.locator("#req-servers tbody td.addr").allTextContents(), [MX, "192.0.2.26", "192.0.2.27"]);
  // A sign-up is scheduled with the member, not held to 48 hours (issue 14): no countdown.
  const c1 = await mia.textContent("#req-due");
  assert.match(c1, /no due time: a sign-up's activation is scheduled with you/);
  assert.equal(await mia.locator(".countdown").count(), 0, "a sign-up counts down to a due time");
  await shot(mia, "request");
  step(`member signed up, request ${reqId}: ${c1}`);

  // ---- 2. the operator approves and applies it from the top of the queue ----
  const oscar = await session("oscar");
  await oscar.waitForSelector("#queue");
  const top = oscar.locator("#queue tbody tr").first();
  assert.equal(await top.getAttribute("data-request"), reqId);
  const what = await top.locator("td.what").textContent();
  assert.match(what, /signs springfield-k12 up for the block, permitting 192\.0\.2\.25, 192\.0\.2\.26, 192\.0\.2\.27/);
  assert.match(what, /192\.0\.2\.25: outbound now not blocked .*; after: allowed/);
  await shot(oscar, "queue");
  await top.locator("button[data-step=approve]").click();
  await oscar.waitForSelector(`#queue tr[data-request="${reqId}"] button[data-step=apply]`);
  await oscar.click(`#queue tr[data-request="${reqId}"] button[data-step=apply]`);
  await oscar.waitForSelector(`#queue tr[data-request="${reqId}"]`, { state: "detached" });
  step("operator approved and applied it");

  // ---- 3. the member's dashboard; the gateway lets the server's mail through, not the workstation's ----
  await mia.goto(BASE + "/");
  await mia.waitForSelector("#servers");
  assert.equal(await mia.textContent("#enrollment"), "active");
  assert.match(await mia.textContent("#enrollment-words"), /Port 25 is blocked from every host of yours except the 3 servers below/);
  assert.deepEqual((await mia.locator("#servers tbody td.addr").allTextContents()).sort(), [MX, "192.0.2.26", "192.0.2.27"]);
  // the chart: watch's attempts on their own days (one today, two two days ago), 30 days in all
  assert.equal(await mia.locator("#attempts-chart g[data-day]").count(), 30);
  assert.equal(await mia.getAttribute(`#attempts-chart g[data-day="${TODAY}"]`, "data-attempts"), "1");
  assert.equal(await mia.getAttribute(`#attempts-chart g[data-day="${DAY2}"]`, "data-attempts"), "2");
  assert.match(await mia.textContent("#attempts-caption"), /^3 blocked attempts in 30 days \(UTC\): 3 from your hosts, 0 to them/);
  await shot(mia, "dashboard");
  let t0 = Date.now(), got;
  while ((got = smtp(WS)) !== "refused" && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 100));
  assert.equal(got, "refused", "the workstation's SMTP still passes 5 s after the apply");
  assert.equal(smtp(MX), "ok", "the registered server's SMTP through the gateway failed");
  step(`gateway: ${MX} mail delivered, ${WS} refused`);
  // explain says so in plain words
  await mia.goto(BASE + "/explain/springfield-k12?address=" + WS);
  await mia.waitForSelector("#explain-result .decision");
  assert.match(await mia.textContent("#explain-result"), /Mail sent by 192\.0\.2\.50 to the Internet on port 25: blocked/);
  await shot(mia, "explain");

  // ---- 4 and 5. another org's member sees none of it; their org's name is text ----
  const bob = await session("bob");
  await bob.waitForSelector("#enrollment");
  const h1 = await bob.textContent("h1");
  assert.equal(h1, EVIL + " (shelbyville)");
  assert.equal(await bob.locator("main img").count(), 0, "the org name made an element");
  assert.equal(await bob.locator("main script").count(), 0, "the org name made a script element");
  const body = await bob.textContent("body");
  for (const secret of ["springfield", "Springfield", MX, "192.0.2.26", "Pat Doe"]) assert.ok(!body.includes(secret), "bob sees " + secret);
  await bob.goto(reqUrl);
  await bob.waitForSelector("#not-found");
  assert.ok(!(await bob.textContent("main")).includes(MX));
  await shot(bob, "not-found");
  await bob.goto(BASE + "/dashboard/springfield-k12");
  await bob.waitForSelector("#not-found");
  await bob.goto(BASE + "/contacts/shelbyville");
  await bob.waitForSelector("input[name=name]");
  assert.equal(await bob.inputValue("input[name=name]"), EVIL);
  // the operator's console shows it as text too
  await oscar.goto(BASE + "/orgs");
  await oscar.waitForSelector("#orgs");
  assert.ok((await oscar.textContent("#orgs")).includes(EVIL));
  assert.equal(await oscar.locator("#orgs img, #orgs script").count(), 0);
  await shot(oscar, "orgs");
  await oscar.goto(BASE + "/orgs/springfield-k12");
  await oscar.waitForSelector("#org-audit");
  assert.match(await oscar.textContent("#org-audit"), /request\.apply/);
  step("isolation and escaping hold");

  // ---- the pre-block analysis: the member's hosts with readable reasons, sorted, filtered, one click to register ----
  await mia.goto(BASE + "/analysis/springfield-k12");
  await mia.waitForSelector("#analysis li.host");
  const order = await mia.locator("#analysis li.host").evaluateAll((els) => els.map((e) => e.dataset.address + " " + e.dataset.class));
  assert.deepEqual(order, ["172.16.16.221 unregistered-server", "172.16.16.231 inbound-server", "172.16.16.225 unknown"], "what to do first");
  const server = mia.locator('#analysis li.host[data-address="172.16.16.221"]');
  assert.match(await server.locator("ul.reasons").textContent(), /accepts SMTP: 1 inbound connections, banner 'mail01 ESMTP Postfix \(Ubuntu\)'/);
  assert.match(await server.locator(".meaning").textContent(), /once port 25 is blocked, its mail stops/);
  assert.match(await server.locator("ol.timeline").textContent(), /first seen/);
  assert.match(await mia.textContent("#analysis-summary"), /3 hosts spoke SMTP; 1 looks like a mail server with no permit/);
  await shot(mia, "analysis");
  await mia.selectOption("#a-sort", "address");
  await mia.fill("#a-filter", "mail02");
  assert.deepEqual(await mia.locator("#analysis li.host").evaluateAll((els) => els.map((e) => e.dataset.address)), ["172.16.16.231"]);
  await mia.fill("#a-filter", "");
  await mia.selectOption("#a-class", "unknown");
  assert.deepEqual(await mia.locator("#analysis li.host").evaluateAll((els) => els.map((e) => e.dataset.address)), ["172.16.16.225"]);
  await mia.selectOption("#a-class", "");
  assert.equal(await mia.locator("#analysis button[data-variance]").count(), 1, "one server to register, one button");
  await mia.click('#analysis button[data-variance="172.16.16.221"]');
  await mia.waitForURL(/\/requests\/\d+$/);
  await mia.goto(BASE + "/analysis/springfield-k12");
  await mia.waitForSelector("#analysis li.host");
  assert.match(await server.textContent(), /requested, waiting for the operator/);
  assert.equal(await mia.locator("#analysis button[data-variance]").count(), 0);
  await bob.goto(BASE + "/analysis/springfield-k12");
  await bob.waitForSelector("#not-found");
  assert.ok(!(await bob.textContent("main")).includes("172.16.16"));
  step("the member reads the analysis and requests its server in one click");

  // ---- a phone-sized screen: the dashboard still reads (no sideways scroll of the page) ----
  const phone = await session("mia", { width: 390, height: 800 });
  await phone.waitForSelector("#servers");
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, "the dashboard is " + wide + " px wide on a 390 px screen");
  await shot(phone, "phone");

  assert.deepEqual(dialogs, [], "a dialog fired: " + dialogs.join("; "));
  assert.deepEqual(problems, [], "page errors: " + problems.join("; "));
  step("all journeys passed");
} catch (e) {
  console.error("portal: FAILED: " + (e && e.stack || e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
