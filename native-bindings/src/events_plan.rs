//! The static parts of the processed-event lines of one batch layout, as the native serializer's row
//! loop (events.rs) uses them: where each output field's column lies in the batch slot, its kind, and
//! the literals written around the values. Flattened by src/kernels/events/native-serializer.ts:
//!
//!   layout   [ slotBytes, rowCapacity, fields, keyValuesOff, keyOffsetsOff, keyStringBytes, keyValidityOff, 0 |
//!              per field: kind, valuesOff, offsetsOff, stringBytes, validityOff, enumFirst, enumCount, 0 ]
//!   names    the fields' `"name":` literals end to end; nameEnds[f] = where field f's ends
//!   enums    every enum field's value literals end to end; field f's value e is literal enumFirst + e
//!   enriched `"as":` of the enriched field, empty without enrich
//!
//! Every region is checked against slotBytes here, so the loop reads fixed-width values of rows below
//! rowCapacity without further checks (slot.rs).

use crate::json_bytes::{NUMBER_MAX_BYTES, WRITE_SLACK};
use crate::slot::region_fits;

const HEADER_INTS: usize = 8;
const FIELD_INTS: usize = 8;
/// Literals up to this long are held inline and copied as one fixed-size move.
const SHORT_LITERAL: usize = 32;

/// Field kinds, numbered as event-serializer.ts numbers them (K_STRING ..).
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
  String,
  Number,
  Int32,
  Bool,
  Enum,
}

/// A JSON literal (a name, an enum value, true / false). A short one is written as one 32-byte move,
/// whose bytes past the literal land in the writers' slack (WRITE_SLACK) and are overwritten next.
pub struct Literal {
  short: [u8; SHORT_LITERAL],
  len: usize,
  long: Box<[u8]>,
}

impl Literal {
  pub fn new(bytes: &[u8]) -> Literal {
    let mut short = [0u8; SHORT_LITERAL];
    let long = if bytes.len() <= SHORT_LITERAL {
      short[..bytes.len()].copy_from_slice(bytes);
      Box::default()
    } else {
      bytes.into()
    };
    Literal { short, len: bytes.len(), long }
  }

  pub fn len(&self) -> usize {
    self.len
  }

  fn bytes(&self) -> &[u8] {
    if self.len <= SHORT_LITERAL {
      &self.short[..self.len]
    } else {
      &self.long
    }
  }

  #[inline(always)]
  pub fn write(&self, out: &mut [u8], at: usize) -> usize {
    if self.len <= SHORT_LITERAL {
      *out[at..].first_chunk_mut::<SHORT_LITERAL>().expect("room made by the caller") = self.short;
    } else {
      out[at..at + self.len].copy_from_slice(&self.long);
    }
    at + self.len
  }
}

pub struct Field {
  pub kind: Kind,
  pub values_off: usize,
  pub offsets_off: usize,
  pub string_bytes: usize,
  pub validity_off: usize,
  /// `,"name":`: every field writes its comma, and the row's first comma is then overwritten by the
  /// '{' (no branch per field on whether it is the first one written).
  pub name: Literal,
  pub enum_first: usize,
  pub enum_count: usize,
}

pub struct EventPlan {
  pub slot_bytes: usize,
  pub row_capacity: usize,
  pub fields: Vec<Field>,
  /// Indices of the string fields in `fields`.
  pub string_fields: Vec<usize>,
  /// The partition key column (a string column; `name` unused).
  pub key: Field,
  pub enum_literals: Vec<Literal>,
  /// `,"as":` of the enriched field, or None without enrich.
  pub enriched_name: Option<Literal>,
  pub true_literal: Literal,
  pub false_literal: Literal,
  /// Bytes of a row apart from its strings' contents and the enriched value (fixedRowBytes in JS),
  /// plus what the writers may store past the row's end.
  pub fixed_row_bytes: usize,
}

fn to_usize(v: i32, what: &str) -> Result<usize, String> {
  usize::try_from(v).map_err(|_| format!("event plan: negative {what} ({v})"))
}

/// The literals of `bytes` cut at `ends`, each end checked.
fn literals(bytes: &[u8], ends: &[i32], what: &str) -> Result<Vec<Literal>, String> {
  let mut start = 0;
  let mut out = Vec::with_capacity(ends.len());
  for &e in ends {
    let e = to_usize(e, what)?;
    if e < start || e > bytes.len() {
      return Err(format!("event plan: {what} end {e} out of order or past {} bytes", bytes.len()));
    }
    out.push(Literal::new(&bytes[start..e]));
    start = e;
  }
  Ok(out)
}

impl EventPlan {
  pub fn read(layout: &[i32], names: &[u8], name_ends: &[i32], enum_bytes: &[u8], enum_ends: &[i32], enriched_name: &[u8]) -> Result<EventPlan, String> {
    let int = |i: usize, what: &str| -> Result<usize, String> { to_usize(*layout.get(i).ok_or("event plan: layout truncated")?, what) };
    let (slot_bytes, cap, n) = (int(0, "slot bytes")?, int(1, "row capacity")?, int(2, "field count")?);
    if layout.len() < HEADER_INTS + n * FIELD_INTS || name_ends.len() != n {
      return Err(format!("event plan: {n} fields, {} layout ints and {} name ends", layout.len(), name_ends.len()));
    }
    let fits = |off: usize, len: usize, what: &str| region_fits("event plan", off, len, slot_bytes, what);
    let names: Vec<Literal> = literals(names, name_ends, "name")?.iter().map(|l| Literal::new(&[b",", l.bytes()].concat())).collect();
    let enum_literals = literals(enum_bytes, enum_ends, "enum literal")?;
    let key = Field {
      kind: Kind::String,
      values_off: int(3, "key values")?,
      offsets_off: int(4, "key offsets")?,
      string_bytes: int(5, "key string bytes")?,
      validity_off: int(6, "key validity")?,
      name: Literal::new(b""),
      enum_first: 0,
      enum_count: 0,
    };
    fits(key.offsets_off, 4 * (cap + 1), "key offsets")?;
    fits(key.values_off, key.string_bytes, "key bytes")?;
    fits(key.validity_off, cap.div_ceil(8), "key validity")?;
    let enriched_name = if enriched_name.is_empty() { None } else { Some(Literal::new(&[b",", enriched_name].concat())) };
    // As fixedRowBytes in JS: '{' '}' '\n', then per field its comma, name and longest value.
    let mut fixed = 3 + WRITE_SLACK + enriched_name.as_ref().map_or(0, Literal::len);
    let mut fields = Vec::with_capacity(n);
    for (f, name) in names.into_iter().enumerate() {
      let at = HEADER_INTS + f * FIELD_INTS;
      let kind = match layout[at] {
        0 => Kind::String,
        1 => Kind::Number,
        2 => Kind::Int32,
        3 => Kind::Bool,
        4 => Kind::Enum,
        k => return Err(format!("event plan: unknown kind {k} of field {f}")),
      };
      let c = Field {
        kind,
        values_off: int(at + 1, "values offset")?,
        offsets_off: int(at + 2, "offsets offset")?,
        string_bytes: int(at + 3, "string bytes")?,
        validity_off: int(at + 4, "validity offset")?,
        name,
        enum_first: int(at + 5, "enum first")?,
        enum_count: int(at + 6, "enum count")?,
      };
      let (width, value_max) = match kind {
        Kind::String => {
          fits(c.offsets_off, 4 * (cap + 1), "offsets")?;
          (c.string_bytes, 2)
        }
        Kind::Number => (8 * cap, NUMBER_MAX_BYTES),
        Kind::Int32 => (4 * cap, NUMBER_MAX_BYTES),
        Kind::Bool => (cap, 5),
        Kind::Enum => {
          let lits = enum_literals.get(c.enum_first..c.enum_first + c.enum_count).ok_or(format!("event plan: field {f}'s enum literals missing"))?;
          (2 * cap, lits.iter().map(Literal::len).max().unwrap_or(0))
        }
      };
      fits(c.values_off, width, "values")?;
      fits(c.validity_off, cap.div_ceil(8), "validity")?;
      fixed += c.name.len() + value_max;
      fields.push(c);
    }
    let string_fields = (0..n).filter(|&f| fields[f].kind == Kind::String).collect();
    Ok(EventPlan {
      slot_bytes,
      row_capacity: cap,
      fields,
      string_fields,
      key,
      enum_literals,
      enriched_name,
      true_literal: Literal::new(b"true"),
      false_literal: Literal::new(b"false"),
      fixed_row_bytes: fixed,
    })
  }
}
