/**
 * Decode kernel benchmark: NDJSON clickstream lines -> validated columnar batch (scanner + filter +
 * key hashes) next to the straightforward alternative, JSON.parse per line + the same rules on the
 * object, in the same run and on the same bytes.
 *   node dist/bench/kernels/decode-bench.js [--lines 200000] [--time-ms 3000]
 * Input: ~100-byte events from a small deterministic generator (2% invalid lines), built in memory.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { createNdjsonDecoder } from '../../src/kernels/decode/ndjson.js';
import { parseInputConfig, type InputConfig } from '../../src/kernels/input/config.js';
import { BatchView } from '../../src/runtime/batch.js';
import { computeLayout } from '../../src/runtime/schema.js';

export const CLICKSTREAM_INPUT = {
  format: 'ndjson',
  fields: {
    event_id: { type: 'string', required: true, minBytes: 1, maxBytes: 64, hashed: true, partitionKey: true },
    ts: { type: 'timestamp_ms', required: true, integer: true, min: 946684800000, exclusiveMax: 4102444800000, eventTime: true },
    user_id: { type: 'string', required: true, minBytes: 1, maxBytes: 64, hashed: true },
    type: { type: 'enum', required: true, values: ['view', 'click', 'add_to_cart', 'purchase'] },
    amount: { type: 'float64', min: 0, default: 0 },
    country: { type: 'string', pattern: '^[A-Z]{2}$', default: 'ZZ' },
  },
};

const TYPES = ['view', 'view', 'view', 'click', 'click', 'add_to_cart', 'purchase'];
const COUNTRIES = ['US', 'DE', 'FR', 'JP', 'BR', 'IN', 'GB', 'CA', 'XX'];
const BROKEN = [
  '{"event_id":"e-broken","ts":"1700000000000","user_id":"u-1","type":"view"}',
  '{"event_id":"e-broken","ts":1700000000000,"user_id":"u-1","type":"zoom"}',
  '{"event_id":"e-broken","ts":1700000000000,"user_id":"u-1","type":"view","amount":-3}',
  '{"event_id":"e-broken","ts":1700000000000,"user_id":"u-1","type":"view"',
  '{"ts":1700000000000,"user_id":"u-1","type":"view"}',
];

/** ~100-byte clickstream lines, 2% invalid, from a fixed-seed xorshift generator. */
export function makeClickstreamLines(count: number, seed = 42): Uint8Array {
  let s = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
  const parts: string[] = [];
  let ts = 1_700_000_000_000;
  for (let i = 0; i < count; i++) {
    ts += rnd(50);
    if (rnd(100) < 2) { parts.push(BROKEN[rnd(BROKEN.length)]); continue; }
    const type = TYPES[rnd(TYPES.length)];
    const amount = type === 'purchase' ? `,"amount":${rnd(100000) / 100}` : '';
    const country = rnd(10) < 9 ? `,"country":"${COUNTRIES[rnd(COUNTRIES.length)]}"` : '';
    parts.push(
      `{"event_id":"evt-${i.toString(36).padStart(8, '0')}-${rnd(1 << 20).toString(16)}","ts":${ts},` +
        `"user_id":"user-${rnd(50000)}","type":"${type}"${amount}${country}}`,
    );
  }
  return new TextEncoder().encode(parts.join('\n') + '\n');
}

/** JSON.parse per line + the rules as a straightforward object-based check; returns accepted rows. */
function jsonParseBaseline(text: string, cfg: InputConfig): number {
  const fields = Object.entries(cfg.fields).map(([name, f]) => ({ name, f, re: f.pattern ? new RegExp(f.pattern) : null }));
  let accepted = 0;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    const line = text.slice(start, nl);
    start = nl + 1;
    let doc: Record<string, unknown>;
    try { doc = JSON.parse(line); } catch { continue; }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) continue;
    let ok = true;
    for (const { name, f, re } of fields) {
      const v = Object.hasOwn(doc, name) ? doc[name] : null;
      if (v === null || v === undefined) { if (f.required) { ok = false; break; } continue; }
      if (f.type === 'string' || f.type === 'enum') {
        if (typeof v !== 'string') { ok = false; break; }
        if (f.values && !f.values.includes(v)) { ok = false; break; }
        const n = Buffer.byteLength(v);
        if ((f.minBytes !== undefined && n < f.minBytes) || (f.maxBytes !== undefined && n > f.maxBytes) || (re && !re.test(v))) { ok = false; break; }
      } else {
        if (typeof v !== 'number' || !Number.isFinite(v)) { ok = false; break; }
        if ((f.integer || f.type !== 'float64') && !Number.isInteger(v)) { ok = false; break; }
        if ((f.min !== undefined && v < f.min) || (f.exclusiveMax !== undefined && v >= f.exclusiveMax)) { ok = false; break; }
      }
    }
    if (ok) accepted++;
  }
  return accepted;
}

export interface DecodeBenchResult {
  name: string;
  eventsPerSec: number;
  mbPerSec: number;
  meanMs: number;
  samples: number;
}

export async function runDecodeBenchmarks(options: { lines?: number; timeMs?: number } = {}): Promise<{
  lines: number; bytes: number; results: DecodeBenchResult[]; acceptedDecoder: number; acceptedBaseline: number;
}> {
  const lines = options.lines ?? 200_000;
  const cfg = parseInputConfig(CLICKSTREAM_INPUT);
  const input = makeClickstreamLines(lines);
  const decoder = createNdjsonDecoder(cfg);
  const batch = BatchView.standalone(computeLayout(decoder.schema, 4096));
  let rejected = 0;
  const onReject = (): void => { rejected++; };

  const runDecoder = (): number => {
    let at = 0;
    let line = 1;
    let accepted = 0;
    batch.clear();
    while (at < input.length) {
      const r = decoder.decode(input, at, input.length, line, batch, onReject, true);
      at = r.endOffset;
      line += r.linesConsumed;
      if (at < input.length) { accepted += batch.rowCount; batch.clear(); }
    }
    return accepted + batch.rowCount;
  };
  const textDecoder = new TextDecoder();
  const runBaseline = (): number => jsonParseBaseline(textDecoder.decode(input), cfg);

  const acceptedDecoder = runDecoder();
  const acceptedBaseline = runBaseline();
  if (acceptedDecoder !== acceptedBaseline) {
    throw new Error(`decoder accepted ${acceptedDecoder} rows, JSON.parse baseline ${acceptedBaseline}: results differ`);
  }
  void rejected;

  const bench = new Bench({ time: options.timeMs ?? 3000, iterations: 5, warmupTime: 500, warmupIterations: 2 });
  bench.add('decode kernel (scan + rules + hashes -> columns)', runDecoder);
  bench.add('JSON.parse per line + rules', runBaseline);
  await bench.run();
  const results = bench.tasks.map((t): DecodeBenchResult => {
    const meanMs = t.result!.latency.mean;
    return {
      name: t.name,
      meanMs,
      eventsPerSec: lines / (meanMs / 1000),
      mbPerSec: input.length / 1e6 / (meanMs / 1000),
      samples: t.result!.latency.samples.length,
    };
  });
  return { lines, bytes: input.length, results, acceptedDecoder, acceptedBaseline };
}

async function main(): Promise<void> {
  const arg = (name: string, dflt: number): number => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const r = await runDecodeBenchmarks({ lines: arg('--lines', 200_000), timeMs: arg('--time-ms', 3000) });
  console.log(`decode bench: ${r.lines} lines, ${(r.bytes / r.lines).toFixed(1)} bytes/line, ${r.acceptedDecoder} accepted by both`);
  for (const x of r.results) {
    console.log(`  ${x.name.padEnd(50)} ${(x.eventsPerSec / 1e6).toFixed(2)}M events/s  ${x.mbPerSec.toFixed(0)} MB/s  (${x.meanMs.toFixed(1)} ms/run, ${x.samples} runs)`);
  }
  const [k, j] = r.results;
  console.log(`  speed-up over JSON.parse: ${(k.eventsPerSec / j.eventsPerSec).toFixed(2)}x`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
