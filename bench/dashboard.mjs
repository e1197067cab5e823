// The dashboard's speed in real headless Chromium (issue 14), run by bench/bench.py's
// `dashboard` scenario against a daemon it started with N programs and one `flood` program
// (10,000 log lines a second, not started yet). playwright-core comes from the browser
// tests' node_modules (MODULES). Prints progress on stderr and one JSON line of figures
// on stdout:
//   interactive_ms    navigation start → the page is interactive: DOMContentLoaded (the
//                     deferred script has run and attached its handlers) or the end of the
//                     last main-thread task over 50 ms, whichever is later (median of NAVS)
//   dcl_ms            navigation start → DOMContentLoaded (median)
//   load_gzip_kb      every response of the first load, gzip-compressed, in KB
//   filter_*_ms       a real key press in the filter box → the frame after the filter ran
//   change_*_ms       SIGKILL of a child (the daemon restarts it) → its row shows the new
//                     pid as RUNNING, painted (CHANGES samples)
//   flood_*           the details page of `flood` for FLOOD_SECS: tasks over 50 ms
//                     (PerformanceObserver 'longtask', wall clock), the longest, the tasks
//                     with over 50 ms of the main thread's CPU time and the most CPU one
//                     took (from a trace), lines drawn per second, lines kept in the page
// With TRACE=DIR it also records a Chromium performance trace of the filter phase
// (DIR/filter.json) and prints where the renderer's main thread spent the tasks over 50 ms
// (style, layout, script, paint, …); for the flood phase it prints the same summary.
import { createRequire } from "node:module";
import path from "node:path";
import zlib from "node:zlib";

const require = createRequire(path.join(process.env.MODULES, "..", "package.json"));
const { chromium } = require("playwright-core");

const BASE = process.env.BASE;
const N = Number(process.env.N);
const NAVS = Number(process.env.NAVS || 3);
const CHANGES = Number(process.env.CHANGES || 10);
const FLOOD_SECS = Number(process.env.FLOOD_SECS || 5);

const log = (...a) => console.error("  dashboard.mjs:", ...a);
const median = (v) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); const k = (s.length - 1) * p / 100; const lo = Math.floor(k), hi = Math.min(lo + 1, s.length - 1); return s[lo] + (s[hi] - s[lo]) * (k - lo); };

async function api(method, p) {
  const r = await fetch(BASE + p, { method, headers: { Accept: "application/json" } });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

// Long tasks are recorded from the very start of every document.
const OBSERVE = () => {
  window.__long = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push([e.startTime, e.duration]); })
    .observe({ type: "longtask", buffered: true });
};

const TRACE = process.env.TRACE;
const TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "v8", "disabled-by-default-v8.gc", "blink.user_timing"];

// The main-thread tasks over 50 ms in a trace, and what the time inside them went to:
// top-level work items (direct children of the task) summed by name.
function traceSummary(buf) {
  const events = JSON.parse(buf.toString()).traceEvents || buf.traceEvents;
  const mainTid = (() => {
    const named = events.filter((e) => e.name === "thread_name" && e.args && e.args.name === "CrRendererMain");
    return new Set(named.map((e) => e.pid + ":" + e.tid));
  })();
  const onMain = events.filter((e) => e.ph === "X" && mainTid.has(e.pid + ":" + e.tid));
  const tasks = onMain.filter((e) => e.name === "RunTask" && e.dur > 50000);
  const byName = {};
  for (const t of tasks) {
    const inside = onMain.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e.tid === t.tid && e.pid === t.pid);
    // Keep only the outermost items (not contained in another item inside this task).
    inside.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    let end = -1;
    for (const e of inside) {
      if (e.ts < end) continue;
      end = e.ts + e.dur;
      byName[e.name] = (byName[e.name] || 0) + e.dur / 1000;
    }
  }
  const top = Object.entries(byName).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`);
  return `${tasks.length} tasks > 50 ms, ${tasks.reduce((n, t) => n + t.dur / 1000, 0).toFixed(0)} ms in all, longest ${tasks.length ? (Math.max(...tasks.map((t) => t.dur)) / 1000).toFixed(0) : 0} ms; inside them: ${top.join(", ")}`;
}
async function traced(page, name, fn) {
  if (!TRACE) return fn();
  await browser.startTracing(page, { path: path.join(TRACE, name + ".json"), categories: TRACE_CATEGORIES });
  try { return await fn(); } finally { log(`trace ${name}: ${traceSummary(await browser.stopTracing())}`); }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const out = {};
try {
  const context = await browser.newContext();
  await context.addInitScript(OBSERVE);
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw new Error("page error: " + e.message); });

  // ---- first load: weight on the wire, then time to interactive over NAVS navigations
  const bodies = [];
  const onResp = async (r) => { try { bodies.push(await r.body()); } catch (e) { /* redirect */ } };
  page.on("response", onResp);
  await page.goto(BASE, { waitUntil: "load" });
  page.off("response", onResp);
  const rows = await page.$$eval("#procs tr[data-name]", (r) => r.length);
  if (rows < N) throw new Error(`the dashboard shows ${rows} rows, expected ${N}`);
  out.load_gzip_kb = bodies.reduce((n, b) => n + zlib.gzipSync(b).length, 0) / 1024;
  const inter = [], dcl = [];
  for (let i = 0; i < NAVS; i++) {
    await page.goto(BASE, { waitUntil: "load" });
    // A quiet moment after load, so a late long task is counted.
    await page.waitForTimeout(500);
    const t = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const lastLong = window.__long.reduce((m, [s, d]) => Math.max(m, s + d), 0);
      return { dcl: nav.domContentLoadedEventEnd, interactive: Math.max(nav.domContentLoadedEventEnd, lastLong) };
    });
    inter.push(t.interactive);
    dcl.push(t.dcl);
  }
  out.interactive_ms = median(inter);
  out.dcl_ms = median(dcl);
  log(`interactive ${inter.map((x) => x.toFixed(0)).join(" ")} ms; ${out.load_gzip_kb.toFixed(1)} KB gzip`);

  // ---- filter: a real key press → the frame after the page's own input handler ran
  await page.evaluate(() => {
    window.__filter = [];
    document.getElementById("filter").addEventListener("input", (ev) => {
      const t0 = ev.timeStamp;
      requestAnimationFrame(() => setTimeout(() => window.__filter.push(performance.now() - t0), 0));
    });
  });
  await page.focus("#filter");
  const query = "g01_0";
  await traced(page, "filter", async () => {
    for (const ch of query) { await page.keyboard.press(ch); await page.waitForTimeout(150); }
    for (let i = 0; i < query.length; i++) { await page.keyboard.press("Backspace"); await page.waitForTimeout(150); }
  });
  const filt = await page.evaluate(() => window.__filter);
  if (filt.length !== 2 * query.length) throw new Error(`filter: ${filt.length} timings for ${2 * query.length} keys`);
  out.filter_p50_ms = median(filt);
  out.filter_max_ms = Math.max(...filt);
  const shown = await page.$$eval("#procs tr[data-name]", (r) => r.filter((t) => !t.hidden).length);
  if (shown < N) throw new Error(`after clearing the filter ${shown} rows show`);
  log(`filter ${filt.map((x) => x.toFixed(0)).join(" ")} ms`);

  // ---- a state change on screen: SIGKILL → the row with the new pid, RUNNING, painted
  await page.evaluate(() => {
    window.__rows = [];
    new MutationObserver((muts) => {
      const seen = [];
      for (const m of muts) for (const n of m.addedNodes) if (n.dataset && n.dataset.name) seen.push([n.dataset.name, n.dataset.state, n.querySelector("td.num").textContent]);
      if (seen.length) requestAnimationFrame(() => { const t = Date.now(); for (const s of seen) window.__rows.push([...s, t]); });
    }).observe(document.getElementById("procs"), { childList: true, subtree: true });
  });
  const procs = (await api("GET", "api/v1/processes")).processes.filter((p) => p.name !== "flood" && p.state === "RUNNING");
  const change = [];
  for (let i = 0; i < CHANGES; i++) {
    const p = procs[(i * 37) % procs.length];
    const before = await api("GET", "api/v1/processes/" + encodeURIComponent(p.name));
    await page.waitForTimeout(100);
    const t0 = Date.now();
    process.kill(before.pid, "SIGKILL");
    const handle = await page.waitForFunction(([n, pid]) =>
      (window.__rows.find((r) => r[0] === n && r[1] === "RUNNING" && r[2] !== String(pid)) || [])[3],
      [p.name, before.pid], { timeout: 20000, polling: 20 });
    change.push((await handle.jsonValue()) - t0);
    await page.evaluate(() => { window.__rows = []; });
  }
  out.change_p50_ms = median(change);
  out.change_p95_ms = pct(change, 95);
  log(`state change ${change.join(" ")} ms`);

  // ---- the details page of a child writing 10,000 lines/s
  await api("POST", "api/v1/processes/flood/start");
  await page.goto(BASE + "process?name=flood", { waitUntil: "load" });
  await page.waitForSelector("#log div");
  await page.waitForTimeout(1000);
  // The log is chunks of lines (text with a newline after each): the newest line is the
  // last chunk's last line; the page counts the lines it keeps in data-lines.
  const start = await page.evaluate(() => ({ t: performance.now(), last: document.getElementById("log").lastElementChild.textContent.trimEnd().split("\n").pop() }));
  // The flood phase is always traced: a task's thread CPU time (`tdur`) tells the page's
  // own work from time the renderer spent waiting for a CPU on a shared machine, which
  // the long-task observer counts too.
  await browser.startTracing(page, { categories: ["devtools.timeline", "disabled-by-default-devtools.timeline"] });
  await page.waitForTimeout(FLOOD_SECS * 1000);
  {
    const buf = await browser.stopTracing();
    if (TRACE) {
      (await import("node:fs")).writeFileSync(path.join(TRACE, "flood.json"), buf);
      log(`trace flood: ${traceSummary(buf)}`);
    }
    const events = JSON.parse(buf.toString()).traceEvents;
    const main = new Set(events.filter((e) => e.name === "thread_name" && e.args && e.args.name === "CrRendererMain").map((e) => e.pid + ":" + e.tid));
    const cpu = events.filter((e) => e.ph === "X" && e.name === "RunTask" && main.has(e.pid + ":" + e.tid) && e.tdur !== undefined).map((e) => e.tdur / 1000);
    out.flood_longtasks_cpu = cpu.filter((ms) => ms > 50).length;
    out.flood_longest_cpu_ms = cpu.length ? Math.max(...cpu) : 0;
  }
  const end = await page.evaluate((t0) => ({
    t: performance.now(),
    last: document.getElementById("log").lastElementChild.textContent.trimEnd().split("\n").pop(),
    lines: Number(document.getElementById("log").dataset.lines),
    long: window.__long.filter(([s]) => s >= t0).map(([, d]) => d),
  }), start.t);
  const num = (s) => Number((/line (\d+)/.exec(s) || [0, NaN])[1]);
  out.flood_lines_per_s = (num(end.last) - num(start.last)) / ((end.t - start.t) / 1000);
  out.flood_longtasks = end.long.length;
  out.flood_longest_ms = end.long.length ? Math.max(...end.long) : 0;
  out.flood_dom_lines = end.lines;
  if (!(out.flood_lines_per_s > 0)) throw new Error(`the followed log did not move (${start.last} → ${end.last})`);
  log(`flood: ${out.flood_lines_per_s.toFixed(0)} lines/s drawn, ${end.lines} kept, long tasks ${JSON.stringify(end.long)}, ` +
    `${out.flood_longtasks_cpu} with > 50 ms of CPU (most CPU in one task ${out.flood_longest_cpu_ms.toFixed(1)} ms)`);
  await api("POST", "api/v1/processes/flood/stop");
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
