/**
 * Window-close latency at a fixed input rate: the columnar generator feeds the real Pipeline at
 * `ratePerSec` events per second of processing time, with event time = the wall clock (so windows
 * close in real time), and the emitted window rows go to the real sink thread with the files sink
 * (append + fdatasync per batch). Per window, two processing times:
 *
 *   closeAt  the watermark passed the window's end (ingest announced the close to the partitions)
 *   ackedAt  the sink thread acknowledged the window's rows (written and fdatasync'ed to windows.ndjson)
 *
 * latency = ackedAt - closeAt: partitions finishing their backlog, the partial aggregates' merge on
 * the main thread, the hand-over to the sink thread, its batching delay (`sinkMaxDelayMs`) and the
 * file write. Short windows (default 250 ms, out-of-orderness 100 ms) give many samples in a few seconds; the
 * per-window work does not depend on the window length at a fixed rate except for rows per window.
 * CLI, one rate per process: node dist/bench/columnar/latency-run.js --rate 100000 --seconds 8 --threads 2 \
 *   --partitions 8 [--window-ms 250] [--lateness-ms 100] [--sink-max-delay-ms 5]   (prints one JSON line)
 *
 * Windows closed in the first second (JIT warm-up) or by the end-of-run flush are not counted.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregateConfigSchema, parseSection } from '../../src/kernels/stage-config.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { parseSinksConfig } from '../../src/sinks/sink-config.js';
import { SinkThread } from '../../src/sinks/thread/client.js';
import { CANONICAL_WINDOW_SHAPE } from '../../src/sinks/sink.js';
import { assertCanonicalLayout, ColumnarClickstream } from './columnar-generator.js';
import { columnarConfig } from './columnar-pipeline.js';
import { intOption } from '../../src/daemon/cli-options.js';
import type { WindowRow } from '../../src/contracts/index.js';
import { compilePipelinePlan } from '../../src/pipeline/plan.js';

export interface LatencyRunOptions {
  ratePerSec: number;
  seconds: number;
  threads: number;
  partitions: number;
  windowMs?: number;
  outOfOrdernessMs?: number;
  /** files sink: longest a row waits before its append. Default: 5 ms. */
  sinkMaxDelayMs?: number;
}

export interface LatencyRunResult {
  targetRatePerSec: number;
  achievedRatePerSec: number;
  windows: number;
  /** Close -> acknowledged by the sink thread (in windows.ndjson, fdatasync'ed). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Close -> rows emitted on the main thread (before the sink). */
  emitP50Ms: number;
  emitP99Ms: number;
  windowMs: number;
  outOfOrdernessMs: number;
  sinkMaxDelayMs: number;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const WARMUP_MS = 1000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runLatency(o: LatencyRunOptions): Promise<LatencyRunResult> {
  const windowMs = o.windowMs ?? 250;
  const latenessMs = o.outOfOrdernessMs ?? 100;
  const sinkMaxDelayMs = o.sinkMaxDelayMs ?? 5;
  const base = await columnarConfig({ events: 0, threads: o.threads, partitions: o.partitions });
  const aggregate = parseSection(aggregateConfigSchema, { ...base.aggregate, window: { type: 'tumbling', sizeMs: windowMs }, outOfOrdernessMs: latenessMs }, 'aggregate');
  const config = { ...base, aggregate };
  const dir = mkdtempSync(join(tmpdir(), 'ringflow-latency-'));
  const sink = await SinkThread.start({
    config: parseSinksConfig({ files: { dir, maxDelayMs: sinkMaxDelayMs }, deadLetterPath: join(dir, 'sink-dead-letter.ndjson'), logAlerts: false }),
    shape: CANONICAL_WINDOW_SHAPE,
    logLevel: 'warn',
  });
  const closeAt = new Map<number, number>();
  const emitted: number[] = [];
  const acked: number[] = [];
  let measuring = true;
  let lastBefore = 0;
  let warmupUntil = Number.POSITIVE_INFINITY;
  const pipeline = await Pipeline.create(compilePipelinePlan(config, { emitEvents: false, ingest: { decodeThreads: 0, keyHashes: 'ingest' } }), {
    onWindowRows: (rows) => {
      const now = performance.now();
      const ends = new Set(rows.map((r) => r.window_end as number));
      const closes = [...ends].map((e) => closeAt.get(e) ?? lastBefore);
      const counted = measuring && closes.every((c) => c >= warmupUntil);
      if (counted) for (const c of closes) emitted.push(now - c);
      void sink.sendWindows(rows as unknown as WindowRow[]).then((d) => d.acked).then(() => {
        const t = performance.now();
        if (counted) for (const c of closes) acked.push(t - c);
      });
    },
    onDeadLetter: (e) => { throw new Error(`latency run: unexpected dead letter ${e.reason}`); },
    // Nothing to decode here: no decode pool threads competing for the cores; the generator hashes
    // the keys as it writes them, so the workers need not.
    });
  const gen = new ColumnarClickstream({ seed: 7 });
  try {
    pipeline.openStream(0);
    assertCanonicalLayout(await pipeline.openStaging());
    const started = performance.now();
    warmupUntil = started + WARMUP_MS;
    let generated = 0;
    let nextEnd = Number.NaN;
    for (let now = started; now - started < WARMUP_MS + o.seconds * 1000; now = performance.now()) {
      let due = Math.floor((o.ratePerSec * (now - started)) / 1000) - generated;
      const clock = Date.now();
      while (due > 0) {
        // The staging batch, or with one partition the ring slot itself (it may hold earlier rows).
        const staging = await pipeline.openStaging();
        const want = due;
        const n = gen.fill(staging, want, clock);
        pipeline.countLines(n, 0, 0);
        generated += n;
        due -= n;
        // Fewer rows than asked for: the batch is full or out of string room, so it ships (a slot
        // decoded into directly must be committed before openStaging() is asked again).
        if (n < want) {
          pipeline.watermark.observe(0, clock);
          await pipeline.scatterStaging(true);
        }
      }
      pipeline.watermark.observe(0, clock);
      lastBefore = performance.now();
      await pipeline.scatterStaging();
      const wm = pipeline.watermark.watermark;
      const t = performance.now();
      if (Number.isNaN(nextEnd) && wm > Number.NEGATIVE_INFINITY) nextEnd = (Math.floor(wm / windowMs) + 1) * windowMs;
      for (; nextEnd <= wm; nextEnd += windowMs) closeAt.set(nextEnd, t);
      await sleep(1);
    }
    const elapsedS = (performance.now() - started) / 1000;
    measuring = false;
    await pipeline.finish();
    await sink.flush();
    // Wait for acks of windows emitted while measuring (they are all sent before finish() resolved).
    for (let i = 0; i < 200 && acked.length < emitted.length; i++) await sleep(10);
    const sortedAck = [...acked].sort((a, b) => a - b);
    const sortedEmit = [...emitted].sort((a, b) => a - b);
    const r2 = (x: number) => Number(x.toFixed(2));
    return {
      targetRatePerSec: o.ratePerSec,
      achievedRatePerSec: Math.round(generated / elapsedS),
      windows: sortedAck.length,
      p50Ms: r2(percentile(sortedAck, 0.5)),
      p99Ms: r2(percentile(sortedAck, 0.99)),
      maxMs: r2(sortedAck.at(-1) ?? Number.NaN),
      emitP50Ms: r2(percentile(sortedEmit, 0.5)),
      emitP99Ms: r2(percentile(sortedEmit, 0.99)),
      windowMs,
      outOfOrdernessMs: latenessMs,
      sinkMaxDelayMs,
    };
  } finally {
    await pipeline.close();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}


export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('latency-run')
    .description('Window close -> rows acknowledged by the files sink, at a fixed generated input rate.')
    .requiredOption('--rate <n>', 'events per second of processing time', intOption('--rate', 1, 1e9))
    .requiredOption('--seconds <n>', 'measured duration', intOption('--seconds', 1, 3600))
    .requiredOption('--threads <n>', 'worker threads', intOption('--threads', 1, 256))
    .requiredOption('--partitions <n>', 'key-hash partitions', intOption('--partitions', 1, 4096))
    .option('--window-ms <n>', 'tumbling window size', intOption('--window-ms', 10, 3_600_000), 250)
    .option('--lateness-ms <n>', 'out-of-orderness (aggregate.outOfOrdernessMs)', intOption('--lateness-ms', 0, 3_600_000), 100)
    .option('--sink-max-delay-ms <n>', 'files sink: longest a row waits before its append', intOption('--sink-max-delay-ms', 1, 600_000), 5);
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{ rate: number; seconds: number; threads: number; partitions: number; windowMs: number; latenessMs: number; sinkMaxDelayMs: number }>();
  const r = await runLatency({
    ratePerSec: o.rate, seconds: o.seconds, threads: o.threads, partitions: o.partitions,
    windowMs: o.windowMs, outOfOrdernessMs: o.latenessMs, sinkMaxDelayMs: o.sinkMaxDelayMs,
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`latency-run: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
