// riskctl dashboard: fetches /api/* and builds the page.
//
// Everything shown can come from the audit trail, which holds whatever people typed. So the DOM
// is built with createElement/createTextNode only: no innerHTML, no inline event handlers, no
// attribute that could load or run something takes data (the page's CSP forbids inline script and
// styles anyway). Charts are inline SVG built the same way.
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FORBIDDEN_ATTRIBUTE = /^(on|style$|href$|src$|xlink:href$|action$|formaction$|srcdoc$)/i;
  const params = new URLSearchParams(window.location.search);
  const state = {
    refreshSeconds: 5,
    refreshes: 0,
    doraEnv: null,
    doraDays: "30",
    openDetails: new Set(),
    timer: null,
  };

  // -- DOM helpers ------------------------------------------------------------------------------

  function setAttributes(node, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (FORBIDDEN_ATTRIBUTE.test(name)) throw new Error("refusing attribute " + name);
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }

  function appendAll(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) appendAll(node, child);
      else if (child instanceof Node) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
    return node;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttributes(node, attrs);
    return appendAll(node, children);
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttributes(node, attrs);
    return appendAll(node, children);
  }

  function fill(container, ...children) {
    container.replaceChildren();
    appendAll(container, children);
  }

  function byId(id) {
    return document.getElementById(id);
  }

  // A <details> that stays open across refreshes.
  function details(key, summary, ...body) {
    const node = el("details", { "data-key": key, open: state.openDetails.has(key) });
    node.addEventListener("toggle", () => {
      if (node.open) state.openDetails.add(key);
      else state.openDetails.delete(key);
    });
    return appendAll(node, [el("summary", null, summary), ...body]);
  }

  // -- formatting -------------------------------------------------------------------------------

  function text(value) {
    return value === null || value === undefined || value === "" ? "–" : String(value);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "n/a";
    const s = Number(seconds);
    if (s < 120) return s.toFixed(s < 10 ? 1 : 0) + " s";
    if (s < 7200) return (s / 60).toFixed(1) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  }

  function when(iso) {
    if (!iso) return "–";
    return String(iso).replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z");
  }

  function percent(fraction) {
    return fraction === null || fraction === undefined ? "n/a" : (fraction * 100).toFixed(0) + " %";
  }

  function short(digest) {
    if (!digest) return "–";
    const s = String(digest);
    return s.length > 19 ? s.slice(0, 19) + "…" : s;
  }

  function number(value, digits) {
    if (value === null || value === undefined) return "n/a";
    const n = Number(value);
    return Number.isInteger(n) ? String(n) : n.toFixed(digits === undefined ? 3 : digits);
  }

  const PHASE_CLASS = {
    healthy: "ok",
    successful: "ok",
    degraded: "bad",
    aborted: "bad",
    failed: "bad",
    error: "bad",
    aborting: "warn",
    progressing: "warn",
    paused: "warn",
    inconclusive: "warn",
    running: "warn",
    pending: "warn",
    idle: "muted",
  };

  function badge(label, tone) {
    return el("span", { class: "badge " + (tone || "muted") }, label);
  }

  function phaseBadge(phase) {
    return badge(text(phase), PHASE_CLASS[String(phase || "").toLowerCase()] || "muted");
  }

  function table(headers, rows, rowClass) {
    return el(
      "table",
      null,
      el("thead", null, el("tr", null, headers.map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        null,
        rows.map((cells, i) =>
          el("tr", { class: rowClass ? rowClass(i) : null }, cells.map((c) => el("td", null, c))),
        ),
      ),
    );
  }

  function empty(message) {
    return el("p", { class: "muted empty" }, message);
  }

  // -- data -------------------------------------------------------------------------------------

  async function getJSON(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    let body;
    try {
      body = await response.json();
    } catch (_) {
      throw new Error(path + ": HTTP " + response.status + ", not JSON");
    }
    if (!response.ok) {
      throw new Error(body && body.error ? String(body.error) : path + ": HTTP " + response.status);
    }
    return body;
  }

  function sectionError(sectionId, error) {
    const box = byId(sectionId).querySelector(".section-error");
    if (!error) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    fill(box, el("strong", null, "Cannot load: "), String(error.message || error));
    box.hidden = false;
  }

  async function section(sectionId, load) {
    try {
      await load();
      sectionError(sectionId, null);
    } catch (error) {
      sectionError(sectionId, error);
    }
  }

  // -- environments and rollouts ------------------------------------------------------------------

  function weights(env) {
    const canary = Number(env.canary_weight || 0);
    if (env.canary_release) {
      return "stable " + (100 - canary) + " % / canary " + canary + " % (" + env.canary_release + ")";
    }
    return env.stable_release ? "stable 100 %" : "–";
  }

  function analysisBlock(verdict, key) {
    if (!verdict) return el("p", { class: "muted" }, "no analysis yet");
    const metrics = Object.entries(verdict.metrics || {});
    return el(
      "div",
      { class: "analysis" },
      el(
        "p",
        null,
        el("strong", null, "Analysis "),
        phaseBadge(verdict.phase),
        " ",
        text(verdict.summary),
      ),
      verdict.release
        ? el(
            "p",
            { class: "muted" },
            verdict.release + " vs " + text(verdict.baseline) + " at " +
              text(verdict.canary_weight) + " %, " + text(verdict.mode) + ", " +
              duration(verdict.seconds),
          )
        : null,
      (verdict.reasons || []).length
        ? el("ul", { class: "reasons" }, verdict.reasons.map((r) => el("li", null, r)))
        : null,
      metrics.length
        ? details(
            key + "-metrics",
            "numbers (" + metrics.length + ")",
            table(["metric", "value"], metrics.map(([k, v]) => [k, number(v)])),
          )
        : null,
    );
  }

  function shadowBlock(shadow, key) {
    if (!shadow) return null;
    const lines = shadow.report || [];
    return el(
      "div",
      { class: "shadow" },
      el(
        "p",
        null,
        el("strong", null, "Shadow "),
        badge(shadow.passed ? "passed" : "blocked", shadow.passed ? "ok" : "bad"),
        " ",
        text(shadow.summary),
      ),
      lines.length
        ? details(key + "-shadow", "largest moves (" + lines.length + ")",
            el("ul", { class: "report" }, lines.slice(0, 20).map((l) => el("li", null, l))))
        : null,
    );
  }

  function envCard(name, env) {
    const last = env.last_deploy;
    const rows = [
      ["release", el("span", { class: "release" }, text(env.stable_release))],
      ["digest", short(env.stable_digest)],
      ["weights", weights(env)],
      ["strategy", text(env.strategy)],
      ["health", text(env.health)],
      ["front door", text(env.url)],
      [
        "last deploy",
        last
          ? [text(last.release), " ", badge(last.ok ? "ok" : "failed", last.ok ? "ok" : "bad"),
             " ", when(last.at), " by ", text(last.actor)]
          : "–",
      ],
    ];
    if (env.controller && env.controller !== "idle") rows.push(["controller", text(env.controller)]);
    if (env.warm) {
      rows.push(["warm", text(env.warm.release) + " (retired in " + duration(env.warm.retire_in_s) + ")"]);
    }
    return el(
      "article",
      { class: "card", "data-env": name },
      el("h3", null, el("span", { class: "env-name" }, name), " ", el("span", { class: "phase" }, phaseBadge(env.phase))),
      el("dl", null, rows.map(([k, v]) => [el("dt", null, k), el("dd", null, v)])),
      analysisBlock(env.analysis, "env-" + name),
      shadowBlock(env.shadow, "env-" + name),
    );
  }

  function inProgress(env) {
    return Boolean(env.canary_release) ||
      Boolean(env.rollout && !["Healthy", "Aborted"].includes(env.rollout.phase));
  }

  function rolloutBlock(name, env) {
    const ro = env.rollout || {};
    const steps = ro.steps || [];
    return el(
      "article",
      { class: "rollout", "data-env": name },
      el("h3", null, name + ": " + text(ro.release || env.canary_release) + " ", phaseBadge(ro.phase || env.phase)),
      el("p", null, text(ro.strategy) + ", canary at " + Number(env.canary_weight || 0) + " %, step " +
        (Number(ro.step || 0) + 1) + " of " + steps.length),
      steps.length
        ? el("ol", { class: "steps" }, steps.map((s, i) =>
            el("li", { class: i < ro.step ? "done" : i === ro.step ? "current" : null }, s)))
        : null,
      ro.message ? el("p", null, text(ro.message)) : null,
      el("p", { class: "muted" }, "controller: " + text(env.controller)),
      analysisBlock(env.analysis, "rollout-" + name),
      (ro.history || []).length
        ? details("rollout-" + name + "-history", "recent steps",
            el("ul", null, ro.history.map((h) => el("li", null, typeof h === "string" ? h : JSON.stringify(h)))))
        : null,
    );
  }

  async function loadStatus() {
    const data = await getJSON("/api/status");
    const envs = Object.entries(data.environments || {});
    fill(byId("env-cards"), envs.length ? envs.map(([n, e]) => envCard(n, e)) : empty("no environments configured"));
    const active = envs.filter(([, e]) => inProgress(e));
    fill(byId("rollout-list"), active.length ? active.map(([n, e]) => rolloutBlock(n, e)) : empty("no rollout in progress"));
  }

  // -- charts -------------------------------------------------------------------------------------

  const CHART = { width: 440, height: 180, left: 52, right: 10, top: 18, bottom: 28 };
  const MAX_BAR = 44;

  function frame(label, yMaxLabel) {
    const { width, height, left, right, top, bottom } = CHART;
    const root = svg("svg", {
      viewBox: "0 0 " + width + " " + height,
      class: "chart-svg",
      role: "img",
      "aria-label": label,
      preserveAspectRatio: "xMidYMid meet",
    });
    appendAll(root, [
      svg("title", null, label),
      svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }),
      svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }),
      svg("text", { class: "tick", x: left - 6, y: top + 4, "text-anchor": "end" }, yMaxLabel),
      svg("text", { class: "tick", x: left - 6, y: height - bottom, "text-anchor": "end" }, "0"),
    ]);
    return root;
  }

  // One bar per item: [{label, value, tone, tip}], x labels under the first and last bar.
  function barChart(label, items, yFormat, yMax) {
    const { width, height, left, right, top, bottom } = CHART;
    const max = Math.max(yMax || 0, ...items.map((i) => Number(i.value) || 0)) || 1;
    const root = frame(label, yFormat(max));
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const slot = plotW / Math.max(items.length, 1);
    const barW = Math.min(slot * 0.7, MAX_BAR);
    items.forEach((item, i) => {
      const h = (Math.max(Number(item.value) || 0, 0) / max) * plotH;
      const x = left + i * slot + (slot - barW) / 2;
      const y = top + plotH - h;
      root.appendChild(
        svg("g", { class: "bar " + (item.tone || "ok"), "data-label": item.label },
          svg("rect", { x: x.toFixed(1), y: y.toFixed(1), width: barW.toFixed(1), height: h.toFixed(1) }),
          items.length <= 12
            ? svg("text", { class: "value", x: (x + barW / 2).toFixed(1), y: (y - 4).toFixed(1), "text-anchor": "middle" }, yFormat(item.value))
            : null,
          svg("title", null, item.tip || item.label + ": " + yFormat(item.value))),
      );
    });
    if (items.length) {
      root.appendChild(svg("text", { class: "tick", x: left + slot / 2, y: height - 10, "text-anchor": "middle" }, items[0].label));
      if (items.length > 1) {
        root.appendChild(svg("text", { class: "tick", x: left + plotW - slot / 2, y: height - 10, "text-anchor": "middle" }, items[items.length - 1].label));
      }
    }
    return root;
  }

  function dayList(sinceIso, untilIso) {
    const days = [];
    const start = new Date(String(sinceIso).slice(0, 10) + "T00:00:00Z");
    const end = new Date(String(untilIso).slice(0, 10) + "T00:00:00Z");
    for (let d = start; d <= end && days.length < 4000; d = new Date(d.getTime() + 86400000)) {
      days.push(d.toISOString().slice(0, 10));
    }
    return days;
  }

  // Deploys per UTC day over the whole window; a stacked bar only on days with deploys.
  function deploysChart(dora) {
    const perDay = (dora.series && dora.series.deploys_per_day) || [];
    if (!perDay.length) return empty("no deploys to " + dora.env + " in the window (n/a)");
    const days = dayList(dora.window.since, dora.window.until);
    const index = new Map(days.map((d, i) => [d, i]));
    const { width, height, left, right, top, bottom } = CHART;
    const max = Math.max(...perDay.map((d) => d.succeeded + d.aborted), 1);
    const root = frame("deploys per day to " + dora.env, String(max));
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const slot = plotW / Math.max(days.length, 1);
    for (const day of perDay) {
      const i = index.has(day.date) ? index.get(day.date) : days.length - 1;
      const x = left + i * slot + slot * 0.1;
      const w = Math.max(slot * 0.8, 1.5);
      const parts = [
        ["ok", day.succeeded - day.failed],
        ["failed", day.failed],
        ["aborted", day.aborted],
      ];
      const group = svg("g", { class: "bar", "data-date": day.date, "data-deploys": day.succeeded });
      let y = top + plotH;
      for (const [tone, count] of parts) {
        if (count <= 0) continue;
        const h = (count / max) * plotH;
        y -= h;
        group.appendChild(svg("rect", { class: tone, x: x.toFixed(1), y: y.toFixed(1), width: w.toFixed(1), height: h.toFixed(1) }));
      }
      group.appendChild(svg("title", null, day.date + ": " + day.succeeded + " deploy(s), " + day.failed +
        " later failed, " + day.aborted + " aborted canary"));
      root.appendChild(group);
    }
    root.appendChild(svg("text", { class: "tick", x: left, y: height - 10, "text-anchor": "start" }, days[0]));
    root.appendChild(svg("text", { class: "tick", x: width - right, y: height - 10, "text-anchor": "end" }, days[days.length - 1]));
    return root;
  }

  // -- DORA ---------------------------------------------------------------------------------------

  function figure(title, value, note, extra) {
    return el("div", { class: "figure" }, el("h3", null, title), el("p", { class: "value" }, value),
      el("p", { class: "muted" }, note), extra || null);
  }

  function renderDora(d) {
    const f = d.deployment_frequency;
    const lead = d.lead_time;
    const cfr = d.change_failure_rate;
    const ttr = d.time_to_restore;
    fill(byId("dora-window"), "window " + when(d.window.since) + " → " + when(d.window.until));
    fill(
      byId("dora-figures"),
      figure("Deployment frequency", f.deploys + " deploys", number(f.per_week, 1) + " a week — " + f.band),
      figure("Lead time", "median " + duration(lead.median_s), "p90 " + duration(lead.p90_s) + " over " + lead.changes + " change(s)"),
      figure(
        "Change failure rate",
        percent(cfr.rate),
        cfr.failed + " of " + cfr.deploys + " deploys",
        cfr.failures.length
          ? el("ul", { class: "failures" }, cfr.failures.map((x) => el("li", null, x.release + ": " + x.reason)))
          : null,
      ),
      figure("Time to restore", "median " + duration(ttr.median_s),
        "max " + duration(ttr.max_s) + " over " + ttr.restored + " restored incident(s)" +
          (ttr.still_open ? ", " + ttr.still_open + " still open" : "")),
    );
    fill(byId("dora-deploys-chart").querySelector(".chart"), deploysChart(d));
    const leads = (d.series && d.series.lead_times) || [];
    fill(
      byId("dora-lead-chart").querySelector(".chart"),
      leads.length
        ? barChart("lead time per deploy", leads.map((x) => ({
            label: String(x.at).slice(0, 10), value: x.lead_time_s, tone: x.failed ? "failed" : "ok",
            tip: x.release + " deployed " + when(x.at) + ": " + duration(x.lead_time_s),
          })), duration)
        : empty("no lead times in the window (n/a)"),
    );
    fill(
      byId("dora-coverage-chart").querySelector(".chart"),
      d.coverage.length
        ? barChart("coverage per release", d.coverage.map((x) => ({ label: x.release, value: x.percent, tone: "info" })),
            (v) => number(v, 1) + " %", 100)
        : empty("no coverage measured in the window (n/a)"),
    );
    fill(
      byId("dora-build-chart").querySelector(".chart"),
      d.build_time.length
        ? barChart("build time per release", d.build_time.map((x) => ({ label: x.release, value: x.seconds, tone: "info" })),
            (v) => number(v, 1) + " s")
        : empty("no builds in the window (n/a)"),
    );
    fill(
      byId("dora-definitions").querySelector("dl"),
      Object.entries(d.definitions || {}).map(([k, v]) => [el("dt", null, k.replace(/_/g, " ")), el("dd", null, v)]),
    );
  }

  async function loadDora() {
    const env = state.doraEnv || "prod";
    const days = state.doraDays;
    renderDora(await getJSON("/api/dora?env=" + encodeURIComponent(env) + "&days=" + encodeURIComponent(days)));
  }

  // -- incidents, risk runs, history --------------------------------------------------------------

  async function loadIncidents() {
    const data = await getJSON("/api/incidents?limit=50");
    fill(
      byId("incident-list"),
      el("p", null, data.total + " incident(s), " + data.open + " open"),
      data.incidents.length
        ? table(
            ["id", "env", "status", "summary", "opened", "cause", "release", "restored after", "root cause", "regression test"],
            data.incidents.map((i) => [
              i.id,
              text(i.env),
              badge(i.status, i.status === "open" ? "bad" : "ok"),
              el("span", { class: "summary" }, text(i.summary)),
              when(i.opened_at) + " by " + text(i.opened_by),
              text(i.cause) + (i.automatic ? " (automatic)" : ""),
              text(i.release),
              duration(i.restore_seconds),
              text(i.root_cause),
              text(i.regression_test),
            ]),
            (k) => (data.incidents[k].status === "open" ? "open" : null),
          )
        : empty("no incidents"),
    );
  }

  const RUN_TONE = { succeeded: "ok", "failed attempt": "warn", "fell back": "warn", failed: "bad" };

  async function loadRiskRuns() {
    const data = await getJSON("/api/risk-runs?limit=20");
    fill(
      byId("risk-run-list"),
      data.runs.length
        ? table(
            ["#", "time", "env", "business date", "release", "outcome", "exit", "duration", "note"],
            data.runs.map((r) => [
              String(r.seq),
              when(r.time),
              text(r.env),
              text(r.date),
              text(r.release),
              badge(r.outcome, RUN_TONE[r.outcome] || "muted"),
              text(r.exit_code),
              r.seconds === null || r.seconds === undefined ? "–" : duration(r.seconds),
              el("span", { class: "summary" }, text(r.summary || r.output)),
            ]),
          )
        : empty("no risk runs recorded"),
    );
  }

  async function loadHistory() {
    const data = await getJSON("/api/history?limit=50");
    fill(
      byId("release-list"),
      data.releases.length
        ? table(
            ["release", "version", "commit", "author", "built", "change class", "environments"],
            data.releases.map((r) => [
              el("span", { class: "release" }, r.release),
              text(r.version),
              String(r.commit || "").slice(0, 12),
              text(r.author),
              when(r.built_at),
              text(r.change_class) + (r.dirty ? " (dirty)" : ""),
              r.environments.length ? r.environments.map((e) => [badge(e, "info"), " "]) : "–",
            ]),
          )
        : empty("no releases built yet"),
    );
    const events = data.events.slice(0, 25);
    fill(
      byId("event-list"),
      events.length
        ? table(["#", "time", "actor", "action", "env", "release"],
            events.map((e) => [String(e.seq), when(e.time), text(e.actor), text(e.action), text(e.env), text(e.release)]))
        : empty("no events"),
    );
  }

  // -- audit trail --------------------------------------------------------------------------------

  async function loadAudit() {
    const [verify, tail] = await Promise.allSettled([
      getJSON("/api/audit/verify"),
      getJSON("/api/audit/entries?limit=50"),
    ]);
    const box = byId("audit-verification");
    const top = byId("audit-badge");
    let bad = new Set();
    if (verify.status === "fulfilled") {
      const v = verify.value;
      bad = new Set((v.problems || []).map((p) => p.entry).filter((s) => s !== null));
      if (v.ok) {
        box.className = "verification ok";
        fill(box, el("strong", null, "Verified: "),
          v.entries + " entries, " + v.checkpoints + " signed checkpoints, root " + String(v.root).slice(0, 16) + "…" +
            (v.unanchored_entries ? " (" + v.unanchored_entries + " entries after the last checkpoint)" : ""));
        top.className = "badge ok";
        fill(top, "audit trail verified");
      } else {
        box.className = "verification failed";
        fill(
          box,
          el("strong", null, "TAMPERED: "),
          v.first_bad_entry ? "first bad entry #" + v.first_bad_entry : "checkpoints do not verify",
          el("ul", null, (v.problems || []).map((p) => el("li", null, p.message))),
        );
        top.className = "badge bad";
        fill(top, v.first_bad_entry ? "audit trail TAMPERED (#" + v.first_bad_entry + ")" : "audit trail TAMPERED");
      }
      box.dataset.ok = String(Boolean(v.ok));
      box.dataset.firstBadEntry = v.first_bad_entry === null ? "" : String(v.first_bad_entry);
    } else {
      box.className = "verification failed";
      box.dataset.ok = "false";
      fill(box, el("strong", null, "Cannot verify: "), String(verify.reason.message || verify.reason));
      top.className = "badge bad";
      fill(top, "audit trail: cannot verify");
    }
    if (tail.status === "fulfilled") {
      const t = tail.value;
      fill(
        byId("audit-entries"),
        el("p", { class: "muted" }, "last " + t.entries.length + " of " + t.total + " entries, newest first"),
        t.entries.length
          ? table(
              ["#", "time", "actor", "action", "env", "release", "details"],
              t.entries.map((e) => [String(e.seq), when(e.time), text(e.actor), text(e.action), text(e.env),
                text(e.release || short(e.digest)), el("code", null, e.summary)]),
              (i) => (bad.has(t.entries[i].seq) ? "bad" : null),
            )
          : empty("the audit trail is empty"),
      );
    } else {
      throw tail.reason;
    }
  }

  // -- refresh loop -------------------------------------------------------------------------------

  async function loadConfig() {
    const config = await getJSON("/api/config");
    const wanted = Number(params.get("refresh"));
    state.refreshSeconds = wanted >= 1 && wanted <= 300 ? wanted : config.refresh_seconds || 5;
    fill(byId("refresh-s"), String(state.refreshSeconds));
    const select = byId("dora-env");
    const envs = config.environments || [];
    if (!state.doraEnv) state.doraEnv = envs.includes("prod") ? "prod" : envs[0] || "prod";
    fill(select, envs.map((e) => el("option", { value: e, selected: e === state.doraEnv }, e)));
  }

  async function refresh() {
    await Promise.all([
      section("environments", loadStatus),
      section("dora", loadDora),
      section("incidents", loadIncidents),
      section("risk-runs", loadRiskRuns),
      section("history", loadHistory),
      section("audit", loadAudit),
    ]);
    state.refreshes += 1;
    document.body.dataset.refreshes = String(state.refreshes);
    fill(byId("updated"), "updated " + new Date().toISOString().slice(11, 19) + " UTC");
  }

  async function tick() {
    try {
      await refresh();
    } finally {
      state.timer = window.setTimeout(tick, state.refreshSeconds * 1000);
    }
  }

  async function start() {
    try {
      await loadConfig();
    } catch (error) {
      fill(byId("updated"), "cannot reach the dashboard's API: " + String(error.message || error));
    }
    byId("dora-env").addEventListener("change", (event) => {
      state.doraEnv = event.target.value;
      section("dora", loadDora);
    });
    byId("dora-days").addEventListener("change", (event) => {
      state.doraDays = event.target.value;
      section("dora", loadDora);
    });
    await tick();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
