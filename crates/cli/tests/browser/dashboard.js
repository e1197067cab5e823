// Drives the dashboard in real headless Chromium (crates/cli/tests/dashboard_browser.rs
// starts the daemon and passes its address in the environment). Every check throws with
// what it saw; the Rust test asserts the exit code and the final "ALL OK" line.
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const http = require("http");
const path = require("path");
const zlib = require("zlib");
const { execFileSync } = require("child_process");

const BASE = process.env.BASE; // http://127.0.0.1:PORT/
const SHOTS = process.env.SHOTS; // docs/ directory
const CONF = process.env.CONF;
const STEWARD = process.env.STEWARD;
const SCHED = "Alsernet-scheduler:Alsernet-scheduler_00";
const QUEUE = "Alsernet-queue:Alsernet-queue_00";
const XSS = "<img src=x onerror=alert(1)>";
// Process names may not hold blanks; a form feed is one to an HTML parser.
const XSS_NAME = "<img\fsrc=x\fonerror=alert(1)>";
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const DEADLINE = 20000;

function check(cond, what) {
  if (!cond) throw new Error("FAILED: " + what);
  console.log("ok - " + what);
}

async function axe(page, label) {
  // Runtime evaluation is not subject to the page's CSP, so axe runs without weakening it.
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    axe.run(document, { resultTypes: ["violations"] }).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) }))
    )
  );
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe: no serious or critical violations on ${label} ${JSON.stringify(bad)}`);
}

async function shots(page, name) {
  if (!SHOTS) return;
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: path.join(SHOTS, `panel-${name}-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

async function rowState(page, name) {
  return page.evaluate((n) => {
    const tr = Array.from(document.querySelectorAll("#procs tr[data-name]")).find((t) => t.dataset.name === n);
    return tr ? tr.dataset.state : null;
  }, name);
}

async function waitRow(page, name, state) {
  await page.waitForFunction(
    ([n, s]) => {
      const tr = Array.from(document.querySelectorAll("#procs tr[data-name]")).find((t) => t.dataset.name === n);
      return tr && tr.dataset.state === s && tr.querySelector("td.state").textContent.includes(s);
    },
    [name, state],
    { timeout: DEADLINE }
  );
}

function ctl(args) {
  return execFileSync(STEWARD, ["ctl", "-c", CONF, ...args], { encoding: "utf8", timeout: 30000 });
}

async function login(page, user, pass) {
  await page.goto(BASE);
  check(page.url().endsWith("/login"), `${user}: an anonymous browser is sent to the login page`);
  await page.fill("#username", user);
  await page.fill("#password", pass);
  await Promise.all([page.waitForNavigation(), page.click("form.login button")]);
  check(new URL(page.url()).pathname === "/", `${user}: logged in, the dashboard shows`);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const origin = new URL(BASE).origin;
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await ctx.newPage();
  const foreign = [];
  const problems = [];
  page.on("request", (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) foreign.push(r.url()); });
  page.on("dialog", (d) => { problems.push("dialog: " + d.message()); d.dismiss(); });
  page.on("console", (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));

  // ---- login page
  await page.goto(BASE + "login");
  await axe(page, "the login page");
  await shots(page, "login");

  // ---- the first load's weight, counted on the wire
  const bodies = [];
  const onResp = async (r) => { try { bodies.push({ url: r.url(), bytes: await r.body() }); } catch (e) {} };
  page.on("response", onResp);
  await login(page, "admin", "secret");
  await page.waitForLoadState("networkidle").catch(() => {});
  page.off("response", onResp);
  const gz = bodies.reduce((n, b) => n + zlib.gzipSync(b.bytes).length, 0);
  check(gz <= 100 * 1024, `first load is ${gz} bytes gzip (≤ 100 KB) over ${bodies.length} responses`);

  // ---- dashboard
  const names = await page.$$eval("#procs tr[data-name]", (rows) => rows.map((r) => r.dataset.name));
  for (const n of [SCHED, QUEUE, "chatty", XSS_NAME]) check(names.includes(n), `the dashboard lists ${n}`);
  check((await page.$$("img")).length === 0, "a process named like an <img> tag renders as text");
  check(await page.evaluate((x) => document.body.textContent.includes(x), XSS_NAME), "the hostile name is visible as text");
  for (const label of ["Processes", "Running", "Stopped", "Fatal or backoff"])
    check(await page.isVisible(`dt:text-is("${label}")`), `totals show ${label}`);
  check((await page.textContent("#procs")).includes("RUNNING"), "states are labelled in words");
  await axe(page, "the dashboard");
  await shots(page, "dashboard");

  // filter
  await page.fill("#filter", "queue");
  check(await page.isHidden(`tr[data-name="${SCHED}"]`) && await page.isVisible(`tr[data-name="${QUEUE}"]`), "the filter box narrows the table");
  await page.fill("#filter", "");

  // keyboard focus is visible
  await page.focus("#filter");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== "none", `keyboard focus is visible (outline ${outline})`);

  // stop and start in place, no navigation
  let navigations = 0;
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations++; });
  await page.click(`button[aria-label="stop ${QUEUE}"]`);
  await waitRow(page, QUEUE, "STOPPED");
  check(true, "stop: the row shows STOPPED");
  await page.click(`button[aria-label="start ${QUEUE}"]`);
  await waitRow(page, QUEUE, "RUNNING");
  check(true, "start: the row shows RUNNING");
  // a change made elsewhere (steward ctl) arrives by SSE
  ctl(["stop", SCHED]);
  await waitRow(page, SCHED, "STOPPED");
  check(true, "a stop from the command line shows without a reload");
  ctl(["start", SCHED]);
  await waitRow(page, SCHED, "RUNNING");
  check(navigations === 0, `the page never reloaded (${navigations} navigations)`);
  check(await page.evaluate(() => document.querySelector('[data-total="running"]').textContent) !== "", "totals are kept up to date");

  // group action asks for confirmation naming what it affects
  await page.click('tbody[data-group="Alsernet-queue"] button[aria-label^="restart group"]');
  await page.waitForSelector("#confirm-what");
  check((await page.textContent("main")).includes(QUEUE), "a group action names the processes it affects before it runs");
  await axe(page, "the confirmation page");
  await page.click("a:text('Cancel')");

  // old supervisord links change nothing
  await page.goto(BASE + "index.html?action=stopall");
  check(await rowState(page, SCHED) === "RUNNING", "the old ?action=stopall GET link stops nothing");

  // ---- details: log follows live, ANSI colours, hostile bytes inert
  await page.goto(BASE + "process?name=" + encodeURIComponent("chatty"));
  await page.waitForSelector("#log div");
  const first = await page.$$eval("#log div", (d) => d.map((x) => x.textContent));
  const lastSeen = first[first.length - 1];
  await page.waitForFunction((last) => {
    const d = document.querySelectorAll("#log div");
    return d.length && d[d.length - 1].textContent !== last;
  }, lastSeen, { timeout: DEADLINE });
  check(true, "a new log line appears while the page is open");
  check(await page.$$eval("#log span.f31", (s) => s.length) > 0, "ANSI red renders as a coloured span");
  check(await page.evaluate(() => !document.querySelector("#log").textContent.includes("\x1b")), "escape bytes are not shown raw");
  check(await page.evaluate((x) => document.querySelector("#log").textContent.includes(x), XSS), "a log line with an <img> tag shows as text");
  check((await page.$$("img")).length === 0, "no element came out of the log");
  for (const f of ["PID", "Uptime", "Started", "Exit status", "Memory (RSS)", "CPU", "Command", "Directory", "User"])
    check(await page.isVisible(`dt:text-is("${f}")`), `details show ${f}`);
  check((await page.textContent("pre.config")).includes("<redacted>"), "the resolved config redacts secrets");
  check(!(await page.textContent("pre.config")).includes("hunter2"), "the secret itself is not on the page");
  check((await page.textContent("pre.config")).includes(XSS), "an environment value with an <img> tag shows as text");
  await axe(page, "the details page");
  await shots(page, "details");
  await page.click("#pause");
  check(await page.getAttribute("#pause", "aria-pressed") === "true", "pause can be pressed");
  await page.click("#pause");
  await page.click("#switch");
  await page.waitForFunction(() => document.getElementById("logh").textContent.includes("stderr"));
  check(true, "the stdout/stderr switch changes the stream");
  const dl = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  check((await dl[0].suggestedFilename()).endsWith(".log"), "the log downloads as a file");

  // supervisord's tail.html URL shows the process's log page
  await page.goto(BASE + "tail.html?processname=" + encodeURIComponent(SCHED));
  await page.waitForSelector("#log div");
  check((await page.textContent("h1")) === SCHED, "tail.html?processname= shows that process's log page");

  // ---- cron: run now, the run appears in the history
  await page.goto(BASE + "cron");
  check((await page.textContent("#jobs")).includes("backup"), "the jobs page lists the job");
  await Promise.all([page.waitForNavigation(), page.click('button[aria-label="run now backup"]')]);
  const until = Date.now() + DEADLINE;
  while (!(await page.$("#history article.run"))) {
    if (Date.now() > until) throw new Error("FAILED: the manual run never showed in the history");
    await page.waitForTimeout(250);
    await page.reload();
  }
  check((await page.textContent("#history")).includes("backup done"), "run now: the run and its output are in the history");
  // pause and resume the schedule
  const jobRow = async () => page.textContent('#jobs tr[data-job="backup"]');
  await Promise.all([page.waitForNavigation(), page.click('button[aria-label="disable backup"]')]);
  check((await jobRow()).includes("no (paused)") && (await page.$('button[aria-label="enable backup"]')) !== null,
    "disable pauses the job: it shows as paused, with an enable button");
  const paused = await page.evaluate(() => fetch("api/v1/cron/backup").then((r) => r.json()));
  check(paused.paused === true && paused.enabled === false, "the API says the job is paused");
  await Promise.all([page.waitForNavigation(), page.click('button[aria-label="enable backup"]')]);
  check((await jobRow()).includes("yes") && (await page.$('button[aria-label="disable backup"]')) !== null,
    "enable resumes the job");
  await axe(page, "the jobs page");
  await shots(page, "cron");

  // ---- commands: run one, see its output
  await page.goto(BASE + "commands");
  check((await page.textContent("#commands")).includes("php artisan cache:clear"), "the commands page lists the command with its description");
  await axe(page, "the commands page");
  await Promise.all([page.waitForNavigation(), page.click('button[aria-label="run cache-clear"]')]);
  check((await page.textContent("main")).includes("Application cache cleared"), "run: the command's output is on the page");

  // ---- reload: preview, apply, result
  fs.appendFileSync(CONF, "\n[program:added-later]\ncommand=sleep 1000\nstartsecs=0\n");
  await page.goto(BASE + "reload");
  await Promise.all([page.waitForNavigation(), page.click("#preview")]);
  check((await page.textContent("#diff")).includes("added-later"), "the preview names the added program");
  check(!(await page.textContent("main")).includes("Result"), "the preview changes nothing");
  await axe(page, "the reload page");
  await shots(page, "reload");
  await Promise.all([page.waitForNavigation(), page.click("#apply")]);
  check((await page.textContent("#results")).includes("added-later"), "apply reports the group it added");
  await page.goto(BASE);
  await page.waitForSelector('tr[data-name="added-later"]');
  check(true, "the added program is on the dashboard");

  // ---- audit
  await page.goto(BASE + "audit");
  check((await page.textContent("#audit")).includes("admin"), "the audit page names who acted");
  await axe(page, "the audit page");
  await shots(page, "audit");

  // ---- 320 px wide
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto(BASE);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 330, `usable at 320 px (page is ${width} px wide)`);
  await page.screenshot({ path: SHOTS ? path.join(SHOTS, "panel-mobile-light.png") : "/dev/null" });
  await page.setViewportSize({ width: 1100, height: 760 });

  // ---- a forged cross-origin POST is refused
  const csrf = await page.getAttribute('meta[name="csrf-token"]', "content");
  const forged = await ctx.request.post(BASE + "api/v1/processes/" + encodeURIComponent(SCHED) + "/stop", {
    headers: { Origin: "http://evil.example", "X-CSRF-Token": csrf },
  });
  check(forged.status() === 403, `an API POST from another Origin is 403 (got ${forged.status()})`);
  const noToken = await ctx.request.post(BASE + "api/v1/processes/" + encodeURIComponent(SCHED) + "/stop");
  check(noToken.status() === 403, `an API POST without the CSRF token is 403 (got ${noToken.status()})`);
  // a real page on another origin auto-submitting a form at the dashboard
  const evil = http.createServer((req, res) => {
    res.setHeader("Content-Type", "text/html");
    res.end(`<form id=f method=post action="${BASE}action"><input name=kind value=process>` +
      `<input name=name value="${SCHED}"><input name=action value=stop><input name=csrf_token value=guess></form>` +
      `<script>document.getElementById('f').submit()</script>`);
  });
  await new Promise((r) => evil.listen(0, "127.0.0.1", r));
  const evilPage = await ctx.newPage();
  const resp = await Promise.all([
    evilPage.waitForResponse((r) => r.url().startsWith(BASE + "action")),
    evilPage.goto(`http://127.0.0.1:${evil.address().port}/`),
  ]);
  check(resp[0].status() === 403, `a form posted from another site is refused (got ${resp[0].status()})`);
  evil.close();
  await evilPage.close();
  await page.goto(BASE);
  check(await rowState(page, SCHED) === "RUNNING", "the forged requests stopped nothing");

  // ---- logout
  await Promise.all([page.waitForNavigation(), page.click("header button:text('Log out')")]);
  check(page.url().endsWith("/login"), "log out returns to the login page");
  await page.goto(BASE);
  check(page.url().endsWith("/login"), "after logging out the dashboard needs a login again");

  // ---- a viewer sees no action buttons
  const vctx = await browser.newContext();
  const vpage = await vctx.newPage();
  await login(vpage, "viewer", "viewpass");
  check((await vpage.$$("#procs tr[data-name]")).length >= 4, "the viewer sees the processes");
  check((await vpage.$$("form[action=action]")).length === 0, "the viewer sees no action buttons");
  check(!(await vpage.isVisible("nav a:text('Reload')")), "the viewer has no reload page link");
  await vpage.goto(BASE + "process?name=" + encodeURIComponent(QUEUE));
  check((await vpage.$$("form[action=action]")).length === 0, "the viewer sees no action buttons on details");
  await vctx.close();

  check(foreign.length === 0, `0 requests to other hosts (${foreign.join(", ")})`);
  check(problems.length === 0, `no CSP violation, dialog or script error (${problems.join(" | ")})`);
  await browser.close();
  console.log("ALL OK");
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
