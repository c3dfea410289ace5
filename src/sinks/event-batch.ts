import type { EventBatch } from '../contracts/index.js';
/** Helpers over EventBatch (see contracts/index.ts for the layout). Off the hot path: dead letters and tests. */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds a batch from NDJSON lines (without '\n') and their keys. */
export function eventBatchFromLines(lines: readonly string[], keys: readonly string[]): EventBatch {
  const lineBytes = lines.map((l) => encoder.encode(`${l}\n`));
  const keyBytes = keys.map((k) => encoder.encode(k));
  const out: EventBatch = {
    rowCount: lines.length,
    lines: new Uint8Array(lineBytes.reduce((n, b) => n + b.length, 0)),
    lineEnds: new Uint32Array(lines.length),
    keys: new Uint8Array(keyBytes.reduce((n, b) => n + b.length, 0)),
    keyEnds: new Uint32Array(lines.length),
  };
  let at = 0;
  lineBytes.forEach((b, i) => {
    out.lines.set(b, at);
    at += b.length;
    out.lineEnds[i] = at;
  });
  at = 0;
  keyBytes.forEach((b, i) => {
    out.keys.set(b, at);
    at += b.length;
    out.keyEnds[i] = at;
  });
  return out;
}

export function lineAt(batch: EventBatch, i: number): string {
  const start = i === 0 ? 0 : batch.lineEnds[i - 1];
  let end = batch.lineEnds[i];
  if (end > start && batch.lines[end - 1] === 0x0a) end--;
  return decoder.decode(batch.lines.subarray(start, end));
}

export function keyAt(batch: EventBatch, i: number): string {
  const start = i === 0 ? 0 : batch.keyEnds[i - 1];
  return decoder.decode(batch.keys.subarray(start, batch.keyEnds[i]));
}

/** Dead-letter fragments, one per event of rows [from, to): `"line":"<the NDJSON line>","key":"<partition key>"`. */
export function eventDeadLetterFragments(batch: EventBatch, from = 0, to = batch.rowCount): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    out.push(`"line":${JSON.stringify(lineAt(batch, i))},"key":${JSON.stringify(keyAt(batch, i))}`);
  }
  return out;
}
