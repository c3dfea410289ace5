//! The byte pattern of a string field: the atoms compileBytePattern (src/kernels/filter-pattern.ts)
//! produced, tested the same way its AtomPattern.test does. Only patterns that compile to atoms reach
//! native; a config with a RegExp-only pattern has no native decoder at all.
//!
//!   sets  [ atom 0: 128 bytes | atom 1: 128 bytes | ... ]   sets[128 * a + c] = 1 when ASCII c matches
//!   mins / maxs  [ atom 0 | atom 1 | ... ]                 (max = usize::MAX for an unbounded atom)

pub const UNBOUNDED: usize = usize::MAX;
/// Fixed patterns longer than this are tested atom by atom (no per-position table of that size).
const FIXED_TABLE_MAX_BYTES: usize = 256;

pub struct Pattern {
  sets: Vec<u8>,
  mins: Vec<usize>,
  maxs: Vec<usize>,
  min_bytes: usize,
  max_bytes: usize,
  /// Every atom repeats a fixed number of times: one linear pass decides.
  fixed: bool,
  /// Fixed patterns of up to FIXED_TABLE_MAX_BYTES: per byte position p of a match, 128 * (the atom
  /// it belongs to), so a test is one table read per byte. Empty otherwise.
  fixed_rows: Vec<usize>,
}

impl Pattern {
  /// `atoms` = (128-byte set, min, max); sets are checked to be 128 bytes by the plan reader.
  pub fn new(atoms: Vec<(&[u8], usize, usize)>) -> Pattern {
    let mut sets = Vec::with_capacity(128 * atoms.len());
    let mut mins = Vec::with_capacity(atoms.len());
    let mut maxs = Vec::with_capacity(atoms.len());
    let (mut min_bytes, mut max_bytes) = (0usize, 0usize);
    for (set, min, max) in atoms {
      sets.extend_from_slice(set);
      mins.push(min);
      maxs.push(max);
      min_bytes = min_bytes.saturating_add(min);
      max_bytes = if max == UNBOUNDED { UNBOUNDED } else { max_bytes.saturating_add(max) };
    }
    let fixed = mins.iter().zip(maxs.iter()).all(|(a, b)| a == b);
    let fixed_rows = if fixed && min_bytes <= FIXED_TABLE_MAX_BYTES { mins.iter().enumerate().flat_map(|(a, &n)| std::iter::repeat(128 * a).take(n)).collect() } else { Vec::new() };
    Pattern { sets, mins, maxs, min_bytes, max_bytes, fixed, fixed_rows }
  }

  #[inline(always)]
  fn matches(&self, atom: usize, c: u8) -> bool {
    c < 128 && self.sets[128 * atom + c as usize] != 0
  }

  pub fn test(&self, s: &[u8]) -> bool {
    if s.len() < self.min_bytes || s.len() > self.max_bytes {
      return false;
    }
    if !self.fixed {
      return self.match_from(s, 0, 0);
    }
    // Fixed counts and len == min_bytes: byte p belongs to exactly one atom.
    if self.fixed_rows.len() == s.len() {
      return s.iter().zip(self.fixed_rows.iter()).all(|(&c, &row)| c < 128 && self.sets[row + c as usize] != 0);
    }
    let mut p = 0usize;
    for a in 0..self.mins.len() {
      for _ in 0..self.mins[a] {
        if !self.matches(a, s[p]) {
          return false;
        }
        p += 1;
      }
    }
    true
  }

  /// Greedy run of atom `a` from p, then give back one byte at a time (backtracking like the JS).
  fn match_from(&self, s: &[u8], a: usize, p: usize) -> bool {
    if a == self.mins.len() {
      return p == s.len();
    }
    let (min, max) = (self.mins[a], self.maxs[a]);
    let mut k = 0usize;
    while k < max && p + k < s.len() && self.matches(a, s[p + k]) {
      k += 1;
    }
    if a == self.mins.len() - 1 {
      return k >= min && p + k == s.len();
    }
    loop {
      if k < min {
        return false;
      }
      if self.match_from(s, a + 1, p + k) {
        return true;
      }
      if k == 0 {
        return false;
      }
      k -= 1;
    }
  }
}
