//! JSON numbers from bytes to the double JSON.parse returns.
//!
//! Equality by construction: with the digits read as an integer mantissa m and a decimal exponent
//! e10, if m <= 2^53 - 1 and |e10| <= 22, both m and 10^|e10| are exact doubles and one IEEE multiply
//! or divide rounds the exact decimal value correctly (Clinger's fast path). Every other span goes to
//! Rust's `f64::from_str`, which is correctly rounded too (as are V8's JSON.parse and Number()), and
//! accepts every span the JSON grammar below lets through. So both sides give the one correctly
//! rounded double, including -0, subnormals, 0 for underflow and infinity for overflow.

use crate::scan::at;

static POW10: [f64; 23] = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
  1e22,
];

const MAX_EXACT: u64 = (1 << 53) - 1;
/// Up to 19 decimal digits always fit in a u64 (10^19 - 1 < 2^64).
const MAX_FAST_DIGITS: u32 = 19;

/// The value of eight ASCII digits (first digit in the lowest byte).
#[inline(always)]
fn eight_digit_value(x: u64) -> u64 {
  let x = x - 0x3030_3030_3030_3030;
  let x = (x * 10 + (x >> 8)) & 0x00ff_00ff_00ff_00ff;
  let x = (x * 100 + (x >> 16)) & 0x0000_ffff_0000_ffff;
  (x * 10000 + (x >> 32)) & 0xffff_ffff
}

static POW10_U64: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// Folds the run of ASCII digits at p into m (m = 10 * m + digit each, as the byte loops do) a word
/// at a time, as long as the run keeps `digits` within MAX_FAST_DIGITS; returns how many digits it
/// took. The byte loops after it take what is left (a longer run, or the block's last 8 bytes).
#[inline(always)]
fn swar_digits(b: &[u8], mut p: usize, m: &mut u64, digits: &mut u32) -> usize {
  let p0 = p;
  while let Some(w) = b.get(p..p + 8) {
    let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    // Per byte: x ^ '0' is 0..9 for a digit. Masked to 7 bits, + 0x76 sets bit 7 from 10 up and never
    // carries into the next byte; `| d` flags bytes that had bit 7 set already.
    let d = x ^ 0x3030_3030_3030_3030;
    let bad = (((d & 0x7f7f_7f7f_7f7f_7f7f) + 0x7676_7676_7676_7676) | d) & 0x8080_8080_8080_8080;
    let n = if bad == 0 { 8 } else { (bad.trailing_zeros() / 8) as usize };
    if n == 0 || *digits + n as u32 > MAX_FAST_DIGITS {
      break;
    }
    // The n digits moved to the top bytes, '0' below them: the eight-digit value is theirs.
    let v = if n == 8 {
      eight_digit_value(x)
    } else {
      let sh = 8 * (8 - n) as u32;
      eight_digit_value((x << sh) | (0x3030_3030_3030_3030u64 >> (64 - sh)))
    };
    *m = *m * POW10_U64[n] + v;
    *digits += n as u32;
    p += n;
    if n < 8 {
      break;
    }
  }
  p - p0
}

/// Number.isInteger(v) without a libm floor call (no SSE4.1 round instruction in the baseline ISA):
/// every double of magnitude >= 2^52 is integral (infinity too here, but callers reject infinities
/// separately), and below that the truncating cast is exact. NaN: false.
#[inline(always)]
pub fn integral(v: f64) -> bool {
  v.abs() >= 4_503_599_627_370_496.0 || v == (v as i64) as f64
}

/// Parses the JSON number at p: (value, index after it), or None when the bytes are not a JSON number.
#[inline]
pub fn parse_number(b: &[u8], p0: usize) -> Option<(f64, usize)> {
  let mut p = p0;
  let neg = at(b, p) == b'-';
  if neg {
    p += 1;
  }
  let digits_start = p;
  let mut m: u64 = 0;
  let mut digits: u32 = 0;
  let mut c = at(b, p);
  if c == b'0' {
    p += 1;
    c = at(b, p);
    if c.is_ascii_digit() {
      return None; // leading zero
    }
  } else if (b'1'..=b'9').contains(&c) {
    let n = swar_digits(b, p, &mut m, &mut digits);
    p += n;
    c = at(b, p);
    while c.is_ascii_digit() {
      if digits < MAX_FAST_DIGITS {
        m = m * 10 + (c - b'0') as u64;
      }
      digits += 1;
      p += 1;
      c = at(b, p);
    }
  } else {
    return None;
  }
  let mut scale: i64 = 0;
  if c == b'.' {
    p += 1;
    c = at(b, p);
    if !c.is_ascii_digit() {
      return None;
    }
    let n = swar_digits(b, p, &mut m, &mut digits);
    scale += n as i64;
    p += n;
    c = at(b, p);
    while c.is_ascii_digit() {
      if digits < MAX_FAST_DIGITS {
        m = m * 10 + (c - b'0') as u64;
        scale += 1;
      }
      digits += 1;
      p += 1;
      c = at(b, p);
    }
  }
  let mut exp: i64 = 0;
  let mut exp_big = false;
  if c == b'e' || c == b'E' {
    p += 1;
    c = at(b, p);
    let mut exp_neg = false;
    if c == b'+' || c == b'-' {
      exp_neg = c == b'-';
      p += 1;
      c = at(b, p);
    }
    if !c.is_ascii_digit() {
      return None;
    }
    while c.is_ascii_digit() {
      if exp < 1_000_000 {
        exp = exp * 10 + (c - b'0') as i64;
      } else {
        exp_big = true;
      }
      p += 1;
      c = at(b, p);
    }
    if exp_neg {
      exp = -exp;
    }
  }
  let e10 = exp - scale;
  let v = if digits <= MAX_FAST_DIGITS && !exp_big && m <= MAX_EXACT && (-22..=22).contains(&e10) {
    if m == 0 {
      0.0
    } else if e10 >= 0 {
      m as f64 * POW10[e10 as usize]
    } else {
      m as f64 / POW10[(-e10) as usize]
    }
  } else {
    // The span is ASCII digits, '.', 'e', 'E', '+', '-' only: valid UTF-8 by construction.
    let text = std::str::from_utf8(&b[digits_start..p]).ok()?;
    text.parse::<f64>().ok()?
  };
  Some((if neg { -v } else { v }, p))
}
