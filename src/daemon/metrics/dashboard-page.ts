/**
 * The live dashboard (`GET /` of the metrics server): one self-contained page, no build step and
 * nothing fetched from elsewhere. It polls `/dashboard.json` (the registry's metrics as JSON, the
 * same figures as /metrics) every second, keeps the last five minutes of samples in the page, and
 * draws the rates on a canvas. With a bearer token configured, the page asks for it once and keeps it
 * in the tab's sessionStorage.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringflow</title>
<style>
  :root { --bg:#0f1419; --panel:#182028; --text:#e6e6e6; --dim:#8a96a3; --accent:#4fc3f7; --ok:#66bb6a; --bad:#ef5350; --warn:#ffca28; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; gap:16px; align-items:baseline; padding:12px 20px; background:var(--panel); }
  header h1 { margin:0; font-size:18px; }
  .dim { color:var(--dim); }
  #ready.ok { color:var(--ok); } #ready.bad { color:var(--bad); }
  main { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:14px; padding:14px 20px; }
  section { background:var(--panel); border-radius:6px; padding:12px 14px; }
  h2 { margin:0 0 8px; font-size:13px; text-transform:uppercase; letter-spacing:.05em; color:var(--dim); }
  .big { font-size:26px; font-weight:600; }
  .mid { font-size:18px; font-weight:600; white-space:nowrap; }
  .wide { grid-column:span 2; }
  .row { display:flex; gap:24px; flex-wrap:wrap; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th, td { text-align:right; padding:3px 6px; } th:first-child, td:first-child { text-align:left; }
  th { color:var(--dim); font-weight:normal; }
  .bar { height:8px; background:var(--accent); border-radius:2px; }
  canvas { width:100%; height:160px; }
  #error { color:var(--bad); padding:0 20px; }
</style>
</head>
<body>
<header><h1>ringflow <span id="daemon" class="dim"></span></h1><span id="ready"></span><span id="updated" class="dim"></span></header>
<div id="error"></div>
<main>
  <section><h2>Throughput (events/s, last 5 min)</h2>
    <div class="row"><div>input <span id="input-rate" class="big">-</span></div><div>accepted <span id="accepted-rate" class="big">-</span></div></div>
    <canvas id="chart" width="800" height="160"></canvas></section>
  <section><h2>Funnel</h2>
    <table id="funnel"><tr><th>outcome</th><th>events</th><th></th></tr></table>
    <div class="dim">input <span id="input-total">-</span></div>
    <h2 style="margin-top:10px">Dead letters by reason</h2><table id="reasons"></table><div id="more-reasons" class="dim"></div></section>
  <section><h2>Event time</h2>
    <div>watermark <span id="watermark" class="mid">-</span></div>
    <div>behind wall clock <span id="watermark-lag">-</span></div>
    <div>windows emitted <span id="windows">-</span> (<span id="window-rows">-</span> rows), unsettled chunks <span id="unsettled">-</span></div></section>
  <section><h2>Source partitions</h2><table id="partitions"></table></section>
  <section class="wide"><h2>Sinks</h2><table id="sinks"></table></section>
  <section class="wide"><h2>Last closed window <span id="last-window-span" class="dim"></span></h2><table id="last-window"></table></section>
  <section><h2>Process</h2><div class="row"><div>RSS <span id="rss">-</span></div><div>heap <span id="heap">-</span></div>
    <div>event loop p99 <span id="loop">-</span></div><div>CPU <span id="cpu">-</span></div><div>workers busy <span id="busy">-</span></div></div>
    <h2 style="margin-top:10px">Ring fill per partition</h2><table id="rings"></table></section>
</main>
<script>
"use strict";
const HISTORY_MS = 5 * 60 * 1000;
const history = [];
let prev = null;
const $ = (id) => document.getElementById(id);
const fmt = (v) => Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-';
const rateFmt = (v) => !Number.isFinite(v) ? '-' : v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(1) + 'K' : v.toFixed(0);
const mib = (b) => Number.isFinite(b) ? (b / 1048576).toFixed(0) + ' MiB' : '-';
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function index(metrics) {
  const byName = new Map();
  for (const m of metrics) for (const v of m.values) {
    const name = v.metricName || m.name;
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push(v);
  }
  const all = (name) => byName.get(name) || [];
  const value = (name, match) => {
    let sum = 0, found = false;
    for (const v of all(name)) if (Object.entries(match || {}).every(([k, x]) => String(v.labels[k]) === x)) { sum += v.value; found = true; }
    return found ? sum : NaN;
  };
  const labels = (name, label) => [...new Set(all(name).map((v) => v.labels[label]).filter((x) => x !== undefined).map(String))]
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const quantile = (hist, q, match) => {
    const b = all(hist + '_bucket').filter((v) => Object.entries(match).every(([k, x]) => String(v.labels[k]) === x))
      .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), n: v.value })).sort((x, y) => x.le - y.le);
    const total = b.length ? b[b.length - 1].n : 0;
    if (total <= 0) return NaN;
    const rank = q * total; let pl = 0, pn = 0;
    for (const x of b) { if (x.n >= rank) return Number.isFinite(x.le) ? pl + (x.le - pl) * ((rank - pn) / Math.max(1e-12, x.n - pn)) : pl; pl = x.le; pn = x.n; }
    return pl;
  };
  return { all, value, labels, quantile };
}

function rate(cur, name, match) {
  if (!prev || cur.at <= prev.at) return NaN;
  const d = cur.m.value(name, match) - prev.m.value(name, match);
  return d >= 0 ? d / ((cur.at - prev.at) / 1000) : NaN;
}

/** Rates over about five polls (raw one-second rates jump with the source's chunking), drawn over the time the page has seen, up to five minutes. */
function drawChart() {
  const c = $('chart'); const ctx = c.getContext('2d');
  c.width = c.clientWidth * devicePixelRatio; c.height = c.clientHeight * devicePixelRatio;
  ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
  const w = c.clientWidth, h = c.clientHeight, now = Date.now();
  ctx.clearRect(0, 0, w, h);
  const points = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[Math.max(0, i - 5)], b = history[i], dt = (b.at - a.at) / 1000;
    if (dt > 0) points.push({ at: b.at, input: (b.input - a.input) / dt, accepted: (b.accepted - a.accepted) / dt });
  }
  if (points.length < 2) return;
  const span = Math.max(10000, now - history[0].at);
  const max = Math.max(1, ...points.map((p) => Math.max(p.input, p.accepted))) * 1.1;
  ctx.fillStyle = '#8a96a3'; ctx.font = '11px system-ui';
  ctx.fillText(rateFmt(max) + '/s', 4, 12); ctx.fillText('-' + Math.round(span / 1000) + ' s', 4, h - 4);
  for (const [key, color] of [['input', '#4fc3f7'], ['accepted', '#66bb6a']]) {
    ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
    points.forEach((p, i) => {
      const x = w - ((now - p.at) / span) * w, y = h - 16 - (p[key] / max) * (h - 32);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

function table(el, head, rows) {
  el.innerHTML = '<tr>' + head.map((x) => '<th>' + esc(x) + '</th>').join('') + '</tr>'
    + rows.map((r) => '<tr>' + r.map((x) => '<td>' + x + '</td>').join('') + '</tr>').join('');
}

function render(cur) {
  const m = cur.m;
  const ready = m.all('ringflow_ready')[0];
  $('daemon').textContent = ready ? ready.labels.daemon : '';
  $('ready').textContent = m.value('ringflow_ready') === 1 ? 'ready' : 'not ready';
  $('ready').className = m.value('ringflow_ready') === 1 ? 'ok' : 'bad';
  $('updated').textContent = 'updated ' + new Date(cur.at).toLocaleTimeString();
  const inRate = rate(cur, 'ringflow_input_events_total'), accRate = rate(cur, 'ringflow_events_total', { outcome: 'accepted' });
  $('input-rate').textContent = rateFmt(inRate); $('accepted-rate').textContent = rateFmt(accRate);
  history.push({ at: cur.at, input: m.value('ringflow_input_events_total'), accepted: m.value('ringflow_events_total', { outcome: 'accepted' }) });
  while (history.length && history[0].at < cur.at - HISTORY_MS) history.shift();
  drawChart();
  const input = m.value('ringflow_input_events_total');
  $('input-total').textContent = fmt(input);
  const outcomes = ['accepted', 'invalid', 'duplicate', 'late', 'failed'].map((o) => [o, m.value('ringflow_events_total', { outcome: o })]);
  table($('funnel'), ['outcome', 'events', ''], outcomes.map(([o, v]) => [esc(o), '<span data-outcome="' + o + '">' + fmt(v) + '</span>',
    '<div class="bar" style="width:' + (input > 0 ? Math.max(1, 100 * v / input).toFixed(1) : 0) + '%"></div>']));
  const reasons = m.all('ringflow_dead_letter_lines_total').slice().sort((a, b) => b.value - a.value);
  table($('reasons'), ['reason', 'lines'], reasons.slice(0, 8).map((r) => [esc(r.labels.reason), fmt(r.value)]));
  $('more-reasons').textContent = reasons.length > 8 ? '+ ' + (reasons.length - 8) + ' more reasons, '
    + fmt(reasons.slice(8).reduce((a, r) => a + r.value, 0)) + ' lines' : '';
  const wm = m.value('ringflow_watermark_seconds'), wmLag = m.value('ringflow_watermark_lag_seconds');
  $('watermark').textContent = Number.isFinite(wm) ? new Date(wm * 1000).toISOString() : 'none';
  $('watermark-lag').textContent = !Number.isFinite(wmLag) ? '-' : Math.abs(wmLag) < 120 ? wmLag.toFixed(1) + ' s'
    : Math.abs(wmLag) < 7200 ? (wmLag / 60).toFixed(1) + ' min' : Math.abs(wmLag) < 172800 ? (wmLag / 3600).toFixed(1) + ' h' : (wmLag / 86400).toFixed(1) + ' days';
  $('windows').textContent = fmt(m.value('ringflow_windows_emitted_total'));
  $('window-rows').textContent = fmt(m.value('ringflow_window_rows_emitted_total'));
  $('unsettled').textContent = fmt(m.value('ringflow_unsettled_chunks'));
  const parts = m.labels('ringflow_source_delivered_position', 'source_partition');
  const maxLag = Math.max(1, ...parts.map((p) => m.value('ringflow_source_lag', { source_partition: p }) || 0));
  table($('partitions'), ['partition', 'end', 'committed', 'delivered', 'lag', ''], parts.map((p) => {
    const at = { source_partition: p }, lag = m.value('ringflow_source_lag', at);
    return [esc(p), fmt(m.value('ringflow_source_end_position', at)), fmt(m.value('ringflow_source_committed_position', at)),
      fmt(m.value('ringflow_source_delivered_position', at)), fmt(lag),
      '<div class="bar" style="width:' + (Number.isFinite(lag) ? (100 * lag / maxLag).toFixed(1) : 0) + '%"></div>'];
  }));
  const ms = (s) => Number.isFinite(s) ? (s * 1000).toFixed(1) + ' ms' : '-';
  table($('sinks'), ['sink', 'rows/s', 'rows', 'retries', 'dead', 'buffered', 'p50', 'p99'], m.labels('ringflow_sink_rows_written_total', 'sink').map((s) => {
    const at = { sink: s };
    return [esc(s), rateFmt(rate(cur, 'ringflow_sink_rows_written_total', at)), '<span data-sink-rows="' + esc(s) + '">' + fmt(m.value('ringflow_sink_rows_written_total', at)) + '</span>',
      fmt(m.value('ringflow_sink_retries_total', at)), fmt(m.value('ringflow_sink_dead_lettered_rows_total', at)), fmt(m.value('ringflow_sink_buffered_rows', at)),
      ms(m.quantile('ringflow_sink_write_seconds', 0.5, at)), ms(m.quantile('ringflow_sink_write_seconds', 0.99, at))];
  }));
  $('rss').textContent = mib(m.value('ringflow_process_resident_memory_bytes'));
  $('heap').textContent = mib(m.value('ringflow_nodejs_heap_size_used_bytes'));
  const loop = m.value('ringflow_nodejs_eventloop_lag_p99_seconds');
  $('loop').textContent = Number.isFinite(loop) ? (loop * 1000).toFixed(1) + ' ms' : '-';
  const threads = m.value('ringflow_worker_threads'), busy = rate(cur, 'ringflow_worker_busy_seconds_total');
  $('busy').textContent = Number.isFinite(busy) && threads > 0 ? (100 * busy / threads).toFixed(0) + '%' : '-';
  const slots = m.value('ringflow_ring_slots');
  table($('rings'), ['partition', 'batches', ''], m.labels('ringflow_ring_pending_batches', 'partition').map((p) => {
    const n = m.value('ringflow_ring_pending_batches', { partition: p });
    return [esc(p), fmt(n) + ' / ' + fmt(slots), '<div class="bar" style="width:' + (slots > 0 ? (100 * n / slots).toFixed(1) : 0) + '%"></div>'];
  }));
  const cpu = rate(cur, 'ringflow_process_cpu_seconds_total');
  $('cpu').textContent = Number.isFinite(cpu) ? (cpu * 100).toFixed(0) + '%' : '-';
}

/** The newest emitted window's largest groups: group columns as text, figures as numbers. */
function renderLastWindow(rows) {
  if (!rows.length) { $('last-window-span').textContent = '(none yet)'; return; }
  const start = rows[0].window_start, end = rows[0].window_end;
  $('last-window-span').textContent = new Date(start).toISOString() + ' to ' + new Date(end).toISOString().slice(11);
  const cols = Object.keys(rows[0]).filter((k) => k !== 'window_start' && k !== 'window_end' && k !== 'version');
  table($('last-window'), cols, rows.map((r) => cols.map((c) => typeof r[c] === 'number'
    ? (Number.isInteger(r[c]) ? fmt(r[c]) : r[c].toFixed(2)) : esc(r[c] === null ? '' : r[c]))));
}

async function poll() {
  try {
    const token = sessionStorage.getItem('ringflowToken');
    const res = await fetch('dashboard.json', { headers: token ? { authorization: 'Bearer ' + token } : {}, cache: 'no-store' });
    if (res.status === 401) {
      const t = prompt('Bearer token for this daemon\\'s metrics');
      if (t) sessionStorage.setItem('ringflowToken', t);
      throw new Error('the metrics need a bearer token');
    }
    if (!res.ok) throw new Error('dashboard.json answered ' + res.status);
    const cur = { at: Date.now(), m: index(await res.json()) };
    render(cur);
    const last = await fetch('last-window.json', { headers: token ? { authorization: 'Bearer ' + token } : {}, cache: 'no-store' });
    if (last.ok) renderLastWindow(await last.json());
    prev = cur;
    $('error').textContent = '';
  } catch (err) {
    $('error').textContent = 'cannot read the daemon: ' + err.message;
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
`;
