/**
 * A leaner record-batch decoder for the consumer thread. kafkajs turns every Kafka record into an
 * object with Long offsets parsed from strings, a Decoder, key / value / header Buffers and a header
 * map; with one small event per message that is most of the consumer thread's CPU, more than the
 * whole pipeline spends on the event (profile in ARCHITECTURE.md, Measurements).
 * ringflow only needs each record's offset and value bytes, so a plain record batch (magic 2) becomes
 * ONE pseudo-message carrying the batch's records region untouched; KafkaChunkBuilder then walks it
 * and copies the values straight into the NDJSON chunk, with no object per record.
 *
 *   record batch   [firstOffset:i64][length:i32][epoch:i32][magic:i8][crc:i32][attributes:i16]
 *                  [lastOffsetDelta:i32][firstTs:i64][maxTs:i64][producer:i64+i16+i32][count:i32]
 *                  [record][record]...            <- `records` (gunzipped first when compressed)
 *   record         [length:varint][attr:i8][tsDelta:varlong][offsetDelta:varint]
 *                  [keyLen:varint][key][valueLen:varint][value][headers...]
 *
 * Transactional and control batches (aborted-transaction filtering needs per-record data), partial
 * tail batches, and anything unexpected go to kafkajs's own decoder unchanged. The pseudo-message's
 * offset is the batch's last offset, so kafkajs's fetch position, lag and resolveOffset work as
 * before; records below the fetched offset (a fetch may start inside a batch) are skipped by the
 * walk, as kafkajs's Batch would have filtered them.
 *
 * The decoder is swapped in through Node's module cache before kafkajs is first loaded in the consumer
 * thread (internals-patch.ts). When that is not possible the consumer keeps kafkajs's messages;
 * KafkaChunkBuilder handles both shapes, so results never depend on it.
 */
import { SourceError } from '../../errors.js';

/** Records of one record batch, undecoded. */
export interface RecordBlock {
  /** Record bytes only (after the batch header and record count; decompressed). */
  records: Uint8Array;
  count: number;
  firstOffset: number;
}

/** The property a pseudo-message carries its block under. */
export const RECORD_BLOCK = 'ringflowRecordBlock';

const BATCH_HEADER_BYTES = 61;
const LENGTH_END = 12;
const MAGIC_AT = 16;
const MAGIC = 2;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const FIRST_TIMESTAMP_AT = 27;
const COUNT_AT = 57;
const COMPRESSION_MASK = 0x07;
const TRANSACTIONAL_OR_CONTROL = 0x10 | 0x20;

interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
}
export type BatchDecoder = (d: KafkaDecoder) => Promise<{ records: unknown[] }>;
export interface Codec {
  decompress(b: Buffer): Promise<Buffer>;
}

/** A signed 64-bit big-endian integer as a number (exact below 2^53, which Kafka offsets are). */
function readInt64(b: Buffer, at: number): number {
  return b.readInt32BE(at) * 4294967296 + b.readUInt32BE(at + 4);
}

/**
 * The decoder kafkajs's fetch decoding calls once per record batch: a pseudo-message for plain
 * batches, kafkajs's `original` for the rest.
 */
export function recordBlockDecoder(original: BatchDecoder, codecFor: (attributes: number) => Codec | null): BatchDecoder {
  return async (d: KafkaDecoder) => {
    const b = d.buffer;
    const at = d.offset;
    if (b.length - at < BATCH_HEADER_BYTES) return original(d);
    const end = at + LENGTH_END + b.readInt32BE(at + 8);
    const attributes = b.readInt16BE(at + ATTRIBUTES_AT);
    if (end > b.length || end < at + BATCH_HEADER_BYTES || b[at + MAGIC_AT] !== MAGIC || (attributes & TRANSACTIONAL_OR_CONTROL) !== 0) return original(d);
    const firstOffset = readInt64(b, at);
    const lastOffset = firstOffset + b.readInt32BE(at + LAST_OFFSET_DELTA_AT);
    const count = b.readInt32BE(at + COUNT_AT);
    let records: Uint8Array = b.subarray(at + BATCH_HEADER_BYTES, end);
    d.offset = end;
    if ((attributes & COMPRESSION_MASK) !== 0) {
      const codec = codecFor(attributes);
      if (codec === null) throw new SourceError('kafka', `record batch at offset ${firstOffset} uses an unknown compression codec (attributes ${attributes})`);
      records = await codec.decompress(records as Buffer);
    }
    if (count <= 0) return { records: [] };
    const message = {
      magicByte: 2,
      attributes: 0,
      timestamp: String(readInt64(b, at + FIRST_TIMESTAMP_AT)),
      offset: String(lastOffset),
      key: null,
      value: null,
      headers: {},
      isControlRecord: false,
      batchContext: {},
      [RECORD_BLOCK]: { records, count, firstOffset } satisfies RecordBlock,
    };
    return { records: [message] };
  };
}

const NEWLINE = 0x0a;
/** Read position of the varint reader below (module state, so reading allocates nothing). */
let cursor = 0;

function malformed(block: RecordBlock): SourceError {
  return new SourceError('kafka', `malformed record batch at offset ${block.firstOffset}: a record runs past the batch`);
}

/** A zigzag varint at `cursor` (Kafka's record fields); moves `cursor` past it. */
function readVarint(bytes: Uint8Array, end: number): number {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    if (cursor >= end || shift > 28) return Number.NaN;
    byte = bytes[cursor++];
    value |= (byte & 0x7f) << shift;
    shift += 7;
  } while ((byte & 0x80) !== 0);
  return (value >>> 1) ^ -(value & 1);
}

/**
 * Reads a record's length, attributes and timestamp delta from `cursor`, leaving it at the offset
 * delta; returns the record's end. Throws on a record that runs past `end` or is too short to hold
 * its fixed fields (length varint excluded: attributes, three varints, header count = 6 bytes at least).
 */
function enterRecord(block: RecordBlock, bytes: Uint8Array, end: number): number {
  const length = readVarint(bytes, end);
  const recordEnd = cursor + length;
  if (!(length >= 6) || recordEnd > end) throw malformed(block);
  cursor++; // attributes
  while (cursor < recordEnd && (bytes[cursor++] & 0x80) !== 0); // timestamp delta (varlong)
  return recordEnd;
}

/** The offset of the first record at or above the cut (-1: none yet), null values included. */
export interface CopiedSpan {
  firstOffset: number;
}

/** Bytes a block's values can take in a chunk, newlines included (never more than its records). */
export function blockBytesBound(block: RecordBlock): number {
  return block.records.length;
}

/**
 * Appends the values of the block's records at offsets >= `cut` to `out` at `at`, each ending in
 * '\n' (added when missing); null and empty values are skipped. Returns the new end.
 *
 * The whole records region is copied first (one memcpy) and then compacted in place, each value
 * moved left with copyWithin, which beats a subarray + set per value and allocates nothing. Moving left is safe: a record has at least 6 bytes besides its value and
 * the added '\n' is one, so the write position never passes the record being read.
 */
export function appendRecordValues(block: RecordBlock, cut: number, out: Uint8Array, at: number, span: CopiedSpan): number {
  const base = at;
  const end = base + block.records.length;
  out.set(block.records, base);
  cursor = base;
  for (let i = 0; i < block.count; i++) {
    const recordEnd = enterRecord(block, out, end);
    const offset = block.firstOffset + readVarint(out, recordEnd);
    const keyLength = readVarint(out, recordEnd);
    if (keyLength > 0) cursor += keyLength;
    const valueLength = readVarint(out, recordEnd);
    const valueStart = cursor;
    if (Number.isNaN(offset) || Number.isNaN(keyLength) || Number.isNaN(valueLength) || valueStart + valueLength > recordEnd) throw malformed(block);
    if (offset >= cut) {
      if (span.firstOffset < 0) span.firstOffset = offset;
      if (valueLength > 0) {
        out.copyWithin(at, valueStart, valueStart + valueLength);
        at += valueLength;
        if (out[at - 1] !== NEWLINE) out[at++] = NEWLINE;
      }
    }
    cursor = recordEnd;
  }
  return at;
}
