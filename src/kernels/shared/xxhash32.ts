/**
 * XXH32 in plain JS over a byte range, without allocating: the per-row key hash of the decode kernel.
 *
 * Why not @node-rs/xxhash on the hot path: on short keys a native call (for xxh64 also a BigInt, an
 * allocation) costs several times this whole loop, whatever the hashing itself costs. It is checked
 * bit-for-bit against @node-rs/xxhash's `xxh32` by a fast-check property
 * (test/unit/kernels/xxhash32.test.ts: random bytes of length 0..100, random seeds).
 *
 * All arithmetic is on uint32 lanes with Math.imul, which is what the C reference does with wrapping
 * 32-bit multiplies; `| 0` / `>>> 0` keep V8 on its int32 fast paths.
 */

import { dataViewOf } from '../../runtime/batch.js';
import { fmix32 } from '../../runtime/fmix32.js';

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;
const M1 = 0xcc9e2d51 | 0;
const M2 = 0x1b873593 | 0;

/** Seed of the high half of the 64-bit key hash (murmur3 lane; any fixed constant works). */
export const HASH64_HI_SEED = 0x9e3779b1;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function avalanche(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** XXH32 of bytes[start, end) with `seed`, as an unsigned 32-bit number (same as the C reference / @node-rs/xxhash). */
export function xxh32(bytes: Uint8Array, start: number, end: number, seed: number): number {
  const len = end - start;
  let p = start;
  let h: number;
  seed |= 0;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    // Reads and rounds written out: inlining budget runs out in these loops, and a call per 4 bytes
    // would cost as much as the hashing.
    while (p <= limit) {
      v1 = (v1 + Math.imul(bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24), P2)) | 0;
      v1 = Math.imul((v1 << 13) | (v1 >>> 19), P1);
      v2 = (v2 + Math.imul(bytes[p + 4] | (bytes[p + 5] << 8) | (bytes[p + 6] << 16) | (bytes[p + 7] << 24), P2)) | 0;
      v2 = Math.imul((v2 << 13) | (v2 >>> 19), P1);
      v3 = (v3 + Math.imul(bytes[p + 8] | (bytes[p + 9] << 8) | (bytes[p + 10] << 16) | (bytes[p + 11] << 24), P2)) | 0;
      v3 = Math.imul((v3 << 13) | (v3 >>> 19), P1);
      v4 = (v4 + Math.imul(bytes[p + 12] | (bytes[p + 13] << 8) | (bytes[p + 14] << 16) | (bytes[p + 15] << 24), P2)) | 0;
      v4 = Math.imul((v4 << 13) | (v4 >>> 19), P1);
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (p + 4 <= end) {
    h = (h + Math.imul(bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24), P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), P4);
    p += 4;
  }
  while (p < end) {
    h = (h + Math.imul(bytes[p], P5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), P1);
    p++;
  }
  return avalanche(h);
}

/**
 * The project's 64-bit key hash, written as out[at] = low 32 bits, out[at + 1] = high 32 bits:
 *   lo = XXH32(bytes, seed 0)                 (equal to @node-rs/xxhash `xxh32`, checked in the tests)
 *   hi = MurmurHash3_x86_32(bytes, seed HASH64_HI_SEED)   (checked against published test vectors)
 * Why two different functions: XXH32 under two seeds is NOT a 64-bit hash. Its rounds are add-rotate-
 * multiply, so a difference between two inputs travels the same way whatever the seed, and inputs that
 * collide under one seed mostly collide under the other, and each pair colliding in both lanes is a
 * false duplicate for dedupe (seen on generated event ids, ARCHITECTURE.md "Measurements"). Murmur3
 * mixes blocks with xor and a different multiply/rotate schedule, so its collisions are independent of
 * XXH32's: a pair collides in both lanes with probability ~2^-64. Not XXH64 because JS has no cheap
 * 64-bit multiply (BigInt or 16-bit limbs) and the native call costs a call plus a BigInt per key.
 */
export function hash64Into(bytes: Uint8Array, start: number, end: number, out: Uint32Array, at: number): void {
  hash64View(dataViewOf(bytes), start, end, out, at);
}

/**
 * hash64Into over the bytes a DataView sees, [start, end) relative to the view: one 32-bit read per
 * word instead of four byte loads (faster on short keys). Both hashes in one
 * pass: they consume the same little-endian words in the same order (XXH32 into its four stripe lanes,
 * then into h; murmur3 block by block), so each word is read once. Equal to xxh32(.., 0) and
 * murmur3x86_32(.., HASH64_HI_SEED) bit for bit (checked in the tests).
 */
export function hash64View(view: DataView<ArrayBufferLike>, start: number, end: number, out: Uint32Array, at: number): void {
  const len = end - start;
  let p = start;
  let m = HASH64_HI_SEED | 0;
  let h: number;
  if (len >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = -P1 | 0;
    const limit = end - 16;
    while (p <= limit) {
      const w0 = view.getInt32(p, true);
      const w1 = view.getInt32(p + 4, true);
      const w2 = view.getInt32(p + 8, true);
      const w3 = view.getInt32(p + 12, true);
      v1 = (v1 + Math.imul(w0, P2)) | 0;
      v1 = Math.imul((v1 << 13) | (v1 >>> 19), P1);
      v2 = (v2 + Math.imul(w1, P2)) | 0;
      v2 = Math.imul((v2 << 13) | (v2 >>> 19), P1);
      v3 = (v3 + Math.imul(w2, P2)) | 0;
      v3 = Math.imul((v3 << 13) | (v3 >>> 19), P1);
      v4 = (v4 + Math.imul(w3, P2)) | 0;
      v4 = Math.imul((v4 << 13) | (v4 >>> 19), P1);
      let k = Math.imul(w0, M1);
      m ^= Math.imul((k << 15) | (k >>> 17), M2);
      m = (Math.imul((m << 13) | (m >>> 19), 5) + 0xe6546b64) | 0;
      k = Math.imul(w1, M1);
      m ^= Math.imul((k << 15) | (k >>> 17), M2);
      m = (Math.imul((m << 13) | (m >>> 19), 5) + 0xe6546b64) | 0;
      k = Math.imul(w2, M1);
      m ^= Math.imul((k << 15) | (k >>> 17), M2);
      m = (Math.imul((m << 13) | (m >>> 19), 5) + 0xe6546b64) | 0;
      k = Math.imul(w3, M1);
      m ^= Math.imul((k << 15) | (k >>> 17), M2);
      m = (Math.imul((m << 13) | (m >>> 19), 5) + 0xe6546b64) | 0;
      p += 16;
    }
    h = (((v1 << 1) | (v1 >>> 31)) + ((v2 << 7) | (v2 >>> 25)) + ((v3 << 12) | (v3 >>> 20)) + ((v4 << 18) | (v4 >>> 14))) | 0;
  } else {
    h = P5;
  }
  h = (h + len) | 0;
  while (p + 4 <= end) {
    const w = view.getInt32(p, true);
    h = (h + Math.imul(w, P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), P4);
    const k = Math.imul(w, M1);
    m ^= Math.imul((k << 15) | (k >>> 17), M2);
    m = (Math.imul((m << 13) | (m >>> 19), 5) + 0xe6546b64) | 0;
    p += 4;
  }
  if (p < end) {
    // murmur3 folds the 1-3 tail bytes into one block; XXH32 takes them one by one.
    let k = view.getUint8(p);
    h = (h + Math.imul(view.getUint8(p), P5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), P1);
    if (p + 1 < end) {
      k ^= view.getUint8(p + 1) << 8;
      h = (h + Math.imul(view.getUint8(p + 1), P5)) | 0;
      h = Math.imul((h << 11) | (h >>> 21), P1);
      if (p + 2 < end) {
        k ^= view.getUint8(p + 2) << 16;
        h = (h + Math.imul(view.getUint8(p + 2), P5)) | 0;
        h = Math.imul((h << 11) | (h >>> 21), P1);
      }
    }
    k = Math.imul(k, M1);
    m ^= Math.imul((k << 15) | (k >>> 17), M2);
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  out[at] = h ^ (h >>> 16);
  m ^= len;
  m ^= m >>> 16;
  m = Math.imul(m, 0x85ebca6b);
  m ^= m >>> 13;
  m = Math.imul(m, 0xc2b2ae35);
  out[at + 1] = m ^ (m >>> 16);
}

/** MurmurHash3_x86_32 of bytes[start, end) with `seed`, unsigned (Austin Appleby's reference algorithm). */
export function murmur3x86_32(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let h = seed | 0;
  let p = start;
  const blocksEnd = start + ((end - start) & ~3);
  while (p < blocksEnd) {
    let k = Math.imul(bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24), M1);
    k = Math.imul((k << 15) | (k >>> 17), M2);
    h ^= k;
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
    p += 4;
  }
  const tail = end - p;
  if (tail > 0) {
    let k = bytes[p];
    if (tail > 1) k ^= bytes[p + 1] << 8;
    if (tail > 2) k ^= bytes[p + 2] << 16;
    h ^= Math.imul(rotl(Math.imul(k, M1), 15), M2);
  }
  return fmix32(h ^ (end - start));
}

const encoder = new TextEncoder();
const pair = new Uint32Array(2);

/**
 * The 64-bit key hash of a JS string's UTF-8 bytes as [lo, hi] (a fresh array). Allocates: for tests,
 * dimension tables and other cold paths only.
 */
export function hashString(s: string): [number, number] {
  const bytes = encoder.encode(s);
  hash64Into(bytes, 0, bytes.length, pair, 0);
  return [pair[0], pair[1]];
}
