/**
 * Before/after checks: the same quick suite run on two commits of the same checkout, on the same
 * machine, interleaved (before, after, before, after, ...), kept in bench/results/checks/<name>.json and
 * shown in BENCHMARKS.md. A change that should not move speed (a restructuring) is checked this way.
 *
 *   node dist/bench/suite/checks.js <name> "<question>" before=<commit>:<latest.json> after=<commit>:<latest.json> ...
 *
 * The verdict is computed, not written: the change is "within noise" when the after mean differs from
 * the before mean by no more than twice the standard error of that difference (Welch), or 5% when that
 * is smaller, relative to the before mean.
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './child.js';
import { describeMachine } from './machine.js';
import type { SuiteResults } from './results.js';

const CHECKS_DIR = join(REPO_ROOT, 'bench/results/checks');
const METRICS = ['ringflow_replay_events_per_sec', 'ringflow_columnar_events_per_sec'] as const;
type Metric = (typeof METRICS)[number];

export interface CheckRun {
  side: 'before' | 'after';
  commit: string;
  started_at: string;
  mode: SuiteResults['mode'];
  values: Record<Metric, number | null>;
}

export interface QuickCheck {
  name: string;
  question: string;
  machine: string;
  runs: CheckRun[];
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample variance of the mean: s^2 / n. */
const varianceOfMean = (xs: number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length;
};

export function verdict(check: QuickCheck, metric: Metric): { before: number; after: number; change: number; noise: number; withinNoise: boolean } | null {
  const of = (side: CheckRun['side']): number[] => check.runs.filter((r) => r.side === side).map((r) => r.values[metric]).filter((v): v is number => v !== null);
  const b = of('before');
  const a = of('after');
  if (b.length === 0 || a.length === 0) return null;
  const change = mean(a) / mean(b) - 1;
  const noise = Math.max(0.05, (2 * Math.sqrt(varianceOfMean(b) + varianceOfMean(a))) / mean(b));
  return { before: mean(b), after: mean(a), change, noise, withinNoise: Math.abs(change) <= noise };
}

/** The BENCHMARKS.md section of every recorded check. */
export function checksSection(): string {
  let files: string[];
  try {
    files = readdirSync(CHECKS_DIR).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return '';
  }
  const out = ['## Before/after checks', ''];
  const fmt = (v: number): string => `${(v / 1e6).toFixed(2)}M`;
  for (const f of files) {
    const c = JSON.parse(readFileSync(join(CHECKS_DIR, f), 'utf8')) as QuickCheck;
    const quick = (c.runs[0]?.mode ?? 'quick') === 'quick'
      ? ' A quick run is short (its replay file holds 300K events), so start-up and JIT warm-up weigh heavily and single runs vary widely; the means over the interleaved runs are what to compare.'
      : '';
    out.push(`### ${c.question}`, '', `\`bench/results/checks/${f}\`: ${c.runs.length} runs of \`npm run bench -- --${c.runs[0]?.mode ?? 'quick'}\`, interleaved, on ${c.machine}.${quick}`, '');
    out.push('| run | side | commit | started | replay events/s | columnar events/s |', '|---:|---|---|---|---:|---:|');
    c.runs.forEach((r, i) => out.push(`| ${i + 1} | ${r.side} | ${r.commit} | ${r.started_at} | ${r.values.ringflow_replay_events_per_sec === null ? '–' : fmt(r.values.ringflow_replay_events_per_sec)} | ${r.values.ringflow_columnar_events_per_sec === null ? '–' : fmt(r.values.ringflow_columnar_events_per_sec)} |`));
    out.push('');
    for (const m of METRICS) {
      const v = verdict(c, m);
      const label = m === 'ringflow_replay_events_per_sec' ? 'replay' : 'columnar';
      out.push(v === null
        ? `- ${label}: no figures on one side.`
        : `- ${label}: mean ${fmt(v.before)} before, ${fmt(v.after)} after (${v.change >= 0 ? '+' : ''}${(v.change * 100).toFixed(1)}%); noise bound ${(v.noise * 100).toFixed(1)}% (twice the standard error of the difference, at least 5%): **${v.withinNoise ? 'within noise' : 'outside noise'}**.`);
    }
    out.push('');
  }
  return out.join('\n');
}

function main(argv: string[]): void {
  const [name, question, ...specs] = argv;
  if (!name || !question || specs.length < 2) throw new Error('usage: checks.js <name> "<question>" before=<commit>:<latest.json> after=<commit>:<latest.json> ...');
  let machine = '';
  const runs: CheckRun[] = specs.map((spec) => {
    const m = /^(before|after)=([^:]+):(.+)$/.exec(spec);
    if (!m) throw new Error(`not side=commit:path: ${spec}`);
    const r = JSON.parse(readFileSync(m[3], 'utf8')) as SuiteResults;
    machine ||= describeMachine(r.machine);
    return {
      side: m[1] as CheckRun['side'], commit: m[2], started_at: r.started_at, mode: r.mode,
      values: { ringflow_replay_events_per_sec: r.ringflow_replay_events_per_sec, ringflow_columnar_events_per_sec: r.ringflow_columnar_events_per_sec },
    };
  });
  mkdirSync(CHECKS_DIR, { recursive: true });
  const check: QuickCheck = { name, question, machine, runs };
  writeFileSync(join(CHECKS_DIR, `${name}.json`), `${JSON.stringify(check, null, 2)}\n`);
  for (const m of METRICS) process.stdout.write(`${m}: ${JSON.stringify(verdict(check, m))}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main(process.argv.slice(2));
