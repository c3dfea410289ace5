/**
 * Processed-event serializer benchmark, one core: canonical clickstream batches (enriched with the
 * region of examples/dims/countries.csv) turned into NDJSON event lines + keys, in events/s and MB/s
 * of output, next to what a worker would do with JSON.stringify:
 *   - event-serializer, JS and native: bind + appendRows of every row of 16 batches of 4096 rows, then
 *     finish() (the exact-size copies a task hands over); the native row only when the native module
 *     has the EventKernel (bash scripts/build-native.sh);
 *   - JSON.stringify, objects prebuilt: stringify only (a lower bound for any object-based path);
 *   - object per row + JSON.stringify + encodeInto: strings decoded from the batch, one object and
 *     one string per row, encoded into a reused buffer (the straightforward implementation).
 *   node dist/bench/kernels/event-serializer-bench.js [--time-ms 1500]
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { createDimTableShared } from '../../src/kernels/enrich/dim-table.js';
import { DimTableLoader } from '../../src/kernels/enrich/dim-table-loader.js';
import { EnrichKernel } from '../../src/kernels/enrich/enrich.js';
import { EventBuffers } from '../../src/kernels/events/event-buffers.js';
import { EventSerializer } from '../../src/kernels/events/event-serializer.js';
import { loadNativeModule, nativeModuleProblem } from '../../src/runtime/native-module.js';
import { createSharedDictionary, SharedDictionaryWriter } from '../../src/kernels/enrich/shared-dictionary.js';
import { BatchView } from '../../src/runtime/batch.js';
import { computeLayout } from '../../src/runtime/schema.js';
import { CANONICAL_BENCH_SCHEMA, COUNTRIES, COUNTRIES_CSV, putNumber, putString, TYPES, xorshift } from './canonical-bench-schema.js';

export interface EventSerializerBenchResult {
  name: string;
  eventsPerSec: number;
  /** NDJSON output bytes per second (lines only, keys not counted), in 10^6 bytes. */
  mbPerSec: number;
  meanMs: number;
  samples: number;
}

const BATCH_ROWS = 4096;
const BATCHES = 16;



function makeBatches(): BatchView[] {
  const layout = computeLayout(CANONICAL_BENCH_SCHEMA, BATCH_ROWS);
  const rnd = xorshift(11);
  let ts = 1_700_000_000_000;
  let id = 0;
  return Array.from({ length: BATCHES }, () => {
    const b = BatchView.standalone(layout);
    b.clear();
    for (let r = 0; r < BATCH_ROWS; r++) {
      ts += rnd() % 3;
      putString(b, 'event_id', r, `evt-${(id++).toString(36)}-${rnd().toString(16)}`);
      putString(b, 'user_id', r, `user-${rnd() % 50_000}`);
      putString(b, 'country', r, COUNTRIES[rnd() % COUNTRIES.length]);
      putString(b, '__raw', r, '');
      putNumber(b, 'ts', r, ts);
      putNumber(b, 'type', r, rnd() % TYPES.length);
      // Mostly cents, as prices are; every 16th a value that needs the String() path.
      putNumber(b, 'amount', r, r % 16 === 0 ? (rnd() % 100_000) / 3 : (rnd() % 100_000) / 100);
      putNumber(b, '__line', r, r + 1);
      putNumber(b, '__late', r, 0);
    }
    b.rowCount = BATCH_ROWS;
    return b;
  });
}

export async function runEventSerializerBench(options: { timeMs?: number } = {}): Promise<EventSerializerBenchResult[]> {
  const timeMs = options.timeMs ?? 1500;
  const batches = makeBatches();
  const layout = batches[0].layout;
  const rows = BATCHES * BATCH_ROWS;

  const dim = createDimTableShared(1024, 64, 1);
  const loader = new DimTableLoader(dim, { path: COUNTRIES_CSV, keyColumn: 'country', valueColumn: 'region', defaultValue: 'unknown' });
  await loader.load();
  const dictionary = createSharedDictionary(64);
  const writer = new SharedDictionaryWriter(dictionary);
  for (const value of loader.dictionary) writer.append(value);
  const enrich = new EnrichKernel({ table: dim, joinOn: 'country', as: 'region' }, 0);
  const ids = batches.map((b) => {
    const out = new Int32Array(BATCH_ROWS);
    enrich.run(b, out);
    return out;
  });

  const outputBytes = new Map<string, number>();
  const bench = new Bench({ time: timeMs, iterations: 5, warmupTime: 300, warmupIterations: 2 });
  const allRows = Int32Array.from({ length: BATCH_ROWS }, (_, r) => r);
  const addSerializer = (name: string, native: boolean): void => {
    const serializer = new EventSerializer(layout, { keyField: 'event_id', enriched: { name: 'region', dictionary } }, new EventBuffers(), { native });
    if (serializer.isNative !== native) throw new Error(`${name}: the serializer is ${serializer.isNative ? '' : 'not '}native`);
    bench.add(name, () => {
      for (let i = 0; i < BATCHES; i++) {
        serializer.bind(batches[i], ids[i]);
        serializer.appendRows(allRows, BATCH_ROWS);
      }
      const out = serializer.finish()!;
      if (out.rowCount !== rows) throw new Error(`serialized ${out.rowCount} of ${rows} rows`);
      outputBytes.set(name, out.lines.length);
    });
  };
  addSerializer('event-serializer JS (bind + appendRows + finish)', false);
  if (loadNativeModule()?.EventKernel) addSerializer('event-serializer native (bind + appendRows + finish)', true);
  else console.warn(`event-serializer native: not measured (${nativeModuleProblem() ?? 'the native module has no EventKernel'})`);

  const dec = new TextDecoder();
  const str = (b: BatchView, name: string, r: number): string => {
    const c = b.column(name);
    return dec.decode((c.values as Uint8Array).subarray(c.offsets![r], c.offsets![r + 1]));
  };
  const objectOf = (b: BatchView, i: number, r: number): Record<string, unknown> => ({
    event_id: str(b, 'event_id', r),
    ts: (b.column('ts').values as Float64Array)[r],
    user_id: str(b, 'user_id', r),
    type: TYPES[(b.column('type').values as Uint16Array)[r]],
    amount: (b.column('amount').values as Float64Array)[r],
    country: str(b, 'country', r),
    region: loader.dictionary[ids[i][r]],
  });
  const prebuilt = batches.map((b, i) => Array.from({ length: BATCH_ROWS }, (_, r) => objectOf(b, i, r)));
  bench.add('JSON.stringify, objects prebuilt', () => {
    let bytes = 0;
    for (const objects of prebuilt) for (const o of objects) bytes += JSON.stringify(o).length + 1;
    outputBytes.set('JSON.stringify, objects prebuilt', bytes);
  });

  const enc = new TextEncoder();
  let sink = new Uint8Array(1 << 20);
  bench.add('object per row + JSON.stringify + encodeInto', () => {
    let at = 0;
    for (let i = 0; i < BATCHES; i++) {
      const b = batches[i];
      for (let r = 0; r < BATCH_ROWS; r++) {
        const line = JSON.stringify(objectOf(b, i, r));
        if (at + line.length * 3 + 1 > sink.length) {
          const bigger = new Uint8Array(sink.length * 2);
          bigger.set(sink.subarray(0, at));
          sink = bigger;
        }
        at += enc.encodeInto(line, sink.subarray(at)).written;
        sink[at++] = 0x0a;
      }
    }
    outputBytes.set('object per row + JSON.stringify + encodeInto', at);
  });

  await bench.run();
  return bench.tasks.map((t): EventSerializerBenchResult => {
    const failure = (t.result as { error?: Error } | undefined)?.error;
    if (failure) throw failure;
    const meanMs = t.result!.latency.mean;
    const perSec = 1000 / meanMs;
    return { name: t.name, meanMs, eventsPerSec: rows * perSec, mbPerSec: (outputBytes.get(t.name)! * perSec) / 1e6, samples: t.result!.latency.samples.length };
  });
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--time-ms');
  const results = await runEventSerializerBench({ timeMs: i > 0 ? Number(process.argv[i + 1]) : 1500 });
  console.log(`processed-event serialization, one core, ${BATCHES} x ${BATCH_ROWS} canonical rows per run:`);
  for (const r of results) {
    console.log(`  ${r.name.padEnd(48)} ${(r.eventsPerSec / 1e6).toFixed(2).padStart(6)}M events/s ${r.mbPerSec.toFixed(0).padStart(6)} MB/s  (${r.meanMs.toFixed(2)} ms/run, ${r.samples} runs)`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
