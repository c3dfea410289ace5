/**
 * Terminal output of the suite. Progress (what runs now, elapsed time) goes to stderr as it happens;
 * the final table goes to stdout. Both are plain lines, readable in a CI log too.
 */
import type { RunRecord, SuiteResults } from './results.js';

export class Progress {
  private readonly startedMs = performance.now();
  private section = '';

  constructor(private readonly out: NodeJS.WritableStream = process.stderr) {}

  private stamp(): string {
    const s = (performance.now() - this.startedMs) / 1000;
    return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}]`;
  }

  begin(section: string, what: string): void {
    this.section = section;
    this.out.write(`${this.stamp()} ${section}: ${what}\n`);
  }

  step(what: string): void {
    this.out.write(`${this.stamp()}   ${this.section} | ${what}\n`);
  }

  result(r: RunRecord): void {
    this.out.write(`${this.stamp()}   ${this.section} | ${r.name}: ${figure(r)}\n`);
  }

  warn(what: string): void {
    this.out.write(`${this.stamp()}   ${this.section} | NOTE: ${what}\n`);
  }
}

export function rate(n: number | null | undefined, unit = 'events/s'): string {
  if (n === null || n === undefined) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G ${unit}`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M ${unit}`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}K ${unit}`;
  return `${n.toFixed(0)} ${unit}`;
}

/** The main figure of a run, for tables. */
export function figure(r: RunRecord): string {
  const parts: string[] = [];
  if (r.events_per_sec !== undefined) parts.push(rate(r.events_per_sec));
  if (r.events_per_cpu_sec !== undefined) parts.push(rate(r.events_per_cpu_sec, 'events/CPU-s'));
  if (r.rows_per_sec !== undefined) parts.push(rate(r.rows_per_sec, 'rows/s'));
  if (r.gb_per_sec !== undefined) parts.push(`${r.gb_per_sec.toFixed(2)} GB/s`);
  if (r.mb_per_sec !== undefined) parts.push(`${r.mb_per_sec.toFixed(0)} MB/s`);
  if (r.p50_ms !== undefined) parts.push(`p50 ${r.p50_ms.toFixed(1)} ms, p99 ${r.p99_ms?.toFixed(1)} ms (${r.samples} windows)`);
  if (r.peak_rss_mib !== undefined) parts.push(`peak RSS ${r.peak_rss_mib} MiB`);
  return parts.join(', ');
}

function paramsText(p: RunRecord['params']): string {
  return Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** The table printed at the end: every run, grouped by section, then the headline and the targets. */
export function renderTable(r: SuiteResults): string {
  const lines: string[] = [];
  const nameWidth = Math.min(70, Math.max(20, ...r.runs.map((x) => x.name.length)));
  let section = '';
  for (const run of r.runs) {
    if (run.section !== section) {
      section = run.section;
      lines.push('', `== ${section} ${'='.repeat(Math.max(0, nameWidth - section.length))}`);
    }
    lines.push(`  ${run.name.slice(0, nameWidth).padEnd(nameWidth)}  ${figure(run)}`);
    const p = paramsText(run.params);
    if (p) lines.push(`  ${''.padEnd(nameWidth)}    ${p}`);
  }
  lines.push('', '== headline (NDJSON replay on the same file; peers checked equal to ringflow first) ==');
  const row = (label: string, eps: number | null, cpu: number | null, rss: number | null) =>
    `  ${label.padEnd(34)} ${rate(eps).padStart(18)} ${rate(cpu, 'events/CPU-s').padStart(22)}   peak RSS ${rss === null ? '-' : `${rss} MiB`}`;
  const c = r.events_per_cpu_sec;
  lines.push(row('ringflow replay (NDJSON)', r.ringflow_replay_events_per_sec, c.ringflow_replay, r.peak_rss_mib.ringflow_replay));
  lines.push(row('ringflow columnar (no decode)', r.ringflow_columnar_events_per_sec, c.ringflow_columnar, r.peak_rss_mib.ringflow_columnar));
  lines.push(row('hand-written Node pipeline', r.naive_node_events_per_sec, c.naive_node, r.peak_rss_mib.naive_node));
  lines.push(row('Apache Flink', r.flink_events_per_sec, c.flink, r.peak_rss_mib.flink));
  lines.push('', '== targets ==');
  for (const t of r.targets) {
    const measured = t.measured === null ? 'not measured' : t.unit === 'x' ? `${t.measured}x` : rate(t.measured, t.unit);
    const req = t.unit === 'x' ? `${t.required}x` : rate(t.required, t.unit);
    lines.push(`  ${(t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS')}  ${t.target} (${t.source}): ${measured}, target >= ${req}`);
  }
  for (const s of r.skipped) lines.push(`  skipped: ${s.section} / ${s.what}: ${s.reason}`);
  for (const e of r.errors) lines.push(`  ERROR: ${e.section} / ${e.what}: ${e.reason}`);
  return `${lines.join('\n')}\n`;
}
