/**
 * Kafka wire helpers for the record-block tests: record batches encoded by kafkajs's own encoder (the
 * bytes a broker returns in a fetch), decoded by kafkajs's decoder or by ringflow's record-block
 * decoder, as kafkajs's fetch decoding runs them. No broker involved.
 */
import { createRequire } from 'node:module';
import type { KafkaMessage } from 'kafkajs';
import { recordBlockDecoder } from '../../../src/sources/kafka/record-block.js';

const require = createRequire(import.meta.url);
export type KafkaDecoder = { buffer: Buffer; offset: number };
type Encoded = { buffer: Buffer };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => KafkaDecoder & { canReadBytes(n: number): boolean };
const Long = require('kafkajs/src/utils/long.js') as { fromNumber(n: number): unknown };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch(o: Record<string, unknown>): Promise<Encoded>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: Record<string, unknown>) => unknown;
export const kafkajsDecode = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: KafkaDecoder) => Promise<{ records: KafkaMessage[] }>;
const { lookupCodecByAttributes, Types } = require('kafkajs/src/protocol/message/compression/index.js') as {
  lookupCodecByAttributes(a: number): { decompress(b: Buffer): Promise<Buffer> } | null;
  Types: { None: number; GZIP: number };
};
export const blockDecode = recordBlockDecoder(kafkajsDecode as never, lookupCodecByAttributes);

export interface RecordSpec {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestampDelta: number;
}

export interface BatchSpec {
  firstOffset: number;
  records: RecordSpec[];
  gzip: boolean;
  transactional?: boolean;
  /** Offset deltas of the records (default 0, 1, 2, ...: a batch compaction has not thinned). */
  offsetDeltas?: number[];
  lastOffsetDelta?: number;
}

export async function encodeBatch(b: BatchSpec): Promise<Buffer> {
  const encoded = await RecordBatch({
    compression: b.gzip ? Types.GZIP : Types.None,
    firstOffset: Long.fromNumber(b.firstOffset),
    lastOffsetDelta: b.lastOffsetDelta ?? b.records.length - 1,
    transactional: b.transactional ?? false,
    records: b.records.map((r, i) =>
      Record({
        offsetDelta: b.offsetDeltas?.[i] ?? i,
        timestampDelta: r.timestampDelta,
        key: r.key === null ? null : Buffer.from(r.key),
        value: r.value === null ? null : Buffer.from(r.value),
        headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Buffer.from(v)])),
      }),
    ),
  });
  return encoded.buffer;
}

/** Messages of a fetch response holding `batches` back to back, decoded as kafkajs's fetch decoding does. */
export async function decodeAll(buffer: Buffer, decode: (d: KafkaDecoder) => Promise<{ records: KafkaMessage[] }>): Promise<KafkaMessage[]> {
  const d = new Decoder(buffer);
  const out: KafkaMessage[] = [];
  while (d.canReadBytes(49)) out.push(...(await decode(d)).records);
  return out;
}

