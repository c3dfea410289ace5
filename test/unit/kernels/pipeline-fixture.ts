/**
 * Test helpers for the kernel tests: the canonical clickstream batch schema, batches built from plain
 * event objects (string columns written as UTF-8 with their 64-bit key hash), and processor options.
 */
import { BatchView, setValid } from '../../../src/runtime/batch.js';
import { computeLayout, type BatchLayout, type Schema } from '../../../src/runtime/schema.js';
import { hash64Into } from '../../../src/kernels/shared/xxhash32.js';

export const TYPES = ['view', 'click', 'add_to_cart', 'purchase'] as const;

export const canonicalSchema: Schema = {
  columns: [
    { name: 'event_id', type: 'string', hashed: true, avgBytes: 32 },
    { name: 'ts', type: 'timestamp_ms' },
    { name: 'user_id', type: 'string', hashed: true, avgBytes: 32 },
    { name: 'type', type: 'enum', enumValues: [...TYPES] },
    { name: 'amount', type: 'float64' },
    { name: 'country', type: 'string', avgBytes: 4 },
    { name: '__line', type: 'float64' },
    { name: '__late', type: 'bool' },
    { name: '__raw', type: 'string', avgBytes: 64 },
  ],
};

export interface TestEvent {
  event_id: string;
  ts: number;
  user_id: string;
  type: (typeof TYPES)[number];
  amount?: number | null;
  country?: string | null;
  line: number;
  late?: boolean;
  raw?: string;
}

export function layoutFor(rows: number): BatchLayout {
  return computeLayout(canonicalSchema, rows);
}

const enc = new TextEncoder();

function putString(view: BatchView, name: string, row: number, value: string | null | undefined): void {
  const col = view.column(name);
  const offsets = col.offsets!;
  const start = offsets[row];
  if (value === null || value === undefined) {
    offsets[row + 1] = start;
    return;
  }
  const bytes = enc.encode(value);
  (col.values as Uint8Array).set(bytes, start);
  offsets[row + 1] = start + bytes.length;
  if (col.hash) hash64Into(col.values as Uint8Array, start, start + bytes.length, col.hash, 2 * row);
  setValid(col.validity, row);
}

/** Fill a standalone batch with the events (at most layout.rowCapacity). */
export function fillBatch(view: BatchView, events: readonly TestEvent[]): BatchView {
  view.clear();
  events.forEach((e, r) => {
    putString(view, 'event_id', r, e.event_id);
    putString(view, 'user_id', r, e.user_id);
    putString(view, 'country', r, e.country ?? 'ZZ');
    putString(view, '__raw', r, e.raw ?? `raw-${e.line}`);
    const num = (name: string, v: number): void => {
      const col = view.column(name);
      col.values[r] = v;
      setValid(col.validity, r);
    };
    num('ts', e.ts);
    num('type', TYPES.indexOf(e.type));
    num('amount', e.amount ?? 0);
    num('__line', e.line);
    num('__late', e.late ? 1 : 0);
  });
  view.rowCount = events.length;
  return view;
}

/** Split events into batches of `rows` and feed each to `fn` through one reused standalone batch. */
export function forEachBatch(layout: BatchLayout, events: readonly TestEvent[], fn: (b: BatchView) => void): void {
  const view = BatchView.standalone(layout);
  for (let i = 0; i < events.length; i += layout.rowCapacity) fn(fillBatch(view, events.slice(i, i + layout.rowCapacity)));
}

/** The exact sum of doubles, correctly rounded to a double (BigInt over a common binary exponent). */
export function exactSum(values: readonly number[]): number {
  const dv = new DataView(new ArrayBuffer(8));
  const parts: { mant: bigint; shift: number; neg: boolean }[] = [];
  // A finite double is mant * 2^(shift - 1074), with shift = max(exponent field, 1) - 1.
  for (const v of values) {
    if (v === 0) continue;
    dv.setFloat64(0, v);
    const hi = dv.getUint32(0);
    const exp = (hi >>> 20) & 0x7ff;
    let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(dv.getUint32(4));
    if (exp !== 0) mant |= 1n << 52n;
    parts.push({ mant, shift: Math.max(exp, 1) - 1, neg: v < 0 });
  }
  if (parts.length === 0) return 0;
  const minShift = Math.min(...parts.map((p) => p.shift));
  let total = 0n;
  for (const p of parts) total += (p.neg ? -p.mant : p.mant) << BigInt(p.shift - minShift);
  // Number(bigint) rounds to nearest; the power-of-two scaling after it is exact for normal results.
  const e = minShift - 1074;
  const a = Math.trunc(e / 2);
  return Number(total) * 2 ** a * 2 ** (e - a);
}
