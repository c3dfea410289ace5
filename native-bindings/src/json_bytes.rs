//! JSON numbers and strings written as bytes, spelled exactly as the JS writers of
//! src/kernels/shared/json-bytes.ts spell them (writeNumber, writeInt32, writeJsonString; their header
//! says why each number path reads back as the stored double). Callers make room first: a number takes
//! at most NUMBER_MAX_BYTES, a string of n bytes at most 6 * n + 2, and both may store up to
//! WRITE_SLACK bytes past their end (whole-word copies; what lies there is overwritten or unused).
//!
//! The integral and fixed-point paths are integer arithmetic here, the same values as the JS float
//! steps give (those are exact below 2^53); every comparison that decides a path is the same f64
//! operation as in JS, so both writers take the same path for every double.

/// json-bytes.ts NUMBER_MAX_BYTES: a sign and the longest String(v) of a double.
pub const NUMBER_MAX_BYTES: usize = 25;
/// Bytes a writer may store past the end of what it writes (whole words, 32-byte literal moves).
pub const WRITE_SLACK: usize = 32;

const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
const FIXED_SCALE: f64 = 1e6;
/// TWO_POW_53 / FIXED_SCALE, rounded as the JS constant is (one IEEE division).
const FIXED_LIMIT: f64 = TWO_POW_53 / FIXED_SCALE;

const QUOTE: u8 = b'"';
const BACKSLASH: u8 = b'\\';

/// Per byte: 0 = copied as is; else the byte written after the backslash (`u` for \u00xx).
static ESCAPE: [u8; 256] = {
  let mut t = [0u8; 256];
  let mut b = 0;
  while b < 0x20 {
    t[b] = b'u';
    b += 1;
  }
  t[0x08] = b'b';
  t[0x09] = b't';
  t[0x0a] = b'n';
  t[0x0c] = b'f';
  t[0x0d] = b'r';
  t[QUOTE as usize] = QUOTE;
  t[BACKSLASH as usize] = BACKSLASH;
  t
};
static HEX: &[u8; 16] = b"0123456789abcdef";

/// The eight ASCII digits of n < 10^8 as a word whose lowest byte is the first digit (so storing it
/// little-endian writes them in order), split in SIMD-within-a-register steps: two 4-digit halves in
/// 32-bit lanes, then 2-digit quarters in 16-bit lanes, then digits in bytes. x * 10486 >> 20 is
/// x / 100 for x < 10^4 and x * 103 >> 10 is x / 10 for x < 100; no lane's product reaches the next.
#[inline(always)]
fn digits8(n: u32) -> u64 {
  let v = (n / 10_000) as u64 | (((n % 10_000) as u64) << 32);
  let hundreds = ((v * 10486) >> 20) & 0x0000_007f_0000_007f;
  let v = hundreds | ((v - 100 * hundreds) << 16);
  let tens = ((v * 103) >> 10) & 0x000f_000f_000f_000f;
  let v = tens | ((v - 10 * tens) << 8);
  v | (ONES * b'0' as u64)
}

#[inline(always)]
fn load8(src: &[u8], at: usize) -> u64 {
  u64::from_le_bytes(*src[at..].first_chunk::<8>().expect("8 bytes checked by the caller"))
}

#[inline(always)]
fn store8(w: u64, out: &mut [u8], at: usize) {
  *out[at..].first_chunk_mut::<8>().expect("room made by the caller") = w.to_le_bytes();
}

/// The digits of n < 10^8, as many as it has: the eight-digit word shifted past its leading zeros and
/// stored whole (no branch on the digit count, which varies from row to row).
#[inline(always)]
fn write_small(n: u32, out: &mut [u8], at: usize) -> usize {
  let width = n.checked_ilog10().unwrap_or(0) as usize + 1;
  store8(digits8(n) >> (8 * (8 - width)), out, at);
  at + width
}

/// The digits of n, in groups of eight below the leading group.
#[inline(always)]
pub fn write_uint(n: u64, out: &mut [u8], at: usize) -> usize {
  const E8: u64 = 100_000_000;
  if n < E8 {
    return write_small(n as u32, out, at);
  }
  let rest = n / E8;
  let at = if rest < E8 {
    write_small(rest as u32, out, at)
  } else {
    let at = write_small((rest / E8) as u32, out, at);
    store8(digits8((rest % E8) as u32), out, at);
    at + 8
  };
  store8(digits8((n % E8) as u32), out, at);
  at + 8
}

#[inline(always)]
pub fn write_int32(v: i32, out: &mut [u8], mut at: usize) -> usize {
  if v < 0 {
    out[at] = b'-';
    at += 1;
  }
  write_uint(v.unsigned_abs() as u64, out, at)
}

/// m / 10^6 in fixed point, m not a multiple of 10^6: integer part, '.', the six decimals with their
/// trailing zeros cut (the last decimal digit is not 0, so the '.' stays). The decimals go as one
/// word (six digits and two '0's), its length read off the word's trailing '0' bytes.
fn write_fixed6(m: u64, out: &mut [u8], at: usize) -> usize {
  let at = write_uint(m / 1_000_000, out, at);
  out[at] = b'.';
  let w = digits8((m % 1_000_000) as u32 * 100);
  // Zero bytes where a digit is '0': the trailing zero digits are the word's high zero bytes.
  let zeros = ((w ^ (ONES * b'0' as u64)).leading_zeros() / 8) as usize;
  store8(w, out, at + 1);
  at + 1 + 8 - zeros
}

/// A JSON number that JSON.parse reads back as exactly `v`: writeNumber's bytes.
#[inline(never)]
pub fn write_number(v: f64, out: &mut [u8], mut at: usize) -> usize {
  if v == 0.0 {
    if v.is_sign_negative() {
      out[at] = b'-';
      at += 1;
    }
    out[at] = b'0';
    return at + 1;
  }
  if !v.is_finite() {
    out[at..at + 4].copy_from_slice(b"null");
    return at + 4;
  }
  let mut a = v;
  if a < 0.0 {
    out[at] = b'-';
    at += 1;
    a = -a;
  }
  // For 0 < a <= 2^53 the cast truncates, which is floor: this is JS's Math.floor(a) === a, without
  // a libm call (the baseline x86-64 target has no rounding instruction). Casts go through i64,
  // which converts in one instruction there (u64 takes several).
  if a <= TWO_POW_53 && (a as i64) as f64 == a {
    return write_uint(a as i64 as u64, out, at);
  }
  if a < FIXED_LIMIT {
    // Math.round(x) for 0 < x < 2^53: x - trunc(x) is exact (Sterbenz), so this is the nearest
    // integer with ties up, as Math.round gives.
    let x = a * FIXED_SCALE;
    let t = x as i64;
    let m = t + (x - t as f64 >= 0.5) as i64;
    if m as f64 / FIXED_SCALE == a {
      return write_fixed6(m as u64, out, at);
    }
  }
  // String(a): ryu-js prints Number.prototype.toString's spelling, so the rare values that need it
  // stay in this loop rather than costing a return to JS per row.
  let mut buf = ryu_js::Buffer::new();
  let s = buf.format_finite(a).as_bytes();
  out[at..at + s.len()].copy_from_slice(s);
  at + s.len()
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte lane of w that needs an escape (< 0x20, '"', '\\'); lanes above the
/// first such lane may be marked falsely (borrows), the lowest mark is exact.
#[inline(always)]
fn escape_lanes(w: u64) -> u64 {
  let below_space = w.wrapping_sub(ONES * 0x20) & !w;
  let q = w ^ (ONES * QUOTE as u64);
  let b = w ^ (ONES * BACKSLASH as u64);
  (below_space | (q.wrapping_sub(ONES) & !q) | (b.wrapping_sub(ONES) & !b)) & HIGHS
}

#[inline(always)]
fn write_escape(b: u8, out: &mut [u8], at: usize) -> usize {
  let e = ESCAPE[b as usize];
  out[at] = BACKSLASH;
  out[at + 1] = e;
  if e != b'u' {
    return at + 2;
  }
  out[at + 2] = b'0';
  out[at + 3] = b'0';
  out[at + 4] = HEX[(b >> 4) as usize];
  out[at + 5] = HEX[(b & 15) as usize];
  at + 6
}

/// src[start..end] to out[at..]: one 32-byte move when that short and src has 32 bytes to read
/// there (the move's extra bytes land in the slack), else a plain copy.
#[inline(always)]
pub fn copy_bytes(src: &[u8], start: usize, end: usize, out: &mut [u8], at: usize) -> usize {
  let len = end - start;
  match src.get(start..).and_then(|s| s.first_chunk::<32>()) {
    Some(s) if len <= 32 => *out[at..].first_chunk_mut::<32>().expect("room made by the caller") = *s,
    _ => out[at..at + len].copy_from_slice(&src[start..end]),
  }
  at + len
}

/// `"` + src[start..end] escaped as JSON.stringify escapes it + `"` (the bytes are well-formed UTF-8:
/// bytes >= 0x20 other than '"' and '\\' are copied as they are). Eight bytes at a time, each word
/// stored whole then checked for escapes; the last few bytes as one more word when src has 8 bytes
/// to read there (it may run past `end`: only the string's lanes count), else one by one.
#[inline(never)]
pub fn write_json_string(src: &[u8], start: usize, end: usize, out: &mut [u8], mut at: usize) -> usize {
  assert!(start <= end && end <= src.len());
  out[at] = QUOTE;
  at += 1;
  let mut i = start;
  while end - i >= 8 {
    let w = load8(src, i);
    store8(w, out, at);
    let lanes = escape_lanes(w);
    if lanes == 0 {
      i += 8;
      at += 8;
    } else {
      let k = (lanes.trailing_zeros() / 8) as usize;
      at = write_escape(src[i + k], out, at + k);
      i += k + 1;
    }
  }
  while i < end {
    if src.len() - i >= 8 {
      let w = load8(src, i);
      store8(w, out, at);
      let n = end - i;
      let lanes = escape_lanes(w) & ((1u64 << (8 * n)) - 1);
      if lanes == 0 {
        at += n;
        break;
      }
      let k = (lanes.trailing_zeros() / 8) as usize;
      at = write_escape(src[i + k], out, at + k);
      i += k + 1;
    } else {
      let b = src[i];
      if ESCAPE[b as usize] == 0 {
        out[at] = b;
        at += 1;
      } else {
        at = write_escape(b, out, at);
      }
      i += 1;
    }
  }
  out[at] = QUOTE;
  at + 1
}
