//! JSON grammar on bytes (RFC 8259, the grammar JSON.parse applies), for one line of a block.
//!
//! Bounds: the decoder hands these functions the block cut right after its last '\n', and `at()`
//! reads past the end as '\n'. Every rule here rejects byte 10 (it is not whitespace between tokens
//! here, and it is a control byte inside strings), so no scan can run past its line and none reads
//! out of bounds.

/// PLAIN[c] = 1 for bytes a stored string or enum value may hold as is: ASCII 0x20..0x7f except
/// '"' and '\\'. Anything else (escapes, non-ASCII, control bytes) makes the decoder stop.
pub static PLAIN: [u8; 256] = {
  let mut t = [0u8; 256];
  let mut c = 0x20;
  while c < 0x80 {
    t[c] = if c == 0x22 || c == 0x5c { 0 } else { 1 };
    c += 1;
  }
  t
};

static HEX: [bool; 256] = {
  let mut t = [false; 256];
  let mut c = 0;
  while c < 256 {
    t[c] = (c >= b'0' as usize && c <= b'9' as usize) || (c >= b'a' as usize && c <= b'f' as usize) || (c >= b'A' as usize && c <= b'F' as usize);
    c += 1;
  }
  t
};

/// Nesting deeper than this inside an ignored value: not decided here (the JS decoder decides).
const MAX_DEPTH: u32 = 64;

#[inline(always)]
pub fn at(b: &[u8], p: usize) -> u8 {
  match b.get(p) {
    Some(&c) => c,
    None => b'\n',
  }
}

/// First byte at or after p that is not JSON whitespace between tokens (' ', '\t', '\r').
#[inline(always)]
pub fn skip_ws(b: &[u8], p: usize) -> usize {
  // Between tokens there is nearly never whitespace: one compare decides (whitespace is <= ' ').
  if at(b, p) > b' ' {
    return p;
  }
  skip_ws_from(b, p)
}

#[inline(never)]
fn skip_ws_from(b: &[u8], mut p: usize) -> usize {
  loop {
    let c = at(b, p);
    if c != b' ' && c != b'\t' && c != b'\r' {
      return p;
    }
    p += 1;
  }
}

/// p = first byte after the opening quote; index of the closing quote of a run of PLAIN bytes, or
/// None when the string holds anything else (or does not end on this line).
#[inline(always)]
pub fn plain_string_end(b: &[u8], mut p: usize) -> Option<usize> {
  // Eight bytes at a time: a word is plain when no byte is >= 0x80, < 0x20, '"' or '\\'.
  const ONES: u64 = 0x0101_0101_0101_0101;
  const HIGH: u64 = 0x8080_8080_8080_8080;
  while p + 8 <= b.len() {
    let w = u64::from_le_bytes(b[p..p + 8].try_into().unwrap());
    let q = w ^ (0x22 * ONES);
    let s = w ^ (0x5c * ONES);
    let bad = (w | (w.wrapping_sub(0x20 * ONES) & !w) | (q.wrapping_sub(ONES) & !q) | (s.wrapping_sub(ONES) & !s)) & HIGH;
    if bad != 0 {
      // The lowest flagged byte is exact (a borrow only ever flags bytes above a true hit): the first
      // byte that is not PLAIN. No byte loop, so no mispredicted loop exit.
      let k = bad.trailing_zeros() / 8;
      return if (w >> (8 * k)) as u8 == b'"' { Some(p + k as usize) } else { None };
    }
    p += 8;
  }
  loop {
    let c = at(b, p);
    if PLAIN[c as usize] == 0 {
      return if c == b'"' { Some(p) } else { None };
    }
    p += 1;
  }
}

/// p = first byte after the opening quote; index of the closing quote of any valid JSON string
/// (escapes checked; bytes >= 0x80 only as well-formed UTF-8: a line with any other is `bad_utf8`,
/// which the JS decoder decides), else None.
pub fn skip_string(b: &[u8], mut p: usize) -> Option<usize> {
  let s = p;
  let mut non_ascii = false;
  loop {
    let c = at(b, p);
    if c == b'"' {
      // The only place the line decoder lets bytes >= 0x80 through (keys, declared values and
      // everything outside strings decline on them), so this makes its lines well-formed UTF-8.
      if non_ascii && std::str::from_utf8(&b[s..p]).is_err() {
        return None;
      }
      return Some(p);
    }
    if c == b'\\' {
      match at(b, p + 1) {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => p += 2,
        b'u' => {
          if !(1..=4).all(|k| HEX[at(b, p + 1 + k) as usize]) {
            return None;
          }
          p += 6;
        }
        _ => return None,
      }
      continue;
    }
    if c < 0x20 {
      return None;
    }
    non_ascii |= c >= 0x80;
    p += 1;
  }
}

#[inline(always)]
fn digit(c: u8) -> bool {
  c.is_ascii_digit()
}

/// Validates a JSON number at p without computing it; index after it or None.
pub fn skip_number(b: &[u8], mut p: usize) -> Option<usize> {
  if at(b, p) == b'-' {
    p += 1;
  }
  let c = at(b, p);
  if c == b'0' {
    p += 1;
    if digit(at(b, p)) {
      return None;
    }
  } else if (b'1'..=b'9').contains(&c) {
    while digit(at(b, p)) {
      p += 1;
    }
  } else {
    return None;
  }
  if at(b, p) == b'.' {
    p += 1;
    if !digit(at(b, p)) {
      return None;
    }
    while digit(at(b, p)) {
      p += 1;
    }
  }
  let c = at(b, p);
  if c == b'e' || c == b'E' {
    p += 1;
    let s = at(b, p);
    if s == b'+' || s == b'-' {
      p += 1;
    }
    if !digit(at(b, p)) {
      return None;
    }
    while digit(at(b, p)) {
      p += 1;
    }
  }
  Some(p)
}

/// `true`, `false` or `null` at p (first byte already seen): index after it or None.
#[inline(always)]
pub fn literal(b: &[u8], p: usize) -> Option<usize> {
  let word: &[u8] = match at(b, p) {
    b't' => b"true",
    b'f' => b"false",
    b'n' => b"null",
    _ => return None,
  };
  let n = word.len();
  // Fixed-length compares: no memcmp call.
  let same = match b.get(p..p + n) {
    Some(s) if n == 4 => u32::from_le_bytes([s[0], s[1], s[2], s[3]]) == u32::from_le_bytes([word[0], word[1], word[2], word[3]]),
    Some(s) => s[0] == word[0] && s[1] == word[1] && s[2] == word[2] && s[3] == word[3] && s[4] == word[4],
    None => false,
  };
  if same {
    Some(p + n)
  } else {
    None
  }
}

/// Validates and skips any JSON value at p; index after it or None (invalid, or nested too deep).
pub fn skip_value(b: &[u8], p: usize, depth: u32) -> Option<usize> {
  let c = at(b, p);
  match c {
    b'"' => return skip_string(b, p + 1).map(|e| e + 1),
    b'-' | b'0'..=b'9' => return skip_number(b, p),
    b't' | b'f' | b'n' => return literal(b, p),
    b'{' | b'[' => {}
    _ => return None,
  }
  if depth >= MAX_DEPTH {
    return None;
  }
  let is_object = c == b'{';
  let close = if is_object { b'}' } else { b']' };
  let mut p = skip_ws(b, p + 1);
  if at(b, p) == close {
    return Some(p + 1);
  }
  loop {
    if is_object {
      if at(b, p) != b'"' {
        return None;
      }
      p = skip_ws(b, skip_string(b, p + 1)? + 1);
      if at(b, p) != b':' {
        return None;
      }
      p = skip_ws(b, p + 1);
    }
    p = skip_ws(b, skip_value(b, p, depth + 1)?);
    let d = at(b, p);
    if d == close {
      return Some(p + 1);
    }
    if d != b',' {
      return None;
    }
    p = skip_ws(b, p + 1);
  }
}
