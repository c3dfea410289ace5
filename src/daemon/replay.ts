/**
 * `ringflow replay <input.ndjson> --pipeline <config> --out <dir>`: a finite file through the same
 * runtime and kernels as the daemon, every window closed at end of input, and three files written:
 *   aggregates.ndjson   one object per (window, group), ordered by window start then group fields
 *   dead-letter.ndjson  {"reason","line","raw"} per invalid or late event, ordered by line
 *   summary.json        input = accepted + invalid + duplicates + late, plus timing and memory
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSource } from '../sources/file/file-source.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { compilePipelinePlan } from '../pipeline/plan.js';
import type { RingflowConfig } from './config.js';
import { ProgressLine } from './progress.js';
import type { DeadLetterEntry, WindowRow } from '../contracts/index.js';

export interface ReplayOptions {
  inputPath: string;
  config: RingflowConfig;
  outDir: string;
  /** Show rate and percent on stderr; default: when stderr is a terminal. */
  progress?: boolean;
}

export interface ReplaySummary {
  input: number;
  accepted: number;
  invalid: number;
  duplicates: number;
  late: number;
  failed: number;
  windows: number;
  aggregate_rows: number;
  elapsed_ms: number;
  events_per_sec: number;
  peak_rss_mib: number;
  threads: number;
  partitions: number;
}

const compareRows = (groupFields: readonly string[]) => (a: WindowRow, b: WindowRow): number => {
  const d = (a.window_start as number) - (b.window_start as number);
  if (d !== 0) return d;
  for (const f of groupFields) {
    const x = String(a[f]);
    const y = String(b[f]);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

export async function replay(opts: ReplayOptions): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const latest = new Map<string, WindowRow>();
  const groupFields = opts.config.aggregate.groupBy;
  const rowKey = (row: WindowRow): string => [row.window_start, ...groupFields.map((f) => row[f])].join('\u0000');
  const deadLetter: DeadLetterEntry[] = [];
  const pipeline = await Pipeline.create(compilePipelinePlan(opts.config, { emitEvents: false }), {
    // A window updated by late events (aggregate.allowedLatenessMs) comes again: the latest row stands.
    onWindowRows: (r) => { for (const row of r) latest.set(rowKey(row), row); },
    onDeadLetter: (e) => { deadLetter.push(e); },
  });
  const source = new FileSource({ path: opts.inputPath });
  const stream = pipeline.openStream(0);
  const progress = new ProgressLine(opts.progress ?? process.stderr.isTTY === true, () => {
    const p = source.progress();
    return { doneBytes: p.bytesRead, totalBytes: p.totalBytes, events: pipeline.stats().input };
  });
  try {
    await source.start((chunk) => stream.push(chunk.bytes));
    await source.finished();
    const stats = await pipeline.finish();
    progress.stop();
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const rows = [...latest.values()].sort(compareRows(groupFields));
    deadLetter.sort((a, b) => a.line - b.line);
    const summary: ReplaySummary = {
      input: stats.input,
      accepted: stats.accepted,
      invalid: stats.invalid,
      duplicates: stats.duplicates,
      late: stats.late,
      failed: stats.failed,
      windows: stats.windowsEmitted,
      aggregate_rows: rows.length,
      elapsed_ms: Math.round(elapsedMs),
      events_per_sec: Math.round(stats.input / (elapsedMs / 1000)),
      peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
      threads: pipeline.runtime.config.threads,
      partitions: pipeline.runtime.partitions,
    };
    await mkdir(opts.outDir, { recursive: true });
    await writeFile(join(opts.outDir, 'aggregates.ndjson'), ndjson(rows));
    await writeFile(join(opts.outDir, 'dead-letter.ndjson'), ndjson(deadLetter));
    await writeFile(join(opts.outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    progress.stop();
    await source.close();
    await pipeline.close();
  }
}

function ndjson(items: readonly object[]): string {
  let out = '';
  for (const it of items) out += `${JSON.stringify(it)}\n`;
  return out;
}
