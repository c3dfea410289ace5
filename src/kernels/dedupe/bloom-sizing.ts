/**
 * Sizing of the generational blocked Bloom filter (bloom.ts): from a target false-positive rate,
 * keys per horizon and G generations to probes k, bits per key and the blocks of one generation.
 *
 * Why the exact blocked formula and not the standard m = -n ln p / (ln 2)^2: blocks receive a
 * Poisson-distributed number of keys, so for the same p a blocked filter needs more bits per key.
 *
 *   per-generation target p_g = p / G    (a lookup probes all G live generations; union bound)
 *   FP(bitsPerKey, k) = sum over L ~ Poisson(lambda = 512 / bitsPerKey) of (1 - (1 - 1/512)^(k L))^k
 *   choose k in 1..48 and the least bitsPerKey with FP <= p_g; m = 512 * ceil(n * bitsPerKey / 512)
 * e.g. p = 1e-9, G = 2: 84.8 bits and k = 23 per key (standard: 44.6 bits, k = 31);
 *      p = 1e-2: 10.9 bits, k = 7 (standard: 10.4).
 *
 * The search runs once per thread and p (every worker thread has its own module instance, and each
 * builds its partitions' filters), so its cost is start-up latency of every worker: see bestBlocked.
 */
import { ConfigError } from '../../errors.js';

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

export const BLOOM_HEADER_BYTES = 64;
const BLOCK_BITS = 512;
export const BLOCK_WORDS = 16;
const MAX_PROBES = 48;

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

/** The least bitsPerKey in [1, 512] reaching rate p with k probes, by 40 halvings (Infinity if 512 does not). */
function leastBitsPerKey(p: number, k: number): number {
  let lo = 1;
  let hi = 512;
  if (blockedFalsePositiveRate(hi, k) > p) return Infinity;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (blockedFalsePositiveRate(mid, k) <= p) hi = mid;
    else lo = mid;
  }
  return hi;
}

const bestCache = new Map<number, { k: number; bitsPerKey: number }>();

/**
 * The (k, bitsPerKey) pair with the fewest bits per key that reaches rate p; ties go to the lower k.
 * Same answer as running leastBitsPerKey for every k (48 x 41 evaluations, visible in each worker
 * thread's start-up), at a fraction of the cost: FP falls as bitsPerKey grows, so a k
 * with FP(best bitsPerKey so far, k) > p cannot need fewer bits; one evaluation rules it out. The
 * likely winner (k ~ 0.7 log2(1/p)) is searched first so that bound is tight from the start.
 */
export function bestBlocked(p: number): { k: number; bitsPerKey: number } {
  const cached = bestCache.get(p);
  if (cached) return cached;
  const guess = Math.min(MAX_PROBES, Math.max(1, Math.round(0.7 * Math.log2(1 / p))));
  let best = { k: 1, bitsPerKey: Infinity };
  // guess, guess - 1, guess + 1, guess - 2, ...: outward, so the bound tightens fast.
  for (let d = 0; d < 2 * MAX_PROBES; d++) {
    const k = d % 2 === 0 ? guess + d / 2 : guess - (d + 1) / 2;
    if (k < 1 || k > MAX_PROBES) continue;
    if (best.bitsPerKey !== Infinity && blockedFalsePositiveRate(best.bitsPerKey, k) > p) continue;
    const bits = leastBitsPerKey(p, k);
    if (bits < best.bitsPerKey || (bits === best.bitsPerKey && k < best.k)) best = { k, bitsPerKey: bits };
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
  return BLOOM_HEADER_BYTES + o.generations * s.wordsPerGeneration * 4;
}
