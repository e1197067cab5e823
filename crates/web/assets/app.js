// Steward dashboard: the page works without this file; it adds the filter box, in-place
// actions, live rows (SSE from /api/v1/events, no polling), the followed log and the
// refreshed nodes view.
// Text from the server only ever enters the page through textContent, or as HTML the
// server rendered and escaped itself (/partial/row).
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const status = document.getElementById("status");
  function say(text, ok) {
    if (!status) return;
    status.textContent = text;
    status.className = "status " + (ok ? "ok" : "error");
  }
  function api(method, path) {
    return fetch(path, {
      method: method,
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      credentials: "same-origin",
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { ok: r.ok, json: j }; });
    });
  }
  const enc = encodeURIComponent;

  // ---- dashboard: filter, totals, live rows, in-place actions
  const table = document.getElementById("procs");
  const filter = document.getElementById("filter");
  // Each row's text is read once (a refreshed row is a new element), and only rows whose
  // visibility changes are touched: with 1,000 rows a keystroke must not restyle them all.
  const rowText = new WeakMap();
  // The list is blocks (div.block, one table each) of group sections (tbody); a section
  // or block with no row left to show is hidden whole.
  function applyFilter() {
    if (!table || !filter) return;
    const q = filter.value.trim().toLowerCase();
    table.querySelectorAll(".block").forEach(function (block) {
      let inBlock = 0;
      block.querySelectorAll("tbody").forEach(function (tb) {
        let shown = 0;
        tb.querySelectorAll("tr[data-name]").forEach(function (tr) {
          let text = rowText.get(tr);
          if (text === undefined) { text = tr.textContent.toLowerCase(); rowText.set(tr, text); }
          const hit = !q || text.indexOf(q) >= 0;
          if (tr.hidden === hit) tr.hidden = !hit;
          if (hit) shown++;
        });
        const head = tb.querySelector("tr.group");
        if (head && head.hidden !== (shown === 0)) head.hidden = shown === 0;
        inBlock += shown;
      });
      if (block.hidden !== (inBlock === 0)) block.hidden = inBlock === 0;
    });
  }
  function totals() {
    if (!table) return;
    const rows = table.querySelectorAll("tr[data-name]");
    const n = { all: rows.length, running: 0, stopped: 0, problems: 0 };
    rows.forEach(function (tr) {
      const s = tr.dataset.state;
      if (s === "RUNNING") n.running++;
      else if (s === "STOPPED" || s === "EXITED") n.stopped++;
      else if (s === "FATAL" || s === "BACKOFF" || s === "UNKNOWN") n.problems++;
    });
    Object.keys(n).forEach(function (k) {
      const dd = document.querySelector('[data-total="' + k + '"]');
      if (dd) dd.textContent = String(n[k]);
    });
    // A group longer than a block spans several sections; its count sits in the first.
    const per = new Map();
    rows.forEach(function (tr) {
      const g = per.get(tr.dataset.group) || { all: 0, up: 0 };
      g.all++;
      if (tr.dataset.state === "RUNNING") g.up++;
      per.set(tr.dataset.group, g);
    });
    table.querySelectorAll("tbody").forEach(function (tb) {
      const c = tb.querySelector(".gcount");
      const g = per.get(tb.dataset.group);
      if (c && g) c.textContent = g.up + " of " + g.all + " running";
    });
  }
  function findRow(name) {
    let found = null;
    table.querySelectorAll("tr[data-name]").forEach(function (tr) {
      if (tr.dataset.name === name) found = tr;
    });
    return found;
  }
  // One fetch per row at a time; an event that arrives meanwhile asks for one more after
  // it, so the row always ends on the latest state (a restart is 3 events in a few ms).
  const inflight = new Set(), again = new Set();
  function refreshRow(name) {
    if (!table) return Promise.resolve();
    if (inflight.has(name)) { again.add(name); return Promise.resolve(); }
    inflight.add(name);
    return fetch("partial/row?name=" + enc(name), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        const row = findRow(name);
        if (!html || !row) return;
        const t = document.createElement("template");
        t.innerHTML = html.trim();
        const fresh = t.content.firstElementChild;
        if (!fresh) return;
        const hadFocus = row.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
        row.replaceWith(fresh);
        if (hadFocus) {
          const target = fresh.querySelector('[aria-label="' + CSS.escape(hadFocus) + '"]') || fresh.querySelector("button, a");
          if (target) target.focus();
        }
        applyFilter();
        totals();
      })
      .catch(function () {})
      .then(function () {
        inflight.delete(name);
        if (again.delete(name)) refreshRow(name);
      });
  }
  if (filter) filter.addEventListener("input", applyFilter);

  document.addEventListener("submit", function (ev) {
    const form = ev.target;
    if (!form.classList || !form.classList.contains("live")) return;
    const f = new FormData(form);
    if (f.get("kind") !== "process") return;
    ev.preventDefault();
    const by = ev.submitter;
    const name = f.get("name"), action = by && by.name === "action" ? by.value : f.get("action");
    say(action + " " + name + "…", true);
    api("POST", "api/v1/processes/" + enc(name) + "/" + enc(action)).then(function (r) {
      if (r.ok) say(action + " " + name + ": done", true);
      else say(action + " " + name + ": " + ((r.json.error || {}).message || "failed"), false);
      if (table) refreshRow(name); else refreshDetails();
    });
  });

  // ---- details page: state and actions follow events too
  const pstate = document.getElementById("pstate");
  const logEl = document.getElementById("log");
  function refreshDetails() {
    if (!logEl) return;
    fetch("partial/row?name=" + enc(logEl.dataset.name), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        const t = document.createElement("template");
        t.innerHTML = "<table><tbody>" + html.trim() + "</tbody></table>";
        const row = t.content.querySelector("tr");
        if (!row) return;
        const cell = row.querySelector("td.state");
        if (pstate && cell) {
          pstate.className = "pill " + Array.from(cell.classList).filter(function (c) { return c.indexOf("s-") === 0; }).join(" ");
          pstate.replaceChildren.apply(pstate, Array.from(cell.childNodes));
        }
        const acts = document.getElementById("pactions");
        const fresh = row.querySelector("td.actions");
        if (acts && fresh) {
          fresh.querySelectorAll("a.details").forEach(function (a) { a.remove(); });
          acts.replaceChildren.apply(acts, Array.from(fresh.childNodes));
        }
      });
  }

  // ---- one event stream for the live parts of every page
  if (table || pstate) {
    const es = new EventSource("api/v1/events");
    es.addEventListener("process_state", function (m) {
      let d;
      try { d = JSON.parse(m.data); } catch (e) { return; }
      if (table) refreshRow(d.name);
      else if (logEl && d.name === logEl.dataset.name) refreshDetails();
    });
    // The server missed engine events in a burst: re-read every row, four at a time.
    es.addEventListener("resync", function () {
      if (!table) { refreshDetails(); return; }
      const names = Array.from(table.querySelectorAll("tr[data-name]")).map(function (r) { return r.dataset.name; });
      let next = 0;
      function worker() {
        if (next >= names.length) return Promise.resolve();
        return refreshRow(names[next++]).then(worker);
      }
      for (let i = 0; i < 4; i++) worker();
    });
    ["group_added", "group_removed", "reload"].forEach(function (k) {
      es.addEventListener(k, function () {
        if (table) say("The configuration changed: reload the page to see new or removed processes.", true);
      });
    });
  }

  // ---- the log: last N lines, then followed live; ANSI colours as classes
  const RING = 5000;
  // Appends one log line to `into`: plain text, or coloured spans for its ANSI SGR codes;
  // control bytes are made visible. The line ends with a newline (the log is a <pre>).
  const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;
  function ansiLine(into, text) {
    let cls = [];
    const re = /\x1b\[([0-9;]*)([A-Za-z])/g;
    let last = 0, m;
    function push(s) {
      if (!s) return;
      s = s.replace(CONTROL, "\ufffd");
      if (cls.length) {
        const span = document.createElement("span");
        span.className = cls.join(" ");
        span.textContent = s;
        into.appendChild(span);
      } else {
        into.appendChild(document.createTextNode(s));
      }
    }
    while ((m = re.exec(text))) {
      push(text.slice(last, m.index));
      last = re.lastIndex;
      if (m[2] !== "m") continue;
      (m[1] || "0").split(";").forEach(function (c) {
        const n = parseInt(c || "0", 10);
        if (n === 0) cls = [];
        else if (n === 1) cls.push("a1");
        else if (n === 39) cls = cls.filter(function (x) { return x[0] !== "f"; });
        else if ((n >= 30 && n <= 37) || (n >= 90 && n <= 97)) {
          cls = cls.filter(function (x) { return x[0] !== "f"; });
          cls.push("f" + (n >= 90 ? n - 60 : n));
        }
      });
    }
    push(text.slice(last));
    into.appendChild(document.createTextNode("\n"));
  }
  // Appends lines to a chunk: runs of plain lines become one text node, so 10,000 lines a
  // second are a few hundred DOM nodes, not 20,000 (each node is work for the browser's
  // garbage collector when the ring drops it).
  function appendLines(chunk, lines) {
    let run = "";
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l.indexOf("\x1b") < 0) { run += l.replace(CONTROL, "\ufffd") + "\n"; continue; }
      if (run) { chunk.appendChild(document.createTextNode(run)); run = ""; }
      ansiLine(chunk, l);
    }
    if (run) chunk.appendChild(document.createTextNode(run));
  }
  if (logEl) {
    const name = logEl.dataset.name;
    let stream = logEl.dataset.stream;
    let paused = false, held = [], follow = null;
    const pause = document.getElementById("pause");
    const lines = document.getElementById("lines");
    const note = document.getElementById("follow");
    const heading = document.getElementById("logh");
    const sw = document.getElementById("switch");
    const dl = document.getElementById("download");
    function atBottom() { return logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 40; }
    // Lines live in chunks of CHUNK: only chunks skip layout and paint out of view
    // (content-visibility), so the browser tracks 50 boxes rather than 5,000, and the ring
    // drops the oldest chunk whole once more than RING lines are kept. `lines` on a chunk
    // is how many it holds.
    const CHUNK = 100;
    let kept = 0;
    function append(textLines) {
      const stick = atBottom();
      let chunk = logEl.lastElementChild;
      let i = 0;
      while (i < textLines.length) {
        if (!chunk || chunk.lines >= CHUNK) {
          chunk = document.createElement("div");
          chunk.className = "chunk";
          chunk.lines = 0;
          logEl.appendChild(chunk);
        }
        const room = Math.min(textLines.length - i, CHUNK - chunk.lines);
        appendLines(chunk, textLines.slice(i, i + room));
        chunk.lines += room;
        i += room;
        kept += room;
      }
      while (logEl.firstElementChild && kept - logEl.firstElementChild.lines >= RING) {
        kept -= logEl.firstElementChild.lines;
        logEl.removeChild(logEl.firstElementChild);
      }
      logEl.dataset.lines = String(kept);
      if (stick) logEl.scrollTop = logEl.scrollHeight;
    }
    // New lines arrive in bursts; draw at most PER_FRAME of them a frame (the rest wait for
    // the next one) so a chatty child cannot hog the page, and keep only what the ring shows.
    const PER_FRAME = 400;
    let queue = [], scheduled = false;
    function draw() {
      scheduled = false;
      append(queue.splice(0, PER_FRAME));
      if (queue.length) { scheduled = true; requestAnimationFrame(draw); }
    }
    function enqueue(batch) {
      if (paused) {
        Array.prototype.push.apply(held, batch);
        if (held.length > RING) held.splice(0, held.length - RING);
        return;
      }
      Array.prototype.push.apply(queue, batch);
      if (queue.length > RING) queue.splice(0, queue.length - RING);
      if (!scheduled) { scheduled = true; requestAnimationFrame(draw); }
    }
    function load() {
      if (follow) follow.close();
      const n = lines ? lines.value : "200";
      return api("GET", "api/v1/processes/" + enc(name) + "/log?lines=" + enc(n) + "&stream=" + stream).then(function (r) {
        logEl.replaceChildren();
        kept = 0;
        if (!r.ok) { logEl.textContent = (r.json.error || {}).message || "no log"; return; }
        append(r.json.lines || []);
        logEl.scrollTop = logEl.scrollHeight;
        follow = new EventSource("api/v1/processes/" + enc(name) + "/log/follow?stream=" + stream);
        follow.addEventListener("lines", function (m) { enqueue(m.data.split("\n")); });
        follow.onopen = function () { if (note) note.textContent = paused ? "paused" : "following"; };
        follow.onerror = function () { if (note) note.textContent = "reconnecting…"; };
      });
    }
    const refresh = document.getElementById("refresh");
    if (refresh) refresh.addEventListener("click", function (ev) { ev.preventDefault(); load(); });
    if (lines) lines.addEventListener("change", load);
    if (sw) sw.addEventListener("click", function (ev) {
      ev.preventDefault();
      const other = stream;
      stream = sw.dataset.stream;
      sw.dataset.stream = other;
      sw.textContent = "Show " + other;
      sw.setAttribute("href", "process?name=" + enc(name) + "&stream=" + other);
      if (heading) heading.textContent = "Log (" + stream + ")";
      if (dl) dl.setAttribute("href", "download?name=" + enc(name) + "&stream=" + stream);
      load();
    });
    if (pause) {
      pause.hidden = false;
      pause.addEventListener("click", function () {
        paused = !paused;
        pause.setAttribute("aria-pressed", String(paused));
        pause.textContent = paused ? "Resume" : "Pause";
        if (note) note.textContent = paused ? "paused" : "following";
        if (!paused) { const h = held; held = []; enqueue(h); }
      });
    }
    load();
  }
  // ---- nodes page: the server's own view of every node, re-fetched every two seconds
  // (remote nodes are polled by the daemon, so there is no event stream to follow).
  const nodesView = document.getElementById("nodes-view");
  if (nodesView) {
    const every = Number(nodesView.dataset.refresh) || 2000;
    const refresh = function () {
      if (document.hidden || nodesView.contains(document.activeElement)) return;
      fetch(location.href, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) {
          if (!text) return;
          const doc = new DOMParser().parseFromString(text, "text/html");
          const fresh = doc.getElementById("nodes-view");
          const nav = doc.querySelector("nav.nodes-switch");
          if (fresh) nodesView.replaceChildren.apply(nodesView, Array.from(fresh.childNodes));
          const oldNav = document.querySelector("nav.nodes-switch");
          if (nav && oldNav) oldNav.replaceChildren.apply(oldNav, Array.from(nav.childNodes));
        })
        .catch(function () {});
    };
    setInterval(refresh, every);
  }
  applyFilter();
})();
