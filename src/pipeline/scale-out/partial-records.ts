/**
 * The records the first stage of a scale-out run writes to the partials topic, one NDJSON line each,
 * and the merging stage reads back:
 *
 *   partial  {"w":<window start ms>,"s":<source partition>,"g":[<group values>],"c":<count>,
 *             "a":"<accumulators, float64 little-endian, base64>","h":"<registers, base64>"}
 *   marker   {"s":<source partition>,"t":<closed through ms | "inf">,"n":<source partitions>}
 *
 * A marker says: every partial of source partition s for a window ending at or before t was written
 * before this marker. Accumulators travel as bytes because min / max of no values are +/-Infinity,
 * which JSON cannot carry. These are one line per (window, group, source partition) and per emission,
 * far fewer than events, so building and parsing them as JSON costs little.
 */
import { PartialRecordError } from '../../errors.js';
import type { GroupValue, PartialCell } from './source-partition-split.js';

export interface PartialMarker {
  sourcePartition: number;
  closedThroughMs: number;
  /** How many source partitions the stream has (dense ids 0 .. n-1), as the writer knew it. */
  sourcePartitions: number;
}

export type PartialRecord = { kind: 'partial'; cell: PartialCell } | { kind: 'marker'; marker: PartialMarker };

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** An event time for JSON, which has no infinities: "inf" and "-inf" stand for them. */
export function timeOut(ms: number): number | string {
  return ms === Number.POSITIVE_INFINITY ? 'inf' : ms === Number.NEGATIVE_INFINITY ? '-inf' : ms;
}

export function timeIn(v: unknown, at: string): number {
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new PartialRecordError(`${at}: not a time`);
  return v;
}

export function encodePartial(cell: PartialCell): string {
  return JSON.stringify({
    w: cell.windowStartMs, s: cell.sourcePartition, g: cell.groupValues, c: cell.count,
    a: toBase64(new Uint8Array(cell.acc.buffer, cell.acc.byteOffset, cell.acc.byteLength)), h: toBase64(cell.hll),
  });
}

export function encodeMarker(m: PartialMarker): string {
  return JSON.stringify({ s: m.sourcePartition, t: timeOut(m.closedThroughMs), n: m.sourcePartitions });
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** One line back into a record; a line that is neither throws PartialRecordError (the topic is ours: a bug or a foreign writer). */
export function decodePartialRecord(line: string): PartialRecord {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new PartialRecordError(`not JSON: ${line.slice(0, 80)}`);
  }
  if (o === null || typeof o !== 'object' || !isInt(o.s)) throw new PartialRecordError(`no source partition: ${line.slice(0, 80)}`);
  if ('t' in o) {
    if (!isInt(o.n)) throw new PartialRecordError('marker without n');
    return { kind: 'marker', marker: { sourcePartition: o.s, closedThroughMs: timeIn(o.t, 'marker t'), sourcePartitions: o.n } };
  }
  if (typeof o.w !== 'number' || !Array.isArray(o.g) || typeof o.c !== 'number' || typeof o.a !== 'string' || typeof o.h !== 'string') {
    throw new PartialRecordError(`not a partial: ${line.slice(0, 80)}`);
  }
  const accBytes = Buffer.from(o.a, 'base64');
  if (accBytes.length % 8 !== 0) throw new PartialRecordError('accumulators are not float64s');
  const acc = new Float64Array(accBytes.length / 8);
  new Uint8Array(acc.buffer).set(accBytes);
  return {
    kind: 'partial',
    cell: {
      windowStartMs: o.w, sourcePartition: o.s, groupValues: o.g as GroupValue[], count: o.c,
      acc, hll: new Uint8Array(Buffer.from(o.h, 'base64')),
    },
  };
}
