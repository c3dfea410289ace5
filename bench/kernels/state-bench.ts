/**
 * Stateful kernel benchmark: events/s of the per-event state operations on one core.
 *   node dist/bench/kernels/state-bench.js [--time-ms 1500] [--only REGEX]
 * - Bloom checkAndAdd / checkAndAddBatch at p = 1e-9 (2 generations), a filter that fits in cache and
 *   one that does not, fed a stream of mostly new keys with 5% repeats, as dedupe sees them;
 * - HyperLogLog add (p = 12) into one register block;
 * - the partition processor with growing stages: aggregate only (count, sum, max, distinct by type),
 *   + enrich (by type x region), + dedupe with a cache-sized and a large filter;
 * - enrich lookup of a 2-letter country (hash computed from the bytes) in the shared dim table;
 * Each task processes a block of events; the rate is block size / mean task time.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { bloomBytesFor, bloomSizing, GenerationalBloom, type BloomOptions } from '../../src/kernels/dedupe/bloom.js';
import { createDimTableShared } from '../../src/kernels/enrich/dim-table.js';
import { DimTableLoader } from '../../src/kernels/enrich/dim-table-loader.js';
import { EnrichKernel } from '../../src/kernels/enrich/enrich.js';
import { hllAdd } from '../../src/kernels/window/hyperloglog.js';
import { aggregateConfigSchema, dedupeConfigSchema, enrichConfigSchema, parseSection } from '../../src/kernels/stage-config.js';
import { compileProcessorOptions } from '../../src/pipeline/processor-options.js';
import pipelineModule from '../../src/pipeline/processor.js';
import { fmix32 } from '../../src/runtime/fmix32.js';
import { BatchView } from '../../src/runtime/batch.js';
import { computeLayout } from '../../src/runtime/schema.js';
import { CANONICAL_BENCH_SCHEMA, COUNTRIES, COUNTRIES_CSV, putNumber, putString, TYPES, xorshift } from './canonical-bench-schema.js';

export interface StateBenchResult {
  name: string;
  eventsPerSec: number;
  meanMs: number;
  samples: number;
}

const BLOCK = 1 << 16;
const BATCH_ROWS = 4096;



/** Canonical-like batches: ~1 event per ms, 5% repeated event ids, 50k users. */
function makeBatches(count: number): BatchView[] {
  const layout = computeLayout(CANONICAL_BENCH_SCHEMA, BATCH_ROWS);
  const rnd = xorshift(7);
  let ts = 1_700_000_000_000;
  let id = 0;
  return Array.from({ length: count }, () => {
    const b = BatchView.standalone(layout);
    b.clear();
    for (let r = 0; r < BATCH_ROWS; r++) {
      ts += rnd() % 3;
      const repeat = rnd() % 100 < 5 && id > 100;
      putString(b, 'event_id', r, `evt-${repeat ? id - 1 - (rnd() % 100) : id++}`);
      putString(b, 'user_id', r, `user-${rnd() % 50_000}`);
      putString(b, 'country', r, COUNTRIES[rnd() % COUNTRIES.length]);
      putString(b, '__raw', r, '');
      putNumber(b, 'ts', r, ts);
      putNumber(b, 'type', r, rnd() % TYPES.length);
      putNumber(b, 'amount', r, (rnd() % 100_000) / 100);
      putNumber(b, '__line', r, r + 1);
      putNumber(b, '__late', r, 0);
    }
    b.rowCount = BATCH_ROWS;
    return b;
  });
}

/**
 * Bloom at p = 1e-9 (2 generations) fed as a stream: a steady key rate of keysPerHorizon per horizon
 * in event time (so the filter holds its sized load and rotates as in production), 5% of the rows
 * repeating the key 10 rows back. Per row (checkAndAdd) and per 4096-row batch (checkAndAddBatch, as
 * the processor calls it) on the same rows. The rows of the next round are written before each
 * iteration, outside the timing.
 */
function bloomTasks(keysPerHorizon: number, label: string): [string, () => void, { beforeEach: () => void }][] {
  const o: BloomOptions = { falsePositiveRate: 1e-9, expectedKeysPerHorizon: keysPerHorizon, horizonMs: 3_600_000, generations: 2 };
  const s = bloomSizing(o);
  const mib = ((2 * s.wordsPerGeneration * 4) / 2 ** 20).toFixed(1);
  const msPerRow = o.horizonMs / keysPerHorizon;
  const rnd = xorshift(keysPerHorizon);
  const keys = new Uint32Array(BLOCK * 2);
  // fmix32: consecutive xorshift outputs are linear in each other, and a hi that is a linear function
  // of lo correlates the block with the in-block pattern (measured: 3% false positives at 20k keys).
  for (let i = 0; i < keys.length; i++) keys[i] = fmix32(rnd() ^ (i & 1 ? 0x3c6ef372 : 0));
  const chunks = BLOCK / BATCH_ROWS;
  const hashes = Array.from({ length: chunks }, () => new Uint32Array(2 * BATCH_ROWS));
  const times = Array.from({ length: chunks }, () => new Float64Array(BATCH_ROWS));
  const flags = new Uint8Array(BATCH_ROWS);
  const makeFeed = (): (() => void) => {
    let round = 0;
    let row = 0;
    return () => {
      // New keys each round (a round tag xored into both halves of the hash: the block comes from hi).
      round++;
      const tag = Math.imul(round, 0x9e3779b1);
      for (let i = 0; i < BLOCK; i++) {
        const k = i % 20 === 10 ? i - 10 : i;
        const c = (i / BATCH_ROWS) | 0;
        const r = i % BATCH_ROWS;
        hashes[c][2 * r] = (keys[2 * k] ^ tag) >>> 0;
        hashes[c][2 * r + 1] = (keys[2 * k + 1] ^ Math.imul(tag, 0x85ebca6b) ^ round) >>> 0;
        times[c][r] = 1_700_000_000_000 + row++ * msPerRow;
      }
    };
  };
  const newBloom = (native: boolean): GenerationalBloom => new GenerationalBloom(new SharedArrayBuffer(bloomBytesFor(o)), 0, o, { native });
  const perRow = newBloom(false);
  const batched = newBloom(false);
  const nativeBatched = newBloom(true);
  const name = (api: string): string => `bloom ${api} p=1e-9, ${label} (${mib} MiB, k=${s.probes})`;
  const nativeTask: [string, () => void, { beforeEach: () => void }][] = nativeBatched.isNative
    ? [[name('checkAndAddBatch native'), () => {
      for (let c = 0; c < chunks; c++) nativeBatched.checkAndAddBatch(hashes[c], times[c], BATCH_ROWS, flags);
    }, { beforeEach: makeFeed() }]]
    : [];
  return [
    [name('checkAndAdd'), () => {
      for (let c = 0; c < chunks; c++) {
        const h = hashes[c];
        const t = times[c];
        for (let r = 0; r < BATCH_ROWS; r++) perRow.checkAndAdd(h[2 * r], h[2 * r + 1], t[r]);
      }
    }, { beforeEach: makeFeed() }],
    [name('checkAndAddBatch'), () => {
      for (let c = 0; c < chunks; c++) batched.checkAndAddBatch(hashes[c], times[c], BATCH_ROWS, flags);
    }, { beforeEach: makeFeed() }],
    ...nativeTask,
  ];
}

export async function runStateBenchmarks(options: { timeMs?: number; only?: RegExp } = {}): Promise<StateBenchResult[]> {
  const timeMs = options.timeMs ?? 1500;
  const batches = makeBatches(16);
  const rowsPerPass = batches.length * BATCH_ROWS;
  const blockSizes = new Map<string, number>();
  const bench = new Bench({ time: timeMs, iterations: 5, warmupTime: 300, warmupIterations: 2 });
  const add = (name: string, events: number, fn: () => void, fnOptions?: { beforeEach: () => void }): void => {
    if (options.only && !options.only.test(name)) return;
    blockSizes.set(name, events);
    bench.add(name, fn, fnOptions);
  };

  for (const [name, fn, fnOptions] of [...bloomTasks(20_000, 'cache-sized 20k keys/horizon'), ...bloomTasks(2_000_000, 'large 2M keys/horizon')]) {
    add(name, BLOCK, fn, fnOptions);
  }

  const regs = new Uint8Array(4096);
  const hashes = new Uint32Array(BLOCK * 2);
  const rnd = xorshift(3);
  for (let i = 0; i < hashes.length; i++) hashes[i] = rnd();
  add('hll add p=12', BLOCK, () => {
    for (let i = 0; i < BLOCK; i++) hllAdd(regs, 0, 12, hashes[2 * i], hashes[2 * i + 1]);
  });

  const enrichCfg = parseSection(enrichConfigSchema, {
    table: COUNTRIES_CSV, keyColumn: 'country', valueColumn: 'region', joinOn: 'country', as: 'region',
  }, 'enrich');
  const dim = createDimTableShared(enrichCfg.maxRows, enrichCfg.maxValues, 1);
  await new DimTableLoader(dim, { path: COUNTRIES_CSV, keyColumn: 'country', valueColumn: 'region', defaultValue: 'unknown' }).load();
  const enrich = new EnrichKernel({ table: dim, joinOn: 'country', as: 'region' }, 0);
  const ids = new Int32Array(BATCH_ROWS);
  add('enrich lookup (country bytes -> region id)', rowsPerPass, () => {
    for (const b of batches) enrich.run(b, ids);
  });

  const aggregate = parseSection(aggregateConfigSchema, {
    window: { type: 'tumbling', sizeMs: 60_000 }, outOfOrdernessMs: 5000, groupBy: ['type', 'region'],
    metrics: [
      { name: 'count', op: 'count' }, { name: 'amount_sum', op: 'sum', field: 'amount' },
      { name: 'amount_max', op: 'max', field: 'amount' }, { name: 'users_approx', op: 'distinct', field: 'user_id' },
    ],
  }, 'aggregate');
  const layout = batches[0].layout;
  // Every pass moves event time forward by the span of the data and gives every event id a new
  // hash, so dedupe sees new keys (5% repeats) and windows keep opening and closing as in a stream.
  const tsCols = batches.map((b) => b.column('ts').values as Float64Array);
  const idHashes = batches.map((b) => b.column('event_id').hash!);
  const origIds = idHashes.map((h) => h.slice());
  const spanMs = Math.ceil((tsCols[tsCols.length - 1][BATCH_ROWS - 1] - tsCols[0][0] + 1) / 60_000) * 60_000 + 60_000;
  let pass = 0;
  const nextPass = (): number => {
    pass++;
    const tag = Math.imul(pass, 0x9e3779b1);
    for (let i = 0; i < batches.length; i++) {
      const ts = tsCols[i];
      for (let r = 0; r < BATCH_ROWS; r++) ts[r] += spanMs;
      const h = idHashes[i];
      const o = origIds[i];
      // Both halves change: a real new key has a new (lo, hi), and the Bloom block comes from hi.
      for (let r = 0; r < BATCH_ROWS; r++) {
        h[2 * r] = (o[2 * r] ^ tag) >>> 0;
        h[2 * r + 1] = (o[2 * r + 1] ^ Math.imul(tag, 0x85ebca6b) ^ pass) >>> 0;
      }
    }
    return tsCols[tsCols.length - 1][BATCH_ROWS - 1];
  };
  const makeProcessor = (stages: { enrich: boolean; dedupeHorizonMs: number }) => {
    // Sized for the key rate this bench really produces (the config counts keys over 2 partitions).
    const keysPerHorizon = Math.ceil((rowsPerPass * stages.dedupeHorizonMs) / spanMs) * 2;
    const dedupe = stages.dedupeHorizonMs > 0
      ? parseSection(dedupeConfigSchema, { keyField: 'event_id', horizonMs: stages.dedupeHorizonMs, expectedKeysPerHorizon: keysPerHorizon }, 'dedupe')
      : null;
    const o = compileProcessorOptions({ enrich: enrichCfg, dedupe, aggregate }, 'ts', 2, dim);
    if (!stages.enrich) {
      o.enrich = null;
      o.aggregate.groupBy = ['type'];
      o.aggregate.lookupFields = [];
    }
    return pipelineModule.createProcessor({
      partition: 0, partitions: 2, layout, options: o, state: new SharedArrayBuffer(pipelineModule.stateBytes(o, layout)),
    });
  };
  const variants: [string, { enrich: boolean; dedupeHorizonMs: number }][] = [
    ['processor: aggregate only (by type; count, sum, max, distinct)', { enrich: false, dedupeHorizonMs: 0 }],
    ['processor: enrich -> aggregate (by type x region)', { enrich: true, dedupeHorizonMs: 0 }],
    ['processor: enrich -> dedupe (5 min horizon) -> aggregate', { enrich: true, dedupeHorizonMs: 300_000 }],
    ['processor: enrich -> dedupe (1 h horizon) -> aggregate', { enrich: true, dedupeHorizonMs: 3_600_000 }],
  ];
  for (const [label, stages] of variants) {
    const proc = makeProcessor(stages);
    const name = stages.dedupeHorizonMs > 0
      ? `${label} (${((proc as unknown as { bloom: { sizing: { wordsPerGeneration: number } } }).bloom.sizing.wordsPerGeneration * 8 / 2 ** 20).toFixed(1)} MiB Bloom)`
      : label;
    add(name, rowsPerPass, () => {
      const maxTs = nextPass();
      for (const b of batches) proc.process(b);
      const out = proc.finishTask({ closeBeforeMs: maxTs - 5000, final: false });
      if (out.counters.lateAfterClose !== 0 || out.counters.duplicates > rowsPerPass * 0.06) {
        throw new Error(`${name}: unexpected counters ${JSON.stringify(out.counters)}`);
      }
    });
  }

  await bench.run();
  return bench.tasks.map((t): StateBenchResult => {
    const failure = (t.result as { error?: Error } | undefined)?.error;
    if (failure) throw failure;
    const meanMs = t.result!.latency.mean;
    return { name: t.name, meanMs, eventsPerSec: blockSizes.get(t.name)! / (meanMs / 1000), samples: t.result!.latency.samples.length };
  });
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--time-ms');
  const only = process.argv.indexOf('--only');
  const results = await runStateBenchmarks({
    timeMs: i > 0 ? Number(process.argv[i + 1]) : 1500,
    only: only > 0 ? new RegExp(process.argv[only + 1]) : undefined,
  });
  console.log('state kernels, one core:');
  for (const r of results) {
    console.log(`  ${r.name.padEnd(64)} ${(r.eventsPerSec / 1e6).toFixed(2).padStart(7)}M events/s ${(1e9 / r.eventsPerSec).toFixed(0).padStart(5)} ns/event  (${r.meanMs.toFixed(2)} ms/run, ${r.samples} runs)`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
