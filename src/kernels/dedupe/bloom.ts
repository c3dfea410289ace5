/**
 * Generational, cache-line-blocked Bloom filter for dedupe, living in a byte range of a
 * (Shared)ArrayBuffer so a partition's dedupe state can move between worker threads and be
 * checkpointed as bytes. Sizing (k, bits per key, blocks) is in bloom-sizing.ts.
 *
 * Why blocked: at p = 1e-9 a standard Bloom filter needs k = 31 probes, i.e. 31 cache misses to add a
 * key once the filter outgrows the cache.
 * A blocked filter (Putze, Sanders & Singler, "Cache-, hash- and space-efficient Bloom filters", 2007)
 * puts all k probes of a key in one 512-bit block = one 64-byte cache line: one miss per generation.
 * Measured rates are in test/unit/kernels/bloom.test.ts.
 *
 * Probes: the block is fastrange(hi, blocks) (top bits of hi); inside it, probe i is the top 9 bits
 * of mix(lo + i * step) with step = fmix32(hi ^ c) | 1 and mix = one multiply-xorshift round. The
 * mix matters: the top bits of a bare arithmetic progression form correlated "lines" in the block
 * and miss the configured rate by far. The in-block pattern draws on lo and the bits
 * of hi the block choice did not use (about 48 bits: two keys of one block share a pattern with
 * probability ~2^-48). The partitioner mixes the same hash differently (fmix32(hi ^ imul(lo, c))), so
 * the keys of one partition spread over all blocks.
 *
 * Rotation by time: generation e covers rotation times [e * spanMs, (e + 1) * spanMs) with
 * spanMs = horizonMs / (G - 1); the rotation time of a row is its event time, at most the watermark
 * (pipeline/processor.ts). When a row of a newer generation arrives, the generations that fall out of
 * the window of G are cleared, but never the newest one (a jump of G generations or more keeps it as
 * the one before the new newest). New keys are recorded in the newest generation, whatever their own
 * time. Memory remembered: a key first recorded at rotation time t stays until the filter's maximum
 * rotation time reaches (floor(t / spanMs) + G) * spanMs > t + horizonMs, so every duplicate arriving
 * while the maximum rotation time seen is <= t + horizonMs is caught (and keys are kept at most
 * horizonMs + spanMs of rotation time, or G - 1 rotations after a jump). The newest slot is header[2],
 * the slot after it the next newest generation's.
 *
 * The G blocks a key can live in (one per generation) are adjacent in memory, so one lookup touches
 * G consecutive cache lines, G + 1 when the blocks are not line-aligned: Node's large SharedArrayBuffers
 * (glibc mmap chunks) start 16 bytes into a page, so at byteOffset 0 every block spans two lines
 * (aligning them is not done: a small gain, and it would change the state layout).
 *
 *   region
 *   +----------------------------+------------------------------------------------+
 *   | header Float64 x 8 (64 B)  | [0] newestGeneration  [1] started (0/1)        |
 *   |                            | [2] newest slot  [3] noRotationBeforeMs        |
 *   |                            | [4] rotation cap  [5] cap set (0/1)            |
 *   +----------------------------+------------------------------------------------+
 *   | block group 0              | slot 0 block | slot 1 block | ... slot G-1     |
 *   | block group 1              |   (each Uint32[16] = 512 bits = a cache line)  |
 *   | ...                        | slot = generation mod G                        |
 *   +----------------------------+------------------------------------------------+
 *
 * All filter state lives in the region, none in the instance: a partition's tasks run on any worker,
 * and each worker keeps its own GenerationalBloom over the same bytes. A header whose [3] is 0 (zeroed
 * state, a checkpoint written before [3] existed) just takes the slow path once.
 */
import { BLOCK_WORDS, BLOOM_HEADER_BYTES, bloomSizing, type BloomOptions, type BloomSizing } from './bloom-sizing.js';
import { KernelError } from '../../errors.js';
import { loadNativeModule, type NativeBloomHandle } from '../../runtime/native-module.js';
import { fmix32 } from '../../runtime/fmix32.js';

export { blockedFalsePositiveRate, bloomBytesFor, bloomSizing, type BloomOptions, type BloomSizing } from './bloom-sizing.js';

const TWO_POW_32_INV = 1 / 4294967296;
/**
 * Probe i of a key: x = imul(h ^ (h >>> 16), MIX) with h = lo + i * step; its top 9 bits are the bit
 * of the 512-bit block: word x >>> 28 (top 4 bits), bit (x >>> 23) & 31 (JS shifts use the count mod 32).
 * The multiply-xorshift keeps the positions from being an arithmetic progression.
 */
const MIX = 0x85ebca6b;
/**
 * Rows whose blocks checkAndAddBatch loads ahead of the real work: enough independent misses to fill
 * the core's miss buffers, few enough (2-3 lines each at G = 2) that they are still in L1 for the
 * second pass; the exact value within that range hardly matters.
 */
const PREFETCH_ROWS = 64;
/** Relative margin below the next generation's start time under which floor(t / spanMs) cannot reach it. */
const ROTATION_MARGIN = 1 - 1e-12;

export class GenerationalBloom {
  readonly sizing: BloomSizing;
  readonly generations: number;
  private readonly header: Float64Array;
  private readonly words: Uint32Array;
  private readonly blocks: number;
  private readonly probes: number;
  private readonly spanMs: number;
  private readonly groupScratch = new Int32Array(PREFETCH_ROWS);
  /** Keeps the prefetch loads of checkAndAddBatch observable, so the compiler cannot drop them. */
  private prefetchSink = 0;
  /** checkAndAddBatch in native code (native-bindings/src/bloom.rs), or null: the JS loop below. */
  private readonly native: NativeBloomHandle | null;
  private readonly nativeStatus = new Int32Array(1);

  /** `native: false` keeps checkAndAddBatch in JS even when the native module is built (tests, benches). */
  constructor(buffer: SharedArrayBuffer | ArrayBuffer, byteOffset: number, options: BloomOptions, opts: { native?: boolean } = {}) {
    this.sizing = bloomSizing(options);
    this.generations = options.generations;
    this.header = new Float64Array(buffer, byteOffset, 4);
    this.words = new Uint32Array(buffer, byteOffset + BLOOM_HEADER_BYTES, this.generations * this.sizing.wordsPerGeneration);
    this.blocks = this.sizing.blocksPerGeneration;
    this.probes = this.sizing.probes;
    this.spanMs = this.sizing.generationSpanMs;
    // The bound depends on spanMs, which a restored checkpoint may have been written under another
    // horizonMs with (same state size): derive it again for this span. (Constructed inside a task of
    // the partition, so no other thread is using the region.)
    if (this.header[1] !== 0) this.header[3] = this.noRotationBeforeMs(this.header[0]);
    const Kernel = opts.native === false ? undefined : loadNativeModule()?.BloomKernel;
    this.native = Kernel ? new Kernel(this.blocks, this.generations, this.probes) : null;
  }

  /** Whether checkAndAddBatch runs in native code. */
  get isNative(): boolean { return this.native !== null; }

  /** The generation number that covers event time `eventTimeMs`. */
  generationOf(eventTimeMs: number): number {
    return Math.floor(eventTimeMs / this.spanMs);
  }

  /**
   * True if the key was (probably) seen within the horizon; otherwise records it in the newest
   * generation and returns false. Rotates generations first when `eventTimeMs` starts a newer one.
   */
  checkAndAdd(lo: number, hi: number, eventTimeMs: number): boolean {
    if (!(eventTimeMs < this.header[3]) || this.header[1] === 0) this.advanceTo(this.generationOf(eventTimeMs));
    const group = Math.floor((hi >>> 0) * this.blocks * TWO_POW_32_INV) * this.generations * BLOCK_WORDS;
    return this.checkAndAddInGroup(group, lo, hi);
  }

  /**
   * checkAndAdd of rows 0 .. rowCount-1 in order: duplicateOut[r] = 1 where checkAndAdd(hashes[2r],
   * hashes[2r+1], eventTimesMs[r]) would return true, else 0. Returns the number of duplicates.
   * Same results as the per-row calls (a key seen earlier in the batch makes a later row a duplicate):
   * only the memory access order differs. Per chunk of PREFETCH_ROWS rows, a first pass loads a word
   * in every cache line the chunk will probe; those loads are independent, so the core overlaps their
   * cache and TLB misses instead of taking one row's misses at a time.
   */
  checkAndAddBatch(hashes: Uint32Array, eventTimesMs: Float64Array, rowCount: number, duplicateOut: Uint8Array): number {
    if (this.native !== null) return this.checkAndAddNative(this.native, hashes, eventTimesMs, rowCount, duplicateOut);
    const words = this.words;
    const groups = this.groupScratch;
    const header = this.header;
    const g = this.generations;
    const groupWords = g * BLOCK_WORDS;
    const blocks = this.blocks;
    const probes = this.probes;
    let touched = 0;
    let duplicates = 0;
    for (let start = 0; start < rowCount; start += PREFETCH_ROWS) {
      const end = Math.min(rowCount, start + PREFETCH_ROWS);
      for (let r = start; r < end; r++) {
        const group = Math.floor(hashes[2 * r + 1] * blocks * TWO_POW_32_INV) * groupWords;
        groups[r - start] = group;
        // The first word of every block and the group's last word: one load in each cache line of the
        // group, whatever the buffer's alignment (Node's large SharedArrayBuffers start 16 bytes into
        // a page, so a 64-byte block usually spans two lines).
        for (let at = group; at < group + groupWords; at += BLOCK_WORDS) touched ^= words[at];
        touched ^= words[group + groupWords - 1];
      }
      // Second pass: the steps of checkAndAddInGroup for each row, in order, written out in this one
      // function body so the 32-bit hash halves stay unboxed in registers (a call per row boxes them as
      // heap numbers). Two changes of form, not of result: the test takes 4 probes per round with no
      // branch between them, so it nearly always ends after its first round (a block at its sized load
      // is ~24% ones) where a branch per probe ends at a random probe, one misprediction per generation;
      // the add takes 4 probes per round, a quarter of the loop's counter, bounds and interrupt checks.
      for (let r = start; r < end; r++) {
        const t = eventTimesMs[r];
        if (!(t < header[3]) || header[1] === 0) this.advanceTo(this.generationOf(t));
        const group = groups[r - start];
        const lo = hashes[2 * r] | 0;
        const step = fmix32(hashes[2 * r + 1] ^ 0x5bd1e995) | 1;
        const newestSlot = header[2] | 0;
        let seen = false;
        for (let i = 0; i < g && !seen; i++) {
          let slot = newestSlot - i;
          if (slot < 0) slot += g;
          const base = group + slot * BLOCK_WORDS;
          let h = lo;
          let p = 0;
          let all = 1;
          for (; p + 4 <= probes; p += 4) {
            const x0 = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            const x1 = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            const x2 = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            const x3 = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            all = (words[(base + (x0 >>> 28)) | 0] >>> (x0 >>> 23)) & (words[(base + (x1 >>> 28)) | 0] >>> (x1 >>> 23))
              & (words[(base + (x2 >>> 28)) | 0] >>> (x2 >>> 23)) & (words[(base + (x3 >>> 28)) | 0] >>> (x3 >>> 23)) & 1;
            if (all === 0) break;
          }
          for (; all !== 0 && p < probes; p++) {
            const x = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            all = (words[(base + (x >>> 28)) | 0] >>> (x >>> 23)) & 1;
          }
          seen = all !== 0;
        }
        if (!seen) {
          const base = group + newestSlot * BLOCK_WORDS;
          let h = lo;
          let p = 0;
          for (; p + 4 <= probes; p += 4) {
            const x0 = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            words[(base + (x0 >>> 28)) | 0] |= 1 << (x0 >>> 23);
            const x1 = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            words[(base + (x1 >>> 28)) | 0] |= 1 << (x1 >>> 23);
            const x2 = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            words[(base + (x2 >>> 28)) | 0] |= 1 << (x2 >>> 23);
            const x3 = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            words[(base + (x3 >>> 28)) | 0] |= 1 << (x3 >>> 23);
          }
          for (; p < probes; p++) {
            const x = Math.imul(h ^ (h >>> 16), MIX);
            h = (h + step) | 0;
            words[(base + (x >>> 28)) | 0] |= 1 << (x >>> 23);
          }
        }
        if (seen) duplicates++;
        duplicateOut[r] = seen ? 1 : 0;
      }
    }
    this.prefetchSink ^= touched;
    return duplicates;
  }

  /**
   * checkAndAddBatch in native code (faster: software prefetches). Native stops at a row whose
   * event time may start a newer generation; the rotation is done here, then native goes on from that
   * row, told the rotation for it is done.
   */
  private checkAndAddNative(native: NativeBloomHandle, hashes: Uint32Array, eventTimesMs: Float64Array, rowCount: number, duplicateOut: Uint8Array): number {
    const header = this.header;
    const status = this.nativeStatus;
    let duplicates = 0;
    let from = 0;
    let rotated = false;
    while (from < rowCount) {
      let stop: number;
      try {
        stop = native.checkAndAdd(this.words, hashes, eventTimesMs, from, rowCount, duplicateOut, header[2], header[3], header[1] !== 0, rotated, status);
      } catch (err) {
        throw new KernelError(`native bloom: ${(err as Error).message}`, { cause: err });
      }
      duplicates += status[0];
      if (stop >= rowCount) break;
      this.advanceTo(this.generationOf(eventTimesMs[stop]));
      from = stop;
      rotated = true;
    }
    return duplicates;
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

  /** The per-row path, kept plain: it is the reference checkAndAddBatch is tested against. */
  private checkAndAddInGroup(group: number, lo: number, hi: number): boolean {
    const g = this.generations;
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

  private inBlock(base: number, lo: number, step: number): boolean {
    const words = this.words;
    let h = lo | 0;
    for (let i = 0; i < this.probes; i++) {
      const bit = Math.imul(h ^ (h >>> 16), MIX) >>> 23; // top 9 bits: a bit of the block
      if ((words[base + (bit >>> 5)] & (1 << (bit & 31))) === 0) return false;
      h = (h + step) | 0;
    }
    return true;
  }

  private addToBlock(base: number, lo: number, step: number): void {
    const words = this.words;
    let h = lo | 0;
    for (let i = 0; i < this.probes; i++) {
      const bit = Math.imul(h ^ (h >>> 16), MIX) >>> 23;
      words[base + (bit >>> 5)] |= 1 << (bit & 31);
      h = (h + step) | 0;
    }
  }

  /**
   * Make `gen` the newest generation if it is newer, clearing the generations that leave the window.
   * Callers skip it once started while eventTimeMs < header[3], an event time that cannot start a newer
   * generation: two compares per event instead of a division and a floor. (The started test keeps a
   * zeroed header, whose [3] is 0, on this path even for negative event times.)
   */
  private advanceTo(gen: number): void {
    const header = this.header;
    const g = this.generations;
    if (header[1] === 0) {
      // -Infinity: rows before the first watermark (processor.ts); the first finite time names their generation.
      header[0] = gen === Number.NEGATIVE_INFINITY ? gen : Math.max(0, gen);
      header[1] = 1;
      header[2] = gen === Number.NEGATIVE_INFINITY ? 0 : header[0] % g;
    } else if (header[0] === Number.NEGATIVE_INFINITY) {
      header[0] = gen;
    } else {
      const newest = header[0];
      if (gen > newest) {
        // A jump of g - 1 generations or more still keeps the newest one, as the one before the new
        // newest: its keys were recorded just now, whatever times the rotation saw (the watermark can
        // trail a jump of the stream by a task). So at most g - 1 slots are cleared.
        const kept = header[2];
        const steps = Math.min(gen - newest, g - 1);
        const words = this.words;
        const stride = g * BLOCK_WORDS;
        for (let k = 1; k <= steps; k++) {
          const slot = (kept + k) % g;
          // The generation's blocks are interleaved with the others': clear every g-th block.
          for (let at = slot * BLOCK_WORDS; at < words.length; at += stride) {
            for (let w = 0; w < BLOCK_WORDS; w++) words[at + w] = 0;
          }
        }
        header[0] = gen;
        header[2] = gen - newest >= g - 1 ? (kept + 1) % g : (kept + steps) % g;
      }
    }
    header[3] = this.noRotationBeforeMs(header[0]);
  }

  /** Event times below this cannot start a generation newer than `newest` (-Infinity: any finite time does). */
  private noRotationBeforeMs(newest: number): number {
    if (newest === Number.NEGATIVE_INFINITY) return -Number.MAX_VALUE;
    // The margin absorbs the rounding of t / spanMs, so below this bound floor(t / spanMs) <= newest.
    return (newest + 1) * this.spanMs * ROTATION_MARGIN;
  }

  /**
   * The watermark the Bloom's rotation times are capped at (pipeline/processor.ts), kept in the
   * partition's state so every worker thread that runs the partition sees the same one, and a
   * checkpoint keeps it: header [4] the value, [5] 1 once set. -Infinity before any.
   */
  get rotationCapMs(): number {
    return this.header[5] === 1 ? this.header[4] : Number.NEGATIVE_INFINITY;
  }

  set rotationCapMs(ms: number) {
    this.header[4] = ms;
    this.header[5] = 1;
  }

  /** Rotation times below this start no newer generation (once started). */
  get rotatesFromMs(): number {
    return this.header[1] === 0 ? Number.NEGATIVE_INFINITY : this.header[3];
  }

  /** The newest generation number (for tests and metrics). */
  get newestGeneration(): number {
    return this.header[0];
  }
}
