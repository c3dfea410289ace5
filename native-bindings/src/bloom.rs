//! The dedupe Bloom filter's batch check-and-add in native code. The JS twin, and the reference for
//! every bit, is GenerationalBloom.checkAndAddBatch in src/kernels/bloom.ts: same block choice, same
//! probe positions, same generation order, so a filter written by one is read correctly by the
//! other (and a checkpoint does not care which wrote it). Property test:
//! test/unit/kernels/bloom.test.ts ("native and JS batch paths").
//!
//! Generation rotation stays in JS (it is rare, and owns the header): a call processes rows until one
//! whose event time could start a newer generation, and returns that row; JS rotates, then calls
//! again from that row with `rotated_first` set, so the row is taken as is.
//!
//!   words   [ group 0: slot 0 block | slot 1 block | ... | slot G-1 block ][ group 1 ... ]
//!             each block = 16 x u32 = 512 bits; slot = generation mod G
//!   hashes  [ lo0, hi0, lo1, hi1, ... ]  (u32 pairs: the 64-bit key hash of each row)

pub const BLOCK_WORDS: usize = 16;
const MIX: u32 = 0x85eb_ca6b;
const STEP_SALT: u32 = 0x5bd1_e995;
const TWO_POW_32_INV: f64 = 1.0 / 4_294_967_296.0;
/// Rows whose cache lines are prefetched before their probes run (bloom.ts: PREFETCH_ROWS).
const PREFETCH_ROWS: usize = 64;

pub struct BloomShape {
  pub blocks: usize,
  pub generations: usize,
  pub probes: usize,
}

/// What a call may assume about the header (read by JS before the call; rotation happens in JS).
pub struct BloomClock {
  pub newest_slot: usize,
  pub no_rotation_before_ms: f64,
  pub started: bool,
  /// JS has just rotated for the first row: take it without the rotation test.
  pub rotated_first: bool,
}

pub struct BatchResult {
  /// First row not processed (it needs a rotation), or the end of the range.
  pub stop_row: usize,
  pub duplicates: u32,
}

fn fmix32(mut h: u32) -> u32 {
  h ^= h >> 16;
  h = h.wrapping_mul(0x85eb_ca6b);
  h ^= h >> 13;
  h = h.wrapping_mul(0xc2b2_ae35);
  h ^= h >> 16;
  h
}

#[inline(always)]
fn probe(h: u32) -> (usize, u32) {
  let x = (h ^ (h >> 16)).wrapping_mul(MIX);
  ((x >> 28) as usize, 1u32 << ((x >> 23) & 31))
}

#[inline(always)]
fn prefetch(words: &[u32], at: usize) {
  #[cfg(target_arch = "x86_64")]
  // SAFETY: a prefetch is a hint; it never faults and reads nothing observable. `at` is in bounds.
  unsafe {
    use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    _mm_prefetch::<_MM_HINT_T0>(words.as_ptr().add(at) as *const i8);
  }
  #[cfg(not(target_arch = "x86_64"))]
  let _ = words[at];
}

/// Whether every probe of the key is set in the block at `base` (probes in rounds of 4 without a
/// branch between them: a block at its sized load is ~24% ones, so the first round nearly always ends it).
#[inline(always)]
fn in_block(block: &[u32; BLOCK_WORDS], lo: u32, step: u32, probes: usize) -> bool {
  let mut h = lo;
  let mut p = 0;
  while p + 4 <= probes {
    let mut all = 1u32;
    for _ in 0..4 {
      let (w, bit) = probe(h);
      h = h.wrapping_add(step);
      all &= (block[w] & bit != 0) as u32;
    }
    if all == 0 {
      return false;
    }
    p += 4;
  }
  while p < probes {
    let (w, bit) = probe(h);
    h = h.wrapping_add(step);
    if block[w] & bit == 0 {
      return false;
    }
    p += 1;
  }
  true
}

#[inline(always)]
fn add_to_block(block: &mut [u32; BLOCK_WORDS], lo: u32, step: u32, probes: usize) {
  let mut h = lo;
  for _ in 0..probes {
    let (w, bit) = probe(h);
    h = h.wrapping_add(step);
    block[w] |= bit;
  }
}

/// Rows from..to of a batch, in order, as bloom.ts checkAndAddBatch does them: dup[r] = 1 where the
/// key was (probably) seen, else 0 and the key is recorded in the newest generation. Stops at the
/// first row (after the first, with rotated_first) whose time fails the no-rotation bound.
pub fn check_and_add(
  shape: &BloomShape, clock: &BloomClock, words: &mut [u32], hashes: &[u32], times_ms: &[f64], from: usize, to: usize,
  dup: &mut [u8],
) -> Result<BatchResult, String> {
  let g = shape.generations;
  let group_words = g * BLOCK_WORDS;
  if g == 0 || shape.probes == 0 || shape.blocks == 0 {
    return Err("bloom: generations, probes and blocks must be positive".into());
  }
  if words.len() < shape.blocks * group_words {
    return Err(format!("bloom: {} state words, the shape needs {}", words.len(), shape.blocks * group_words));
  }
  if from > to || hashes.len() < 2 * to || times_ms.len() < to || dup.len() < to {
    return Err(format!("bloom: rows [{from}, {to}) outside the batch arrays"));
  }
  if clock.newest_slot >= g {
    return Err(format!("bloom: newest slot {} of {g} generations", clock.newest_slot));
  }
  let blocks = shape.blocks as f64;
  let mut groups = [0usize; PREFETCH_ROWS];
  let mut duplicates = 0u32;
  let mut start = from;
  while start < to {
    let end = to.min(start + PREFETCH_ROWS);
    for r in start..end {
      // Same float steps as bloom.ts, so the block is the same: hi * blocks < 2^64 never rounds up to
      // blocks * 2^32, so the floor is below `blocks`.
      let block = ((hashes[2 * r + 1] as f64) * blocks * TWO_POW_32_INV).floor() as usize;
      let group = block.min(shape.blocks - 1) * group_words;
      groups[r - start] = group;
      let mut at = group;
      while at < group + group_words {
        prefetch(words, at);
        at += BLOCK_WORDS;
      }
      prefetch(words, group + group_words - 1);
    }
    for r in start..end {
      let t = times_ms[r];
      if !(t < clock.no_rotation_before_ms && clock.started) && !(r == from && clock.rotated_first) {
        return Ok(BatchResult { stop_row: r, duplicates });
      }
      let group = groups[r - start];
      let lo = hashes[2 * r];
      let step = fmix32(hashes[2 * r + 1] ^ STEP_SALT) | 1;
      let blocks_of_group: &mut [u32] = &mut words[group..group + group_words];
      let mut seen = false;
      for i in 0..g {
        // Newest generation first: recent duplicates are the common case.
        let slot = (clock.newest_slot + g - i) % g;
        let block: &[u32; BLOCK_WORDS] = blocks_of_group[slot * BLOCK_WORDS..(slot + 1) * BLOCK_WORDS].try_into().unwrap();
        if in_block(block, lo, step, shape.probes) {
          seen = true;
          break;
        }
      }
      if seen {
        duplicates += 1;
      } else {
        let slot = clock.newest_slot;
        let block: &mut [u32; BLOCK_WORDS] = (&mut blocks_of_group[slot * BLOCK_WORDS..(slot + 1) * BLOCK_WORDS]).try_into().unwrap();
        add_to_block(block, lo, step, shape.probes);
      }
      dup[r] = seen as u8;
    }
    start = end;
  }
  Ok(BatchResult { stop_row: to, duplicates })
}
