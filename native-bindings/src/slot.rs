//! Reads and writes of the batch slot's typed-array elements, in the platform's byte order (what
//! Int32Array / Float64Array / Uint16Array over the same memory see). The plan checked every region
//! against the slot's size for rowCapacity rows, so indexing here never panics for row < rowCapacity.

use crate::plan::Field;

/// The N bytes at off: one bounds check for both ends (`s[off..off + N]` also checks off + N for
/// overflow, a third branch per access).
#[inline(always)]
fn at_mut<const N: usize>(s: &mut [u8], off: usize) -> &mut [u8; N] {
  s[off..].first_chunk_mut::<N>().expect("slot region checked by the plan")
}

#[inline(always)]
pub fn get_i32(s: &[u8], off: usize) -> i32 {
  i32::from_ne_bytes(*s[off..].first_chunk::<4>().expect("slot region checked by the plan"))
}

#[inline(always)]
pub fn put_i32(s: &mut [u8], off: usize, v: i32) {
  *at_mut::<4>(s, off) = v.to_ne_bytes();
}

#[inline(always)]
pub fn put_u16(s: &mut [u8], off: usize, v: u16) {
  *at_mut::<2>(s, off) = v.to_ne_bytes();
}

#[inline(always)]
pub fn put_f64(s: &mut [u8], off: usize, v: f64) {
  *at_mut::<8>(s, off) = v.to_ne_bytes();
}

/// The (lo, hi) key hash of `row` in a hash column: two u32 per row, as hash64Into writes them.
#[inline(always)]
pub fn put_hash(s: &mut [u8], hash_off: usize, row: usize, (lo, hi): (u32, u32)) {
  let d = at_mut::<8>(s, hash_off + 8 * row);
  d[..4].copy_from_slice(&lo.to_ne_bytes());
  d[4..].copy_from_slice(&hi.to_ne_bytes());
}

#[inline(always)]
pub fn set_valid(s: &mut [u8], validity_off: usize, row: usize) {
  s[validity_off + (row >> 3)] |= 1 << (row & 7);
}

#[inline(always)]
pub fn clear_valid(s: &mut [u8], validity_off: usize, row: usize) {
  s[validity_off + (row >> 3)] &= !(1u8 << (row & 7));
}

/// offsets[row] of a string column, or None when it is not inside the column's bytes (a corrupt
/// staging batch: the JS decoder deals with it).
#[inline(always)]
pub fn string_start(s: &[u8], field: &Field, row: usize) -> Option<usize> {
  let at = get_i32(s, field.offsets_off + 4 * row);
  if at < 0 || at as usize > field.string_bytes {
    return None;
  }
  Some(at as usize)
}

#[inline(always)]
fn copy_fixed<const N: usize>(s: &mut [u8], dst: usize, src: &[u8], from: usize) {
  let w: &[u8; N] = src[from..from + N].try_into().unwrap();
  s[dst..dst + N].copy_from_slice(w);
}

/// Copies src[from..from + len] to the string column's bytes at `start`. Short values go as whole
/// 8-byte words when both sides have room for the last word (bytes written past the value lie after
/// offsets[row + 1] inside the column: no row owns them yet), which avoids a memcpy call per value.
#[inline(always)]
pub fn copy_string(s: &mut [u8], field: &Field, start: usize, src: &[u8], from: usize, len: usize) {
  let dst = field.values_off + start;
  let words = len.div_ceil(8);
  if len <= 32 && start + 8 * words <= field.string_bytes && from + 8 * words <= src.len() {
    // One fixed-size copy per word count (no loop: its trip count varies from value to value).
    match words {
      0 => {}
      1 => copy_fixed::<8>(s, dst, src, from),
      2 => copy_fixed::<16>(s, dst, src, from),
      3 => copy_fixed::<24>(s, dst, src, from),
      _ => copy_fixed::<32>(s, dst, src, from),
    }
  } else {
    s[dst..dst + len].copy_from_slice(&src[from..from + len]);
  }
}
