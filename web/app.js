// SPDX-License-Identifier: Apache-2.0
// app.js — the dashboard: the snapshot stream (/events) fills the tiles and tables; the
// charts start from /api/history and grow with each snapshot.
"use strict";
const $ = (id) => document.getElementById(id);
const fmt = (v, unit) => {
  if (v === undefined || v === null) return "–";
  if (unit === "s") return v < 1e-3 ? (v * 1e6).toFixed(0) + " µs" : (v * 1e3).toFixed(2) + " ms";
  if (unit === "B") { const u = ["B", "KB", "MB", "GB", "TB"]; let i = 0; while (v >= 1024 && i < 4) { v /= 1024; i++; } return v.toFixed(1) + " " + u[i]; }
  if (unit === "%") return (v * 100).toFixed(2) + " %";
  return Math.round(v).toLocaleString();
};
const CHARTS = [
  { el: "c-latency", series: ['swarmkeeper_probe_latency_seconds{quantile="0.5"}', 'swarmkeeper_probe_latency_seconds{quantile="0.95"}', 'swarmkeeper_probe_latency_seconds{quantile="0.99"}'], names: ["P50", "P95", "P99"] },
  { el: "c-ops", series: ["swarmkeeper_redis_ops_per_second"], names: ["ops/s"] },
  { el: "c-coord", series: ['swarmkeeper_coordinators{state="active"}', 'swarmkeeper_coordinators{state="stale"}', 'swarmkeeper_coordinators{state="invalid"}', 'swarmkeeper_coordinators{state="absent"}'], names: ["active", "stale", "invalid", "absent"] },
  { el: "c-mem", series: ["swarmkeeper_redis_memory_used_bytes"], names: ["used"], unit: "B" },
];
const COLORS = ["#2f6fdf", "#e67e22", "#c0392b", "#27ae60"];
const plots = [];
const data = CHARTS.map((c) => [[], ...c.series.map(() => [])]);

function makePlot(i) {
  const c = CHARTS[i];
  const opts = {
    width: Math.max(300, $(c.el).clientWidth || 480), height: 200,
    series: [{}, ...c.names.map((n, k) => ({ label: n, stroke: COLORS[k], width: 1.5 }))],
    axes: [{}, { size: 70, values: c.unit === "B" ? (u, ticks) => ticks.map((t) => fmt(t, "B")) : undefined }],
  };
  plots[i] = new uPlot(opts, data[i], $(c.el));
}

async function loadHistory() {
  for (let i = 0; i < CHARTS.length; i++) {
    const c = CHARTS[i];
    const hs = await Promise.all(c.series.map((s) => fetch("/api/history?window=3600&series=" + encodeURIComponent(s)).then((r) => r.json())));
    const times = [...new Set(hs.flatMap((h) => h.t))].sort((a, b) => a - b);
    data[i] = [times.map((t) => t / 1000), ...hs.map((h) => { const m = new Map(h.t.map((t, k) => [t, h.v[k]])); return times.map((t) => m.has(t) ? m.get(t) : null); })];
    makePlot(i);
  }
}

function addPoint(snap) {
  for (let i = 0; i < CHARTS.length; i++) {
    const d = data[i];
    const t = snap.at / 1000;
    if (d[0].length && d[0][d[0].length - 1] >= t) continue;
    d[0].push(t);
    CHARTS[i].series.forEach((s, k) => d[k + 1].push(snap.values[s] ?? null));
    if (d[0].length > 720) d.forEach((a) => a.shift());
    if (plots[i]) plots[i].setData(d);
  }
}

function rows(id, list) {
  const body = $(id).tBodies[0];
  body.innerHTML = "";
  for (const r of list) {
    const tr = body.insertRow();
    if (r.cls) tr.className = r.cls;
    for (const cell of r.cells) tr.insertCell().textContent = cell;
  }
}

function render(snap) {
  const v = snap.values;
  $("t-active").textContent = fmt(v['swarmkeeper_coordinators{state="active"}']);
  $("t-stale").textContent = fmt(v['swarmkeeper_coordinators{state="stale"}']);
  $("t-invalid").textContent = fmt(v['swarmkeeper_coordinators{state="invalid"}']);
  $("t-absent").textContent = fmt(v['swarmkeeper_coordinators{state="absent"}']);
  $("t-p95").textContent = fmt(v['swarmkeeper_probe_latency_seconds{quantile="0.95"}'], "s");
  $("t-ops").textContent = fmt(v["swarmkeeper_redis_ops_per_second"]);
  $("t-mem").textContent = fmt(v["swarmkeeper_redis_memory_used_bytes"], "B");
  $("t-err").textContent = fmt(v["swarmkeeper_redis_error_ratio"], "%");
  const advice = snap.recommendations || [];
  $("advice-section").hidden = advice.length === 0;
  $("advice").innerHTML = "";
  for (const r of advice) $("advice").appendChild(document.createElement("li")).textContent = r;
  const firing = snap.alerts.filter((a) => a.state === "firing");
  $("t-alerts").textContent = firing.length;
  $("t-alerts").className = "value" + (firing.length ? " bad" : "");
  rows("alerts", snap.alerts.filter((a) => a.state !== "inactive").map((a) => ({
    cls: a.state, cells: [a.name, a.state, a.value === null ? "–" : String(+a.value.toPrecision(4)), String(a.threshold), a.summary] })));
  if (!snap.alerts.some((a) => a.state !== "inactive")) rows("alerts", [{ cells: ["no alerts", "", "", "", ""] }]);
  const le = (k) => { const m = k.match(/le="([^"]+)"/)[1]; return m === "+Inf" ? Infinity : parseFloat(m); };
  const ages = Object.keys(v).filter((k) => k.startsWith("swarmkeeper_heartbeat_age_seconds_bucket")).sort((a, b) => le(a) - le(b));
  let prev = 0;
  rows("ages", ages.map((k) => { const n = v[k] - prev; prev = v[k]; return { cells: [le(k) === Infinity ? "older" : "≤ " + le(k).toLocaleString() + " s", fmt(n)] }; }));
  const queues = Object.keys(v).filter((k) => k.startsWith("swarmkeeper_queue_backlog{"));
  rows("queues", queues.length ? queues.map((k) => ({ cells: [k.match(/key="([^"]*)"/)[1], fmt(v[k])] }))
    : [{ cells: [snap.census && snap.census.complete ? "no queue keys found" : "waiting for the census", ""] }]);
  const cl = [];
  const reap = v["swarmkeeper_cleanup_last_reap_timestamp_seconds"];
  cl.push({ cells: ["last reaped", reap ? new Date(reap * 1000).toLocaleString() : "never (no audit entry)"] });
  cl.push({ cells: ["audit entries", fmt(v["swarmkeeper_cleanup_audit_entries"])] });
  cl.push({ cells: ["running now", v["swarmkeeper_cleanup_lock_held"] ? "yes" : "no"] });
  const overdue = v["swarmkeeper_cleanup_last_success_age_seconds"];
  if (overdue) cl.push({ cells: ["stale, no cleanup for", Math.round(overdue / 60) + " min"] });
  for (const r of snap.cleanupRuns.slice(-5).reverse()) cl.push({ cells: ["run by this monitor", r.error ? "error: " + r.error : fmt(r.keysDeleted) + " keys deleted"] });
  rows("cleanup", cl);
  // Redis away: say so, for how long, and grey what is shown (figures from before).
  const down = snap.redisDownSince;
  if (down) {
    const s = Math.max(0, Math.round((snap.at - down) / 1000));
    $("status").textContent = "Redis unreachable for " + (s >= 60 ? Math.floor(s / 60) + " m " : "") + (s % 60) + " s" +
      " (figures are from before; updated " + new Date(snap.at).toLocaleTimeString() + ")";
  } else {
    $("status").textContent = "updated " + new Date(snap.at).toLocaleTimeString();
  }
  document.body.classList.toggle("redis-down", Boolean(down));
  addPoint(snap);
}

// For the browser test: every chart has at least one non-null value.
window.__skPlotsHaveData = () => plots.length === CHARTS.length && plots.every((p) => p && p.data.slice(1).some((s) => s.some((v) => v !== null && v !== undefined)));

async function main() {
  const first = await fetch("/api/snapshot").then((r) => r.json());
  await loadHistory();
  render(first);
  const es = new EventSource("/events");
  es.addEventListener("snapshot", (e) => render(JSON.parse(e.data)));
  es.onerror = () => { $("status").textContent = "reconnecting…"; };
}
main().catch((e) => { $("status").textContent = "error: " + e.message; console.error(e); });
