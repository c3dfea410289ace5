/**
 * Generational, cache-line-blocked Bloom filter for dedupe, living in a byte range of a
 * (Shared)ArrayBuffer so a partition's dedupe state can move between worker threads and be
 * checkpointed as bytes.
 *
 * Why blocked: at p = 1e-9 a standard Bloom filter needs k = 31 probes, i.e. 31 cache misses to add a
 * key once the filter outgrows the cache (measured here: 0.38M checkAndAdd/s on a 21 MiB filter).
 * A blocked filter (Putze, Sanders & Singler, "Cache-, hash- and space-efficient Bloom filters", 2007)
 * puts all k probes of a key in one 512-bit block = one 64-byte cache line: one miss per generation.
 * The price is memory: blocks receive a Poisson-distributed number of keys, so for the same p a
 * blocked filter needs more bits per key. Sizing therefore uses the exact blocked formula instead
 * of the standard m = -n ln p / (ln 2)^2, k = (m / n) ln 2:
 *
 *   per-generation target p_g = p / G    (a lookup probes all G live generations; union bound)
 *   FP(bitsPerKey, k) = sum over L ~ Poisson(lambda = 512 / bitsPerKey) of (1 - (1 - 1/512)^(k L))^k
 *   choose k in 1..48 and the least bitsPerKey with FP <= p_g; m = 512 * ceil(n * bitsPerKey / 512)
 * e.g. p = 1e-9, G = 2: 84.8 bits and k = 23 per key (standard: 44.6 bits, k = 31);
 *      p = 1e-2: 10.9 bits, k = 7 (standard: 10.4). Measured rates are in test/unit/kernels/bloom.test.ts.
 *
 * Probes: the block is fastrange(hi, blocks) (top bits of hi); inside it, probe i is the top 9 bits
 * of mix(lo + i * step) with step = fmix32(hi ^ c) | 1 and mix = one multiply-xorshift round. The
 * mix matters: the top bits of a bare arithmetic progression form correlated "lines" in the block
 * and measured 6.6x the configured rate at p = 1e-4. The in-block pattern draws on lo and the bits
 * of hi the block choice did not use (about 48 bits: two keys of one block share a pattern with
 * probability ~2^-48). The partitioner mixes the same hash differently (fmix32(hi ^ imul(lo, c))), so
 * the keys of one partition spread over all blocks.
 *
 * Rotation by event time: generation e covers event times [e * spanMs, (e + 1) * spanMs) with
 * spanMs = horizonMs / (G - 1). When an event of a newer generation arrives, the generations that
 * fall out of the window of G are cleared. New keys are recorded in the newest generation, whatever
 * their own event time. Memory remembered: a key first seen at event time t stays until the
 * filter's maximum event time reaches (floor(t / spanMs) + G) * spanMs > t + horizonMs, so every
 * duplicate arriving while the maximum event time seen is <= t + horizonMs is caught (and keys are
 * never kept longer than horizonMs + spanMs of event time).
 *
 * The G blocks a key can live in (one per generation) are adjacent in memory, so one lookup touches
 * G consecutive cache lines, which the adjacent-line prefetcher tends to bring in together.
 *
 *   region (64-byte aligned blocks when byteOffset is)
 *   +----------------------------+------------------------------------------------+
 *   | header Float64 x 8 (64 B)  | newestGeneration, started (0/1), newest slot   |
 *   +----------------------------+------------------------------------------------+
 *   | block group 0              | slot 0 block | slot 1 block | ... slot G-1     |
 *   | block group 1              |   (each Uint32[16] = 512 bits = a cache line)  |
 *   | ...                        | slot = generation mod G                        |
 *   +----------------------------+------------------------------------------------+
 */
import { ConfigError } from '../errors.js';
import { fmix32 } from './xxhash32.js';

export interface BloomOptions {
  /** Target false-positive rate of one lookup, over all live generations. */
  falsePositiveRate: number;
  /** Distinct keys expected within one horizon (per partition, when each partition has its own filter). */
  expectedKeysPerHorizon: number;
  /** Event-time span a key is remembered for, at least. */
  horizonMs: number;
  /** Number of generations G >= 2; more generations waste less memory on rotation but probe more. */
  generations: number;
}

export interface BloomSizing {
  bitsPerGeneration: number;
  blocksPerGeneration: number;
  wordsPerGeneration: number;
  probes: number;
  bitsPerKey: number;
  generationSpanMs: number;
  keysPerGeneration: number;
  /** The model's false-positive rate of one lookup over G full generations. */
  modelFalsePositiveRate: number;
}

const HEADER_BYTES = 64;
const BLOCK_BITS = 512;
const BLOCK_WORDS = 16;
const MAX_PROBES = 48;
const TWO_POW_32_INV = 1 / 4294967296;

/** False-positive rate of one blocked generation at `bitsPerKey` and `k` probes (Poisson block loads). */
export function blockedFalsePositiveRate(bitsPerKey: number, k: number): number {
  const lambda = BLOCK_BITS / bitsPerKey;
  const limit = lambda + 12 * Math.sqrt(lambda) + 30;
  const miss = 1 - 1 / BLOCK_BITS;
  let pL = Math.exp(-lambda);
  let sum = 0;
  for (let L = 0; L <= limit; L++) {
    if (L > 0) pL *= lambda / L;
    sum += pL * Math.pow(1 - Math.pow(miss, k * L), k);
  }
  return sum;
}

const bestCache = new Map<number, { k: number; bitsPerKey: number }>();

/** The (k, bitsPerKey) pair with the fewest bits per key that reaches rate p. */
function bestBlocked(p: number): { k: number; bitsPerKey: number } {
  const cached = bestCache.get(p);
  if (cached) return cached;
  let best = { k: 1, bitsPerKey: Infinity };
  for (let k = 1; k <= MAX_PROBES; k++) {
    let lo = 1;
    let hi = 512;
    if (blockedFalsePositiveRate(hi, k) > p) continue;
    for (let i = 0; i < 40; i++) {
      const mid = (lo + hi) / 2;
      if (blockedFalsePositiveRate(mid, k) <= p) hi = mid;
      else lo = mid;
    }
    if (hi < best.bitsPerKey) best = { k, bitsPerKey: hi };
  }
  bestCache.set(p, best);
  return best;
}

export function bloomSizing(o: BloomOptions): BloomSizing {
  if (!(o.falsePositiveRate > 0 && o.falsePositiveRate < 1)) {
    throw new ConfigError('dedupe.falsePositiveRate', `must be in (0, 1), got ${o.falsePositiveRate}`);
  }
  if (!Number.isInteger(o.generations) || o.generations < 2 || o.generations > 64) {
    throw new ConfigError('dedupe.generations', `must be an integer from 2 to 64, got ${o.generations}`);
  }
  if (!(o.horizonMs >= 1)) throw new ConfigError('dedupe.horizonMs', `must be >= 1, got ${o.horizonMs}`);
  if (!(o.expectedKeysPerHorizon >= 1)) {
    throw new ConfigError('dedupe.expectedKeysPerHorizon', `must be >= 1, got ${o.expectedKeysPerHorizon}`);
  }
  const g = o.generations;
  const keysPerGeneration = Math.ceil(o.expectedKeysPerHorizon / (g - 1));
  const { k, bitsPerKey } = bestBlocked(o.falsePositiveRate / g);
  if (!Number.isFinite(bitsPerKey)) {
    throw new ConfigError('dedupe.falsePositiveRate', `${o.falsePositiveRate} is below what ${MAX_PROBES} probes per 512-bit block reach`);
  }
  const blocks = Math.max(1, Math.ceil((keysPerGeneration * bitsPerKey) / BLOCK_BITS));
  if (blocks * BLOCK_WORDS * g * 4 > 2 ** 31) {
    throw new ConfigError('dedupe.expectedKeysPerHorizon', `needs ${blocks * BLOCK_WORDS * g * 4} bytes of Bloom filter per partition, over 2 GiB`);
  }
  return {
    bitsPerGeneration: blocks * BLOCK_BITS,
    blocksPerGeneration: blocks,
    wordsPerGeneration: blocks * BLOCK_WORDS,
    probes: k,
    bitsPerKey,
    generationSpanMs: o.horizonMs / (g - 1),
    keysPerGeneration,
    modelFalsePositiveRate: g * blockedFalsePositiveRate((blocks * BLOCK_BITS) / keysPerGeneration, k),
  };
}

export function bloomBytesFor(o: BloomOptions): number {
  const s = bloomSizing(o);
  return HEADER_BYTES + o.generations * s.wordsPerGeneration * 4;
}


export class GenerationalBloom {
  readonly sizing: BloomSizing;
  readonly generations: number;
  private readonly header: Float64Array;
  private readonly words: Uint32Array;
  private readonly blocks: number;
  private readonly probes: number;
  private readonly spanMs: number;

  constructor(buffer: SharedArrayBuffer | ArrayBuffer, byteOffset: number, options: BloomOptions) {
    this.sizing = bloomSizing(options);
    this.generations = options.generations;
    this.header = new Float64Array(buffer, byteOffset, 3);
    this.words = new Uint32Array(buffer, byteOffset + HEADER_BYTES, this.generations * this.sizing.wordsPerGeneration);
    this.blocks = this.sizing.blocksPerGeneration;
    this.probes = this.sizing.probes;
    this.spanMs = this.sizing.generationSpanMs;
  }

  /** The generation number that covers event time `eventTimeMs`. */
  generationOf(eventTimeMs: number): number {
    return Math.floor(eventTimeMs / this.spanMs);
  }

  /**
   * True if the key was (probably) seen within the horizon; otherwise records it in the newest
   * generation and returns false. Rotates generations first when `eventTimeMs` starts a newer one.
   */
  checkAndAdd(lo: number, hi: number, eventTimeMs: number): boolean {
    this.advanceTo(this.generationOf(eventTimeMs));
    const g = this.generations;
    const group = Math.floor((hi >>> 0) * this.blocks * TWO_POW_32_INV) * g * BLOCK_WORDS;
    const step = fmix32(hi ^ 0x5bd1e995) | 1;
    const newestSlot = this.header[2];
    for (let i = 0; i < g; i++) {
      // Newest generation first: recent duplicates are the common case.
      let slot = newestSlot - i;
      if (slot < 0) slot += g;
      if (this.inBlock(group + slot * BLOCK_WORDS, lo, step)) return true;
    }
    this.addToBlock(group + newestSlot * BLOCK_WORDS, lo, step);
    return false;
  }

  /** Membership test over all live generations, without recording anything. */
  contains(lo: number, hi: number): boolean {
    const g = this.generations;
    const group = Math.floor((hi >>> 0) * this.blocks * TWO_POW_32_INV) * g * BLOCK_WORDS;
    const step = fmix32(hi ^ 0x5bd1e995) | 1;
    for (let slot = 0; slot < g; slot++) {
      if (this.inBlock(group + slot * BLOCK_WORDS, lo, step)) return true;
    }
    return false;
  }

  private inBlock(base: number, lo: number, step: number): boolean {
    const words = this.words;
    let h = lo | 0;
    for (let i = 0; i < this.probes; i++) {
      // Double hashing, then a multiply-xorshift so the positions are not an arithmetic progression.
      const bit = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 23; // top 9 bits: a bit of the block
      if ((words[base + (bit >>> 5)] & (1 << (bit & 31))) === 0) return false;
      h = (h + step) | 0;
    }
    return true;
  }

  private addToBlock(base: number, lo: number, step: number): void {
    const words = this.words;
    let h = lo | 0;
    for (let i = 0; i < this.probes; i++) {
      const bit = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 23;
      words[base + (bit >>> 5)] |= 1 << (bit & 31);
      h = (h + step) | 0;
    }
  }

  /** Make `gen` the newest generation if it is newer, clearing the generations that leave the window. */
  private advanceTo(gen: number): void {
    const header = this.header;
    if (header[1] === 0) {
      header[0] = Math.max(0, gen);
      header[1] = 1;
      header[2] = header[0] % this.generations;
      return;
    }
    const newest = header[0];
    if (gen <= newest) return;
    const g = this.generations;
    if (gen - newest >= g) {
      this.words.fill(0);
    } else {
      const words = this.words;
      const stride = g * BLOCK_WORDS;
      for (let e = newest + 1; e <= gen; e++) {
        // The generation's blocks are interleaved with the others': clear every g-th block.
        for (let at = (e % g) * BLOCK_WORDS; at < words.length; at += stride) {
          for (let w = 0; w < BLOCK_WORDS; w++) words[at + w] = 0;
        }
      }
    }
    header[0] = gen;
    header[2] = gen % g;
  }

  /** The newest generation number (for tests and metrics). */
  get newestGeneration(): number {
    return this.header[0];
  }
}
