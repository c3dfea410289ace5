//! Reads and writes of the batch slot's typed-array elements, in the platform's byte order (what
//! Int32Array / Float64Array / Uint16Array over the same memory see). The plan checked every region
//! against the slot's size for rowCapacity rows, so indexing here never panics for row < rowCapacity.

use crate::plan::Field;

#[inline(always)]
pub fn get_i32(s: &[u8], off: usize) -> i32 {
  i32::from_ne_bytes([s[off], s[off + 1], s[off + 2], s[off + 3]])
}

#[inline(always)]
pub fn put_i32(s: &mut [u8], off: usize, v: i32) {
  s[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

#[inline(always)]
pub fn put_u32(s: &mut [u8], off: usize, v: u32) {
  s[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

#[inline(always)]
pub fn put_u16(s: &mut [u8], off: usize, v: u16) {
  s[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}

#[inline(always)]
pub fn put_f64(s: &mut [u8], off: usize, v: f64) {
  s[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

#[inline(always)]
pub fn set_valid(s: &mut [u8], validity_off: usize, row: usize) {
  s[validity_off + (row >> 3)] |= 1 << (row & 7);
}

#[inline(always)]
pub fn clear_valid(s: &mut [u8], validity_off: usize, row: usize) {
  s[validity_off + (row >> 3)] &= !(1u8 << (row & 7));
}

#[inline(always)]
pub fn is_valid(s: &[u8], validity_off: usize, row: usize) -> bool {
  s[validity_off + (row >> 3)] & (1 << (row & 7)) != 0
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

/// Copies src[from..from + len] to the string column's bytes at `start`. Short values go as whole
/// 8-byte words when both sides have room for the last word (bytes written past the value lie after
/// offsets[row + 1] inside the column: no row owns them yet), which avoids a memcpy call per value.
#[inline(always)]
pub fn copy_string(s: &mut [u8], field: &Field, start: usize, src: &[u8], from: usize, len: usize) {
  let dst = field.values_off + start;
  let words = len.div_ceil(8);
  if len <= 32 && start + 8 * words <= field.string_bytes && from + 8 * words <= src.len() {
    for k in 0..words {
      let w: [u8; 8] = src[from + 8 * k..from + 8 * k + 8].try_into().unwrap();
      s[dst + 8 * k..dst + 8 * k + 8].copy_from_slice(&w);
    }
  } else {
    s[dst..dst + len].copy_from_slice(&src[from..from + len]);
  }
}
