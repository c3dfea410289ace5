/**
 * Two changes to kafkajs's produce-side encoding, for the processed-events sink, which produces as
 * many bytes as the source reads, where kafkajs was written for small messages:
 *
 * - the record batch CRC-32C, which kafkajs computes with a byte-at-a-time JS table, is taken from
 *   @node-rs/crc32 (SSE 4.2 / ARMv8 CRC instructions). The checksum is the same function, so the
 *   broker sees the same bytes; test/unit/sinks/producer-patch.test.ts checks it against kafkajs's own.
 * - the protocol Encoder grows its buffer with Buffer.allocUnsafe instead of Buffer.alloc: every
 *   produced byte passes through several growing encoders (record, batch, request), and each new
 *   buffer was zero-filled only to be overwritten. Bytes past `offset` are never read
 *   (`Encoder#buffer` is the slice up to it), so the unzeroed tail cannot leak into a request.
 *
 * The CRC module is swapped through Node's module cache, so it must happen before kafkajs loads its
 * record batch encoder (recordBatch/v0 keeps the function it required). kafkajs loads that lazily,
 * with the first produce or fetch request module, so SharedProducer installs the patch when it is
 * built. As with the consumer's patch (sources/kafka/internals-patch.ts), any kafkajs other than
 * 2.2.x, an encoder already loaded, or @node-rs/crc32 without a binary for this platform leaves
 * kafkajs's own code: same bytes on the wire, more CPU. ARCHITECTURE.md has the measurement.
 */
import { createRequire } from 'node:module';

const SUPPORTED_VERSION = /^2\.2\./;

export interface ProducerPatchState {
  /** The record batch CRC comes from @node-rs/crc32. */
  nativeCrc: boolean;
  /** Encoder growth skips zero-filling. */
  unzeroedGrowth: boolean;
}

let state: ProducerPatchState | undefined;

interface EncoderLike {
  buf: Buffer;
  offset: number;
}
interface EncoderClass {
  prototype: { ensureAvailable(this: EncoderLike, length: number): void };
  nextPowerOfTwo(n: number): number;
}

type Crc32c = (input: Uint8Array) => number;

/** @node-rs/crc32's crc32c, or null when its platform binary is missing (an optional dependency). */
function loadCrc32c(require: NodeJS.Require): Crc32c | null {
  try {
    const { crc32c } = require('@node-rs/crc32') as { crc32c?: Crc32c };
    return typeof crc32c === 'function' ? crc32c : null;
  } catch {
    return null;
  }
}

let nativeCrc32c: Crc32c | null | undefined;

/** The CRC-32C kafkajs writes into a record batch header (unsigned 32 bits), from @node-rs/crc32; throws without it. */
export function recordBatchCrc(buffer: Buffer): number {
  return nativeCrc32c!(buffer) >>> 0;
}

/** Installs what it can, once per thread; says what took effect. Never throws. */
export function installProducerPatch(): ProducerPatchState {
  if (state) return state;
  state = { nativeCrc: false, unzeroedGrowth: false };
  const require = createRequire(import.meta.url);
  try {
    const { version } = require('kafkajs/package.json') as { version?: string };
    if (!SUPPORTED_VERSION.test(version ?? '')) return state;
    nativeCrc32c = loadCrc32c(require);
    const crcPath = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
    const batchPath = require.resolve('kafkajs/src/protocol/recordBatch/v0/index.js');
    if (nativeCrc32c !== null && require.cache[batchPath] === undefined) {
      require(crcPath);
      const entry = require.cache[crcPath];
      if (entry !== undefined && typeof entry.exports === 'function') {
        entry.exports = recordBatchCrc;
        state.nativeCrc = true;
      }
    }
    const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
    if (typeof Encoder.nextPowerOfTwo === 'function' && typeof Encoder.prototype.ensureAvailable === 'function') {
      Encoder.prototype.ensureAvailable = function ensureAvailable(this: EncoderLike, length: number): void {
        if (this.offset + length <= this.buf.length) return;
        const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
        this.buf.copy(grown, 0, 0, this.offset);
        this.buf = grown;
      };
      state.unzeroedGrowth = true;
    }
  } catch {
    // A moved file or another layout: kafkajs keeps its own code (see the header).
  }
  return state;
}
