//! One NDJSON line -> one row of the staging batch: accepted, rejected with a verdict, or declined.
//!
//! `decode_line` writes the row and returns the index of the line's '\n' only when the JS decoder
//! (src/kernels/decode-ndjson.ts: scanner + RowFilter) would accept the line with exactly these
//! column contents. On anything it is not sure of it returns None and the caller stops the block
//! there; the JS decoder then decides that line. So each check below need only be sufficient.
//!
//! Accepted shape: one JSON object (whitespace anywhere between tokens), keys without escapes or
//! non-ASCII bytes, each declared key at most once, any other key with any valid JSON value (nested
//! up to 64 deep; its strings' bytes >= 0x80 well-formed UTF-8, else declined: `bad_utf8` is the JS
//! decoder's). Declared values: strings and enum values of printable ASCII without escapes; numbers
//! in JSON grammar; true/false; null (optional fields only, same as absent). All rules pass.
//!
//! A row's writes (only row `row`, never before it): values, validity bits of every declared column,
//! string bytes at offsets[row].., offsets[row + 1]. A declined or rejected line may leave some of them
//! written; the next line decoded into the row overwrites them.
//!
//! Rejects: a line of the accepted shape whose declared values break a rule is not declined but
//! rejected with the verdict RowFilter.check (src/kernels/filter.ts) gives it: every field is checked,
//! and the first field in declared order with a failure names it, as field * RULES + rule. Per field
//! the rules fail in the order check() tests them: missing (required, absent or null), bad_type (a
//! value of another JSON type: decided on its first byte, then skipped), then for numbers
//! not_integer, out_of_range (not finite), out_of_range (bounds); for strings too_short, too_long,
//! bad_pattern; for enums bad_enum. What native cannot be sure of (an escape, a non-ASCII byte, a
//! number it cannot parse exactly, an enum value not written plainly) is still declined.

use crate::hash::hash64;
use crate::number::{integral, parse_number};
use crate::plan::{Field, Plan, K_BOOL, K_ENUM, K_INT32, K_STRING};
use crate::matcher::Matcher;
use crate::scan::{at, literal, plain_string_end, skip_value, skip_ws, PLAIN};
use crate::slot;
use crate::verdict::{FirstFailure, Line, Value, RULES, R_BAD_ENUM, R_BAD_PATTERN, R_BAD_TYPE, R_MISSING, R_NOT_INTEGER, R_OUT_OF_RANGE, R_TOO_LONG, R_TOO_SHORT};
use std::collections::HashMap;

/// Enums with more values than this are looked up in a hash map.
const LINEAR_ENUM_VALUES: usize = 16;

pub struct LineDecoder {
  pub plan: Plan,
  /// Per field: its name followed by the closing quote, compared in place at a key's first byte.
  keys: Vec<Matcher>,
  /// Per enum field with at most LINEAR_ENUM_VALUES values: (value + closing quote, index) for the
  /// values made of PLAIN bytes (others can only appear escaped or non-ASCII: declined anyway).
  enum_lists: Vec<Vec<(Matcher, u16)>>,
  enum_maps: Vec<Option<HashMap<Vec<u8>, u16>>>,
  /// One bit per declared field: a row where every field had a value needs no fill_absent.
  all_valued: u64,
  /// Per field: hash64 of its default string (hashed string fields; unused otherwise).
  default_hashes: Vec<(u32, u32)>,
  /// One bit per required field.
  required: u64,
  /// Write the key hashes of hashed string columns (false: the worker hashes them, hash.rs hash_column).
  pub hash_keys: bool,
}

fn quoted(bytes: &[u8]) -> Matcher {
  let mut v = bytes.to_vec();
  v.push(b'"');
  Matcher::new(v)
}

impl LineDecoder {
  pub fn new(plan: Plan) -> LineDecoder {
    let big = |f: &Field| f.kind == K_ENUM && f.enum_values.len() > LINEAR_ENUM_VALUES;
    let enum_maps = plan
      .fields
      .iter()
      .map(|f| big(f).then(|| f.enum_values.iter().enumerate().map(|(i, v)| (v.clone(), i as u16)).collect()))
      .collect();
    let enum_lists = plan
      .fields
      .iter()
      .map(|f| {
        if f.kind != K_ENUM || big(f) {
          return Vec::new();
        }
        let plain = |v: &Vec<u8>| v.iter().all(|&c| PLAIN[c as usize] == 1);
        f.enum_values.iter().enumerate().filter(|(_, v)| plain(v)).map(|(i, v)| (quoted(v), i as u16)).collect()
      })
      .collect();
    let keys = plan.fields.iter().map(|f| quoted(&f.name)).collect();
    let n = plan.fields.len();
    let all_valued = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    let default_hashes = plan.fields.iter().map(|f| hash64(&f.default_bytes)).collect();
    let required = plan.fields.iter().enumerate().filter(|(_, f)| f.required).fold(0u64, |m, (i, _)| m | (1u64 << i));
    LineDecoder { plan, keys, enum_lists, enum_maps, all_valued, default_hashes, required, hash_keys: true }
  }

  /// The key starting after its opening quote at ks: (declared field or None, index of its closing
  /// quote). The field after the previous declared one is tried first, in place (producers keep one
  /// key order); other keys are scanned, then looked up.
  #[inline(always)]
  fn key(&self, b: &[u8], ks: usize, expected: usize) -> Option<(Option<usize>, usize)> {
    if let Some(k) = self.keys.get(expected) {
      if k.matches(b, ks) {
        return Some((Some(expected), ks + k.len() - 1));
      }
    }
    let ke = plain_string_end(b, ks)?;
    let key = &b[ks..ke];
    Some((self.keys.iter().position(|k| k.equals_unquoted(key)), ke))
  }

  /// Decodes the line whose first non-whitespace byte is at p into row `row` of `s` (the slot).
  pub fn decode_line(&self, b: &[u8], mut p: usize, s: &mut [u8], row: usize) -> Line {
    let declined = Line::Declined;
    if at(b, p) != b'{' {
      return declined;
    }
    p = skip_ws(b, p + 1);
    let mut seen = 0u64;
    let mut valued = 0u64;
    let mut expected = 0usize;
    let mut failure = FirstFailure { field: usize::MAX, rule: 0 };
    if at(b, p) != b'}' {
      loop {
        if at(b, p) != b'"' {
          return declined;
        }
        let Some((f, ke)) = self.key(b, p + 1, expected) else { return declined };
        p = skip_ws(b, ke + 1);
        if at(b, p) != b':' {
          return declined;
        }
        p = skip_ws(b, p + 1);
        match f {
          None => match skip_value(b, p, 1) {
            Some(e) => p = e,
            None => return declined,
          },
          Some(f) => {
            let bit = 1u64 << f;
            if seen & bit != 0 {
              return declined; // repeated declared key: "last one wins" is left to the JS decoder
            }
            seen |= bit;
            expected = f + 1;
            if at(b, p) == b'n' {
              // null = absent for the rules (RowFilter.check); required fields fail either way.
              if self.plan.fields[f].required {
                failure.note(f, R_MISSING);
              }
              match literal(b, p) {
                Some(e) => p = e,
                None => return declined,
              }
            } else {
              // A field after a failing one need not be written: the row is rejected anyway.
              match self.value(b, p, &self.plan.fields[f], f, s, row, failure.field == usize::MAX) {
                Some(Value::Ok(e)) => {
                  p = e;
                  valued |= bit;
                }
                Some(Value::Fails(rule, e)) => {
                  failure.note(f, rule);
                  p = e;
                }
                None => return declined,
              }
            }
          }
        }
        p = skip_ws(b, p);
        match at(b, p) {
          b'}' => break,
          b',' => p = skip_ws(b, p + 1),
          _ => return declined,
        }
      }
    }
    p = skip_ws(b, p + 1);
    if at(b, p) != b'\n' {
      return declined;
    }
    if seen & self.required != self.required {
      // Absent required fields: missing.
      let absent = self.required & !seen;
      failure.note(absent.trailing_zeros() as usize, R_MISSING);
    }
    if failure.field != usize::MAX {
      // check() writes the defaults of absent fields declared before the failing one first: a string
      // default without room makes the JS decoder publish the batch and retry the line.
      if !self.defaults_fit(valued, failure.field, s, row) {
        return declined;
      }
      return Line::Rejected(p, failure.field as u32 * RULES + failure.rule);
    }
    if valued != self.all_valued && self.fill_absent(valued, s, row).is_none() {
      return declined;
    }
    Line::Accepted(p)
  }

  /// The (non-null) value of declared field f at p: its end, or the first rule it breaks (and its
  /// end), or None (declined). `write`: store a valid value into the row (false once the line is
  /// known to be rejected).
  #[inline(always)]
  #[allow(clippy::too_many_arguments)]
  fn value(&self, b: &[u8], p: usize, field: &Field, f: usize, s: &mut [u8], row: usize, write: bool) -> Option<Value> {
    let c = at(b, p);
    let end = match field.kind {
      K_STRING => {
        if c != b'"' {
          return Some(Value::Fails(R_BAD_TYPE, skip_value(b, p, 1)?));
        }
        let e = plain_string_end(b, p + 1)?;
        let v = &b[p + 1..e];
        // Room first, as the JS scanner stores every value up to store_max_bytes before the rules run
        // (a rejected line too): without room it publishes the batch and retries the line in the next.
        let start = field.string_start(s, row)?;
        if v.len() <= field.store_max_bytes && v.len() > field.string_bytes - start {
          return None;
        }
        if v.len() < field.min_bytes {
          return Some(Value::Fails(R_TOO_SHORT, e + 1));
        }
        if v.len() > field.max_bytes {
          return Some(Value::Fails(R_TOO_LONG, e + 1));
        }
        if let Some(pattern) = &field.pattern {
          if !pattern.test(v) {
            return Some(Value::Fails(R_BAD_PATTERN, e + 1));
          }
        }
        if write {
          // Never reached with a value longer than store_max_bytes (the plan's pattern and maxBytes
          // bound both), but a write out of the column's room must be impossible, not unlikely.
          if v.len() > field.string_bytes - start {
            return None;
          }
          field.copy_string(s, start, b, p + 1, v.len());
          slot::put_i32(s, field.offsets_off + 4 * (row + 1), (start + v.len()) as i32);
          if let (Some(hash_off), true) = (field.hash_off, self.hash_keys) {
            // Hashed while the bytes are at hand: the same bytes the column now holds.
            slot::put_hash(s, hash_off, row, hash64(v));
          }
        }
        e + 1
      }
      K_ENUM => {
        if c != b'"' {
          return Some(Value::Fails(R_BAD_TYPE, skip_value(b, p, 1)?));
        }
        match self.enum_value(f, b, p + 1) {
          Some((index, e)) => {
            if write {
              slot::put_u16(s, field.values_off + 2 * row, index);
            }
            e + 1
          }
          // Not one of the values: bad_enum when written plainly (an escape could spell a value).
          None => return Some(Value::Fails(R_BAD_ENUM, plain_string_end(b, p + 1)? + 1)),
        }
      }
      K_BOOL => {
        if c != b't' && c != b'f' {
          return Some(Value::Fails(R_BAD_TYPE, skip_value(b, p, 1)?));
        }
        let e = literal(b, p)?;
        if write {
          s[field.values_off + row] = (c == b't') as u8;
        }
        e
      }
      _ => {
        if c != b'-' && !c.is_ascii_digit() {
          return Some(Value::Fails(R_BAD_TYPE, skip_value(b, p, 1)?));
        }
        let (v, e) = parse_number(b, p)?;
        // check()'s order and test: v - floor(v) != 0, i.e. not integral, and true for ±Infinity.
        if field.integer && (!v.is_finite() || !integral(v)) {
          return Some(Value::Fails(R_NOT_INTEGER, e));
        }
        if !v.is_finite() {
          return Some(Value::Fails(R_OUT_OF_RANGE, e));
        }
        if if field.lo_excl { !(v > field.lo) } else { !(v >= field.lo) } {
          return Some(Value::Fails(R_OUT_OF_RANGE, e));
        }
        if if field.hi_excl { !(v < field.hi) } else { !(v <= field.hi) } {
          return Some(Value::Fails(R_OUT_OF_RANGE, e));
        }
        if write {
          if field.kind == K_INT32 {
            // In int32 range and integral (the plan's bounds include the type's): exact.
            slot::put_i32(s, field.values_off + 4 * row, v as i32);
          } else {
            slot::put_f64(s, field.values_off + 8 * row, v);
          }
        }
        e
      }
    };
    if write {
      slot::set_valid(s, field.validity_off, row);
    }
    Some(Value::Ok(end))
  }

  /// The enum value starting after its opening quote at s: (index, closing quote), or None when it
  /// is not one of the field's values written plainly.
  #[inline(always)]
  fn enum_value(&self, f: usize, b: &[u8], s: usize) -> Option<(u16, usize)> {
    if let Some(map) = &self.enum_maps[f] {
      let e = plain_string_end(b, s)?;
      return map.get(&b[s..e]).map(|&i| (i, e));
    }
    // Every value tried, last to first, so the first match wins (as a find would) without a branch
    // per value on which one the line holds.
    let list = &self.enum_lists[f];
    let mut found = None;
    if let Some(w) = b.get(s..s + 16) {
      // The value's first 16 bytes, loaded once for all candidates.
      let x0 = u64::from_le_bytes(w[..8].try_into().unwrap());
      let x1 = u64::from_le_bytes(w[8..].try_into().unwrap());
      for (m, i) in list.iter().rev() {
        if m.matches_at(x0, x1, b, s) {
          found = Some((*i, s + m.len() - 1));
        }
      }
      return found;
    }
    for (m, i) in list.iter().rev() {
      if m.matches(b, s) {
        found = Some((*i, s + m.len() - 1));
      }
    }
    found
  }

  /// Whether the string defaults of the absent or null fields declared before `before` fit their columns.
  fn defaults_fit(&self, valued: u64, before: usize, s: &[u8], row: usize) -> bool {
    for (f, field) in self.plan.fields.iter().enumerate().take(before) {
      if valued & (1u64 << f) != 0 || !field.has_default || field.kind != K_STRING {
        continue;
      }
      match field.string_start(s, row) {
        Some(start) if field.default_bytes.len() <= field.string_bytes - start => {}
        _ => return false,
      }
    }
    true
  }

  /// Absent or null declared fields: the default, or null. None when one is required or a default
  /// string has no room.
  fn fill_absent(&self, valued: u64, s: &mut [u8], row: usize) -> Option<()> {
    for (f, field) in self.plan.fields.iter().enumerate() {
      if valued & (1u64 << f) != 0 {
        continue;
      }
      if field.required {
        return None;
      }
      if !field.has_default {
        // Only the validity bit (and an empty string span); the value slot is left as it is, as in JS.
        if field.kind == K_STRING {
          let start = field.string_start(s, row)?;
          slot::put_i32(s, field.offsets_off + 4 * (row + 1), start as i32);
          if let (Some(hash_off), true) = (field.hash_off, self.hash_keys) {
            slot::put_hash(s, hash_off, row, (0, 0)); // as finishRow: a null key hashes to 0
          }
        }
        slot::clear_valid(s, field.validity_off, row);
        continue;
      }
      match field.kind {
        K_STRING => {
          let start = field.string_start(s, row)?;
          let d = &field.default_bytes;
          if d.len() > field.string_bytes - start {
            return None;
          }
          let dst = field.values_off + start;
          s[dst..dst + d.len()].copy_from_slice(d);
          slot::put_i32(s, field.offsets_off + 4 * (row + 1), (start + d.len()) as i32);
          if let (Some(hash_off), true) = (field.hash_off, self.hash_keys) {
            slot::put_hash(s, hash_off, row, self.default_hashes[f]);
          }
        }
        K_INT32 => slot::put_i32(s, field.values_off + 4 * row, field.default_number as i32),
        K_ENUM => slot::put_u16(s, field.values_off + 2 * row, field.default_number as u16),
        K_BOOL => s[field.values_off + row] = field.default_number as u8,
        _ => slot::put_f64(s, field.values_off + 8 * row, field.default_number),
      }
      slot::set_valid(s, field.validity_off, row);
    }
    Some(())
  }
}
