/**
 * The threads x partitions sweep as a hand-written SVG line chart (no dependency): x = partitions
 * (evenly spaced, in sweep order), y = events/s from 0, one line per (system, threads). Solid lines
 * are the columnar path, dashed lines NDJSON replay.
 */
import type { RunRecord, SuiteResults } from './results.js';

export interface SweepPoint { system: string; threads: number; partitions: number; eventsPerSec: number }

/** The threads x partitions points among the runs (params.sweep = 'threads_x_partitions'). */
export function sweepPointsOf(runs: readonly RunRecord[]): SweepPoint[] {
  return runs
    .filter((r) => r.params.sweep === 'threads_x_partitions' && r.events_per_sec !== undefined)
    .map((r) => ({ system: String(r.params.system), threads: Number(r.params.threads), partitions: Number(r.params.partitions), eventsPerSec: r.events_per_sec! }));
}

const W = 760, H = 420, LEFT = 80, RIGHT = 200, TOP = 50, BOTTOM = 60;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const label = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(v % 1e6 === 0 ? 0 : 1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(0)}K` : String(v));

export function sweepSvg(points: readonly SweepPoint[], title: string, subtitle: string): string {
  const partitions = [...new Set(points.map((p) => p.partitions))].sort((a, b) => a - b);
  const series = new Map<string, SweepPoint[]>();
  for (const p of points) {
    const key = `${p.system}|${p.threads}`;
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push(p);
  }
  const yMax = niceMax(Math.max(1, ...points.map((p) => p.eventsPerSec)) * 1.05);
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const x = (part: number): number => LEFT + (partitions.length === 1 ? plotW / 2 : (partitions.indexOf(part) * plotW) / (partitions.length - 1));
  const y = (v: number): number => TOP + plotH - (v / yMax) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${LEFT}" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${LEFT - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${label(v)}</text>`);
  }
  for (const p of partitions) {
    out.push(`<text x="${x(p).toFixed(1)}" y="${TOP + plotH + 18}" text-anchor="middle">${p}</text>`);
  }
  out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${TOP + plotH}" y2="${TOP + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + plotH}" stroke="#333"/>`);
  out.push(`<text x="${LEFT + plotW / 2}" y="${H - 18}" text-anchor="middle">partitions</text>`);
  out.push(`<text transform="translate(18 ${TOP + plotH / 2}) rotate(-90)" text-anchor="middle">events/s</text>`);
  let i = 0;
  for (const [key, pts] of series) {
    const [system, threads] = key.split('|');
    const color = COLORS[i % COLORS.length];
    const dash = system === 'replay' ? ' stroke-dasharray="6 4"' : '';
    const sorted = [...pts].sort((a, b) => a.partitions - b.partitions);
    const d = sorted.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p.partitions).toFixed(1)} ${y(p.eventsPerSec).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    for (const p of sorted) {
      out.push(`<circle cx="${x(p.partitions).toFixed(1)}" cy="${y(p.eventsPerSec).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(`${system}, ${p.threads} threads x ${p.partitions} partitions: ${Math.round(p.eventsPerSec).toLocaleString('en-US')} events/s`)}</title></circle>`);
    }
    const ly = TOP + 10 + i * 20;
    out.push(`<line x1="${LEFT + plotW + 16}" x2="${LEFT + plotW + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${LEFT + plotW + 50}" y="${ly + 4}">${esc(`${system}, ${threads} thread${threads === '1' ? '' : 's'}`)}</text>`);
    i++;
  }
  if (points.length === 0) out.push(`<text x="${LEFT + plotW / 2}" y="${TOP + plotH / 2}" text-anchor="middle">no sweep in this run</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The chart of a run's results, titled with what it measured and where. */
export function sweepChartOf(r: SuiteResults): string {
  const m = r.machine;
  const events = [...new Set(r.runs.filter((x) => x.params.sweep === 'threads_x_partitions').map((x) => `${x.params.system} ${Number(x.params.events).toLocaleString('en-US')} events`))];
  return sweepSvg(sweepPointsOf(r.runs), 'ringflow: events/s by threads x partitions',
    `${events.join(', ') || 'no sweep'}; ${m.cores} cores, ${m.cpu_model}; load ${m.load_average_start.one}-${m.load_average_end?.one ?? '?'}`);
}
