//! Reads and writes of the batch slot's typed-array elements, in the platform's byte order (what
//! Int32Array / Float64Array / Uint16Array over the same memory see). The plan checked every region
//! against the slot's size for rowCapacity rows, so indexing here never panics for row < rowCapacity.


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
pub fn get_u16(s: &[u8], off: usize) -> u16 {
  u16::from_ne_bytes(*s[off..].first_chunk::<2>().expect("slot region checked by the plan"))
}

#[inline(always)]
pub fn get_f64(s: &[u8], off: usize) -> f64 {
  f64::from_ne_bytes(*s[off..].first_chunk::<8>().expect("slot region checked by the plan"))
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


/// Checks that the region [off, off + len) lies inside a slot of `slot` bytes.
pub fn region_fits(who: &str, off: usize, len: usize, slot: usize, what: &str) -> Result<(), String> {
  if off.checked_add(len).map_or(true, |e| e > slot) {
    return Err(format!("{who}: {what} region [{off}, +{len}) exceeds the slot ({slot} bytes)"));
  }
  Ok(())
}

#[inline(always)]
fn copy_fixed<const N: usize>(dst: &mut [u8], to: usize, src: &[u8], from: usize) {
  *dst[to..].first_chunk_mut::<N>().expect("room checked by the caller") = *src[from..].first_chunk::<N>().expect("room checked by the caller");
}

/// dst[to..to + len] = src[from..from + len], where `dst_room` / `src_room` bytes of the string column
/// are left from `to` / `from`. Short values go as whole 8-byte words when both sides have room for
/// the last word: the bytes written past the value lie after the column's current end, where no row
/// owns them yet, and this avoids a memcpy call per value (it costs more than the copy for ~20-byte ids).
#[inline(always)]
pub fn copy_short(dst: &mut [u8], to: usize, dst_room: usize, src: &[u8], from: usize, src_room: usize, len: usize) {
  let words = len.div_ceil(8);
  if len <= 32 && 8 * words <= dst_room && 8 * words <= src_room {
    // One fixed-size copy per word count (no loop: its trip count varies from value to value).
    match words {
      0 => {}
      1 => copy_fixed::<8>(dst, to, src, from),
      2 => copy_fixed::<16>(dst, to, src, from),
      3 => copy_fixed::<24>(dst, to, src, from),
      _ => copy_fixed::<32>(dst, to, src, from),
    }
  } else {
    dst[to..to + len].copy_from_slice(&src[from..from + len]);
  }
}

