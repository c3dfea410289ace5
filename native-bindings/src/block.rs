//! A block of NDJSON lines -> consecutive rows of the staging batch, until the first line the native
//! decoder is not sure of or rejects, the row limit, or the last '\n' of the range.
//!
//! Per accepted row line.rs writes the declared columns and (unless the worker computes them) the key
//! hashes of hashed string columns (hash64, as RowFinisher in decode-ndjson-row.ts does); this file
//! reports the line's bytes and its
//! index among the lines this call consumed. System columns (__line, __late, __raw) and the batch
//! header (rowCount) are the caller's.
//!
//! Blank lines (only ' ', '\t', '\r' before '\n') are consumed and counted, as the JS decoder does
//! (`linesBlank`), unless longer than maxLineBytes: then the block stops there (`line_too_long`).
//!
//! UTF-8: the lines this decodes or rejects are well-formed by construction (line.rs declines every
//! byte >= 0x80 except in strings it checks). A declined line within maxLineBytes is checked with
//! std::str::from_utf8 (`ill_formed`), so the JS decoder rejects it as `bad_utf8` without checking
//! any line native has seen: ASCII input costs nothing more, and only declined lines (rare) a check.

use crate::line::LineDecoder;
use crate::verdict::Line;
use crate::scan::{at, skip_ws};

/// Every complete line of the range was consumed; stop_offset = start of the unterminated tail.
pub const STOP_END: i32 = 0;
/// The line at stop_offset was declined: hand it to the JS decoder.
pub const STOP_LINE: i32 = 1;
/// The row limit was reached; stop_offset = the next line.
pub const STOP_ROWS: i32 = 2;
/// The line at stop_offset breaks a rule: `verdict` says which (line.rs), its '\n' is at `reject_nl`.
pub const STOP_REJECT: i32 = 3;

pub struct BlockResult {
  pub rows: usize,
  pub stop_offset: usize,
  pub lines: usize,
  pub blank: usize,
  pub reason: i32,
  pub verdict: u32,
  pub reject_nl: usize,
  /// STOP_LINE: the declined line is ill-formed UTF-8 (and not over maxLineBytes).
  pub ill_formed: bool,
}

/// Per accepted row k: line_starts[k], line_ends[k] (content end: without '\n' and one trailing
/// '\r'), line_index[k] (0-based physical line among this call's consumed lines).
pub struct RowLines<'a> {
  pub starts: &'a mut [i32],
  pub ends: &'a mut [i32],
  pub index: &'a mut [i32],
}

#[inline(never)]
pub fn decode_block(dec: &LineDecoder, chunk: &[u8], start: usize, end: usize, s: &mut [u8], row_start: usize, row_limit: usize, out: RowLines) -> BlockResult {
  let mut res = BlockResult { rows: 0, stop_offset: start, lines: 0, blank: 0, reason: STOP_END, verdict: 0, reject_nl: 0, ill_formed: false };
  let last_nl = match chunk[start..end].iter().rposition(|&c| c == b'\n') {
    Some(i) => start + i,
    None => return res,
  };
  // Cut after the last '\n': scans read past it as '\n' (scan.rs), so no line scan can leave its line.
  let b = &chunk[..=last_nl];
  let max_line = dec.plan.max_line_bytes;
  let mut p = start;
  let mut row = row_start;
  while p < b.len() {
    let ls = p;
    let q = skip_ws(b, p);
    if at(b, q) == b'\n' {
      let content_end = if q > ls && b[q - 1] == b'\r' { q - 1 } else { q };
      if content_end - ls > max_line {
        res.reason = STOP_LINE;
        break;
      }
      res.blank += 1;
      res.lines += 1;
      p = q + 1;
      continue;
    }
    if row >= row_limit {
      res.reason = STOP_ROWS;
      break;
    }
    let (nl, verdict) = match dec.decode_line(b, q, s, row) {
      Line::Accepted(nl) => (nl, None),
      Line::Rejected(nl, v) => (nl, Some(v)),
      Line::Declined => {
        res.reason = STOP_LINE;
        res.ill_formed = ill_formed(b, ls, q, max_line);
        break;
      }
    };
    let content_end = if b[nl - 1] == b'\r' { nl - 1 } else { nl };
    if content_end - ls > max_line {
      // line_too_long comes before any rule: the JS decoder says so.
      res.reason = STOP_LINE;
      break;
    }
    if let Some(v) = verdict {
      res.reason = STOP_REJECT;
      res.verdict = v;
      res.reject_nl = nl;
      break;
    }
    out.starts[res.rows] = ls as i32;
    out.ends[res.rows] = content_end as i32;
    out.index[res.rows] = res.lines as i32;
    res.rows += 1;
    res.lines += 1;
    row += 1;
    p = nl + 1;
  }
  res.stop_offset = p;
  res
}

/// Whether the line starting at ls (first non-blank byte at q; a '\n' follows) is not well-formed UTF-8,
/// for a line within max_line bytes (a longer one is `line_too_long` whatever it holds).
fn ill_formed(b: &[u8], ls: usize, q: usize, max_line: usize) -> bool {
  let nl = q + b[q..].iter().position(|&c| c == b'\n').unwrap_or(b.len() - q);
  let content_end = if nl > ls && b[nl - 1] == b'\r' { nl - 1 } else { nl };
  content_end - ls <= max_line && std::str::from_utf8(&b[ls..content_end]).is_err()
}
