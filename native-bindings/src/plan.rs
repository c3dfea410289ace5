//! The decode plan: an input config and its batch layout, flattened by src/kernels/decode-native-plan.ts
//! into three typed arrays and read back here once, when a decoder is created.
//!
//!   ints    [ header: HEADER_INTS | field 0: FIELD_INTS | field 1 ... | atoms: 3 each | enum values: 2 each ]
//!   floats  [ field 0: lo, hi, defaultNumber | field 1 ... ]
//!   bytes   [ field names | enum values | default strings | pattern sets (128 bytes per atom) ] (any order)
//!
//! Every offset into the batch slot is checked against slotBytes for rowCapacity rows here, so the
//! decoder's writes can never leave the slot.

use crate::pattern::{Pattern, UNBOUNDED};

pub const PLAN_VERSION: i32 = 3;
pub const HEADER_INTS: usize = 8;
pub const FIELD_INTS: usize = 18;
pub const FLOATS_PER_FIELD: usize = 3;
/// Fields are tracked in u64 bit masks.
pub const MAX_FIELDS: usize = 64;

/// Field kinds: the K_* constants of src/kernels/filter.ts.
pub const K_STRING: u8 = 0;
pub const K_INT32: u8 = 1;
pub const K_INT64: u8 = 2;
pub const K_FLOAT64: u8 = 3;
pub const K_BOOL: u8 = 4;
pub const K_ENUM: u8 = 5;

const F_REQUIRED: i32 = 1;
const F_DEFAULT: i32 = 2;
const F_INTEGER: i32 = 4;
const F_LO_EXCL: i32 = 8;
const F_HI_EXCL: i32 = 16;

pub struct Field {
  pub kind: u8,
  pub required: bool,
  pub has_default: bool,
  pub integer: bool,
  pub lo_excl: bool,
  pub hi_excl: bool,
  pub values_off: usize,
  pub offsets_off: usize,
  pub string_bytes: usize,
  pub hash_off: Option<usize>,
  pub validity_off: usize,
  pub min_bytes: usize,
  /// The rule's maxBytes (too_long above it).
  pub max_bytes: usize,
  /// The longest value the JS scanner stores in the row (maxBytes and the pattern's longest match):
  /// a value up to this long needs string room even in a line that is rejected.
  pub store_max_bytes: usize,
  pub name: Vec<u8>,
  pub enum_values: Vec<Vec<u8>>,
  pub default_bytes: Vec<u8>,
  pub pattern: Option<Pattern>,
  pub lo: f64,
  pub hi: f64,
  pub default_number: f64,
}

impl Field {
  /// offsets[row] of a string column, or None when it is not inside the column's bytes (a corrupt
  /// staging batch: the JS decoder deals with it).
  #[inline(always)]
  pub fn string_start(&self, s: &[u8], row: usize) -> Option<usize> {
    let at = crate::slot::get_i32(s, self.offsets_off + 4 * row);
    if at < 0 || at as usize > self.string_bytes {
      return None;
    }
    Some(at as usize)
  }

  /// Copies src[from..from + len] to the string column's bytes at `start` (see copy_short).
  #[inline(always)]
  pub fn copy_string(&self, s: &mut [u8], start: usize, src: &[u8], from: usize, len: usize) {
    crate::slot::copy_short(s, self.values_off + start, self.string_bytes.saturating_sub(start), src, from, src.len().saturating_sub(from), len);
  }
}

pub struct Plan {
  pub fields: Vec<Field>,
  pub max_line_bytes: usize,
  pub row_capacity: usize,
  pub slot_bytes: usize,
}

fn nat(ints: &[i32], i: usize, what: &str) -> Result<usize, String> {
  match ints.get(i) {
    Some(&v) if v >= 0 => Ok(v as usize),
    _ => Err(format!("plan: bad {what} at int {i}")),
  }
}

fn span<'a>(bytes: &'a [u8], start: usize, len: usize, what: &str) -> Result<&'a [u8], String> {
  bytes.get(start..start + len).ok_or_else(|| format!("plan: {what} bytes out of range"))
}

fn fits(off: usize, len: usize, slot: usize, what: &str) -> Result<(), String> {
  crate::slot::region_fits("plan", off, len, slot, what)
}

impl Plan {
  pub fn read(ints: &[i32], floats: &[f64], bytes: &[u8]) -> Result<Plan, String> {
    if ints.len() < HEADER_INTS || ints[0] != PLAN_VERSION {
      return Err("plan: wrong version (rebuild native-bindings)".into());
    }
    let n = nat(ints, 1, "field count")?;
    if n == 0 || n > MAX_FIELDS {
      return Err(format!("plan: {n} fields, native handles 1 to {MAX_FIELDS}"));
    }
    let max_line_bytes = nat(ints, 2, "maxLineBytes")?;
    let row_capacity = nat(ints, 3, "rowCapacity")?;
    let slot_bytes = nat(ints, 4, "slotBytes")?;
    let atom_count = nat(ints, 5, "atom count")?;
    let atoms_at = HEADER_INTS + n * FIELD_INTS;
    let enums_at = atoms_at + 3 * atom_count;
    if floats.len() < n * FLOATS_PER_FIELD {
      return Err("plan: floats too short".into());
    }
    let mut fields = Vec::with_capacity(n);
    for i in 0..n {
      let base = HEADER_INTS + i * FIELD_INTS;
      let g = |k: usize, what: &str| nat(ints, base + k, what);
      let kind = g(0, "kind")? as u8;
      if kind > K_ENUM {
        return Err(format!("plan: field {i} has unknown kind {kind}"));
      }
      let flags = ints[base + 1];
      let name = span(bytes, g(9, "name start")?, g(10, "name length")?, "name")?.to_vec();
      let (enum_first, enum_count) = (g(11, "enum first")?, g(12, "enum count")?);
      let mut enum_values = Vec::with_capacity(enum_count);
      for v in enum_first..enum_first + enum_count {
        let at = enums_at + 2 * v;
        enum_values.push(span(bytes, nat(ints, at, "enum start")?, nat(ints, at + 1, "enum length")?, "enum value")?.to_vec());
      }
      let default_bytes = span(bytes, g(13, "default start")?, g(14, "default length")?, "default")?.to_vec();
      let pattern = match ints.get(base + 16) {
        Some(&c) if c >= 0 => {
          let first = g(15, "atom first")?;
          let mut atoms = Vec::with_capacity(c as usize);
          for a in first..first + c as usize {
            let at = atoms_at + 3 * a;
            let set = span(bytes, nat(ints, at, "atom set")?, 128, "atom set")?;
            let max = match ints.get(at + 2) {
              Some(&-1) => UNBOUNDED,
              _ => nat(ints, at + 2, "atom max")?,
            };
            atoms.push((set, nat(ints, at + 1, "atom min")?, max));
          }
          Some(Pattern::new(atoms))
        }
        _ => None,
      };
      let rows = row_capacity;
      let field = Field {
        kind,
        required: flags & F_REQUIRED != 0,
        has_default: flags & F_DEFAULT != 0,
        integer: flags & F_INTEGER != 0,
        lo_excl: flags & F_LO_EXCL != 0,
        hi_excl: flags & F_HI_EXCL != 0,
        values_off: g(2, "valuesOffset")?,
        offsets_off: if kind == K_STRING { g(3, "offsetsOffset")? } else { 0 },
        string_bytes: if kind == K_STRING { g(4, "stringBytes")? } else { 0 },
        hash_off: if ints[base + 5] >= 0 { Some(ints[base + 5] as usize) } else { None },
        validity_off: g(6, "validityOffset")?,
        min_bytes: g(7, "minBytes")?,
        max_bytes: g(8, "maxBytes")?,
        store_max_bytes: g(17, "storeMaxBytes")?,
        name,
        enum_values,
        default_bytes,
        pattern,
        lo: floats[i * FLOATS_PER_FIELD],
        hi: floats[i * FLOATS_PER_FIELD + 1],
        default_number: floats[i * FLOATS_PER_FIELD + 2],
      };
      let width = match kind {
        K_STRING => 0,
        K_INT32 => 4,
        K_BOOL => 1,
        K_ENUM => 2,
        K_INT64 | K_FLOAT64 => 8,
        _ => unreachable!("kind checked above"),
      };
      if kind == K_STRING {
        fits(field.offsets_off, (rows + 1) * 4, slot_bytes, "offsets")?;
        fits(field.values_off, field.string_bytes, slot_bytes, "string bytes")?;
      } else {
        fits(field.values_off, rows * width, slot_bytes, "values")?;
        if field.hash_off.is_some() {
          return Err(format!("plan: field {i} is hashed but not a string"));
        }
      }
      if let Some(h) = field.hash_off {
        fits(h, rows * 8, slot_bytes, "hash")?;
      }
      fits(field.validity_off, rows.div_ceil(8), slot_bytes, "validity")?;
      if field.name.is_empty() {
        return Err(format!("plan: field {i} has an empty name"));
      }
      fields.push(field);
    }
    Ok(Plan { fields, max_line_bytes, row_capacity, slot_bytes })
  }
}
