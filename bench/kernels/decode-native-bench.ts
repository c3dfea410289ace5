/**
 * Native NDJSON block decode vs the JS decoder on the same bytes and batches:
 *   node dist/bench/kernels/decode-native-bench.js [--file bench/results/tmp/clickstream-2000000-seed1.ndjson]
 *        [--lines 200000] [--batch-rows 8192] [--time-ms 3000]
 * Reports events/s for: the JS decoder alone; native + JS for the lines native declines (what ingest
 * would run, system columns filled as the caller must); and the native calls alone (the same hybrid
 * run's native share, measured by timing only native.decode). Without the file it generates lines.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { createNdjsonDecoder, type NdjsonDecoder, type RejectHandler } from '../../src/kernels/decode/ndjson.js';
import { NativeBlockDecoder, STOP_LINE, STOP_REJECT, STOP_ROWS } from '../../src/kernels/decode/native.js';
import { nativeModuleProblem } from '../../src/runtime/native-module.js';
import { parseInputConfig } from '../../src/kernels/input/config.js';
import { BatchView } from '../../src/runtime/batch.js';
import { computeLayout } from '../../src/runtime/schema.js';
import { CLICKSTREAM_INPUT, makeClickstreamLines } from './decode-bench.js';

export interface HybridStats {
  rows: number;
  nativeRows: number;
  jsLines: number;
  /** Lines native rejected itself (a broken rule, with the JS decoder's reason). */
  nativeRejects: number;
  /** Time spent inside native.decode calls (only when timed). */
  nativeNs: number;
}

/**
 * Decodes all of chunk with native first and the JS decoder for each line native declines, the way
 * an ingest loop would: per native row it fills __line, __late (0: no late gate here) and an empty
 * null __raw, then advances rowCount. `publish` gets each batch when it is full (or a line needs an
 * empty one) and at the end; it must clear the batch.
 */
export function decodeHybrid(
  native: NativeBlockDecoder, js: NdjsonDecoder, chunk: Uint8Array, out: BatchView, onReject: RejectHandler,
  publish: (b: BatchView) => void, onNativeRow?: (row: number, line: number) => void, timed = false,
): HybridStats {
  const stats: HybridStats = { rows: 0, nativeRows: 0, jsLines: 0, nativeRejects: 0, nativeNs: 0 };
  const lineCol = out.column('__line');
  const lateCol = out.column('__late');
  const rawCol = out.column('__raw');
  const cap = out.layout.rowCapacity;
  const end = chunk.length;
  let p = 0;
  let line = 1;
  for (;;) {
    if (out.rowCount >= cap) { stats.rows += out.rowCount; publish(out); continue; }
    const row0 = out.rowCount;
    const t0 = timed ? process.hrtime.bigint() : 0n;
    const rows = native.decode(chunk, p, end, out);
    if (timed) stats.nativeNs += Number(process.hrtime.bigint() - t0);
    const lines = lineCol.values as Float64Array;
    const rawOffsets = rawCol.offsets!;
    for (let k = 0; k < rows; k++) {
      const r = row0 + k;
      const byte = r >> 3;
      const bit = 1 << (r & 7);
      lines[r] = line + native.lineIndex[k];
      lineCol.validity[byte] |= bit;
      lateCol.values[r] = 0;
      lateCol.validity[byte] |= bit;
      rawOffsets[r + 1] = rawOffsets[r];
      rawCol.validity[byte] &= ~bit;
      onNativeRow?.(r, line + native.lineIndex[k]);
    }
    out.rowCount = row0 + rows;
    stats.nativeRows += rows;
    line += native.linesConsumed;
    p = native.stopOffset;
    const reason = native.stopReason;
    if (reason === STOP_ROWS) continue;
    if (reason === STOP_REJECT) {
      // A rule broken: rejected natively, with the JS decoder's reason.
      const nl = native.rejectNewline;
      onReject(line, native.rejectReason, chunk, p, nl > p && chunk[nl - 1] === 13 ? nl - 1 : nl);
      stats.nativeRejects++;
      line++;
      p = nl + 1;
      continue;
    }
    // The declined line (STOP_LINE), or the unterminated tail: the JS decoder decides it.
    if (reason !== STOP_LINE && p >= end) break;
    const nl = reason === STOP_LINE ? chunk.indexOf(10, p) : -1;
    const r = js.decode(chunk, p, nl >= 0 ? nl + 1 : end, line, out, onReject, nl < 0);
    if (r.linesConsumed === 0) { stats.rows += out.rowCount; publish(out); continue; } // no room: retry in an empty batch
    stats.jsLines += r.linesConsumed;
    line += r.linesConsumed;
    p = r.endOffset;
    if (nl < 0) break;
  }
  stats.rows += out.rowCount;
  publish(out);
  return stats;
}

/** The JS decoder alone over chunk, publishing batches the same way. Returns rows decoded. */
export function decodeJsOnly(js: NdjsonDecoder, chunk: Uint8Array, out: BatchView, onReject: RejectHandler, publish: (b: BatchView) => void): number {
  let at = 0;
  let line = 1;
  let rows = 0;
  while (at < chunk.length) {
    const r = js.decode(chunk, at, chunk.length, line, out, onReject, true);
    at = r.endOffset;
    line += r.linesConsumed;
    if (at < chunk.length) { rows += out.rowCount; publish(out); }
  }
  rows += out.rowCount;
  publish(out);
  return rows;
}

function loadLines(file: string, lines: number): Uint8Array {
  if (!existsSync(file)) return makeClickstreamLines(lines);
  const all = readFileSync(file);
  let at = 0;
  for (let n = 0; n < lines && at < all.length; n++) {
    const nl = all.indexOf(10, at);
    at = nl < 0 ? all.length : nl + 1;
  }
  return new Uint8Array(all.buffer, all.byteOffset, at).slice();
}

async function main(): Promise<void> {
  const argv = process.argv;
  const arg = (name: string, dflt: string): string => {
    const i = argv.indexOf(name);
    return i > 0 ? argv[i + 1] : dflt;
  };
  const file = arg('--file', 'bench/results/tmp/clickstream-2000000-seed1.ndjson');
  const lineCount = Number(arg('--lines', '200000'));
  const batchRows = Number(arg('--batch-rows', '8192'));
  const timeMs = Number(arg('--time-ms', '3000'));
  const cfg = parseInputConfig(CLICKSTREAM_INPUT);
  const chunk = loadLines(file, lineCount);
  const js = createNdjsonDecoder({ ...cfg, decoder: 'js' });
  const wired = createNdjsonDecoder(cfg);
  const layout = computeLayout(js.schema, batchRows);
  const native = NativeBlockDecoder.create(cfg, layout);
  if (native === null) {
    console.log(`native decoder unavailable: ${nativeModuleProblem() ?? NativeBlockDecoder.unsupportedReason(cfg, layout)}`);
    return;
  }
  const batch = BatchView.standalone(layout);
  const clear = (b: BatchView): void => b.clear();
  const noReject: RejectHandler = () => {};
  const jsRows = decodeJsOnly(js, chunk, batch, noReject, clear);
  const probe = decodeHybrid(native, js, chunk, batch, noReject, clear);
  if (probe.rows !== jsRows) throw new Error(`hybrid decoded ${probe.rows} rows, the JS decoder ${jsRows}`);
  const source = existsSync(file) ? file : 'generated clickstream lines';
  console.log(`decode-native bench: ${lineCount} lines of ${source}, ${(chunk.length / lineCount).toFixed(1)} bytes/line, batches of ${batchRows} rows`);
  console.log(`  rows: ${jsRows}; native accepted ${probe.nativeRows} (${((100 * probe.nativeRows) / jsRows).toFixed(2)}%), native rejected ${probe.nativeRejects} lines, JS decided ${probe.jsLines}`);

  let nativeNs = 0;
  let nativeRuns = 0;
  const bench = new Bench({ time: timeMs, iterations: 5, warmupTime: 500, warmupIterations: 2 });
  bench.add('JS decoder alone', () => { decodeJsOnly(js, chunk, batch, noReject, clear); });
  bench.add('native + JS for declined lines (+ system columns)', () => { decodeHybrid(native, js, chunk, batch, noReject, clear); });
  bench.add('the decoder as ingest runs it (native tier wired in)', () => { decodeJsOnly(wired, chunk, batch, noReject, clear); });
  bench.add('hybrid run, timing native calls', () => {
    nativeNs += decodeHybrid(native, js, chunk, batch, noReject, clear, undefined, true).nativeNs;
    nativeRuns++;
  });
  await bench.run();
  for (const t of bench.tasks.filter((x) => !x.name.startsWith('hybrid run'))) {
    const ms = t.result!.latency.mean;
    const perSec = lineCount / (ms / 1000);
    console.log(`  ${t.name.padEnd(52)} ${(perSec / 1e6).toFixed(2)}M events/s  ${((ms * 1e6) / lineCount).toFixed(0)} ns/event  (${ms.toFixed(1)} ms/run)`);
  }
  const nsPerEvent = nativeNs / nativeRuns / probe.nativeRows;
  console.log(`  ${'native.decode calls alone (per native row)'.padEnd(52)} ${(1e3 / nsPerEvent).toFixed(2)}M events/s  ${nsPerEvent.toFixed(0)} ns/event`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
