//! The processed-event serializer's row loop in native code. The JS twin, and the reference for every
//! byte, is EventSerializer.append in src/kernels/events/event-serializer.ts (its header describes the
//! line); differential test: test/unit/kernels/event-serializer-native.test.ts. The plan (what a line
//! is made of) is events_plan.rs.
//!
//! A call appends a list of accepted rows of one batch slot to the task's EventBuffers arrays from the
//! fill positions JS passes, and stops early at a row that may not fit (JS grows the arrays and calls
//! again from that row) or whose enriched value id is not published (JS appends that row itself: its
//! checks throw the error the JS path throws).

use crate::events_plan::{EventPlan, Field, Kind};
use crate::json_bytes::{copy_bytes, write_int32, write_json_string, write_number};
use crate::slot::{copy_short, get_f64, get_i32, get_u16};

/// The enrich dictionary's published part: value id i = literals[ends[i - 1] .. ends[i]).
pub struct Dictionary<'a> {
  pub literals: &'a [u8],
  pub ends: &'a [i32],
  pub count: usize,
}

/// The EventBuffers arrays and their fill positions.
pub struct Output<'a> {
  pub lines: &'a mut [u8],
  pub line_ends: &'a mut [u32],
  pub keys: &'a mut [u8],
  pub key_ends: &'a mut [u32],
  pub line_bytes: usize,
  pub key_bytes: usize,
  pub rows: usize,
}

pub enum Stop {
  Done,
  /// The row needs this many more line and key bytes, or a row slot, than the arrays have left.
  Room { line_bytes: usize, key_bytes: usize },
  /// The row's enriched value id is not in the dictionary: JS appends it (and throws).
  RowForJs,
}

/// Row r's bytes of a string column, as a range of the slot (checked: a bad offset is an error).
#[inline(always)]
fn string_span(slot: &[u8], c: &Field, r: usize) -> Result<(usize, usize), String> {
  let (s, e) = (get_i32(slot, c.offsets_off + 4 * r), get_i32(slot, c.offsets_off + 4 * r + 4));
  if s < 0 || e < s || e as usize > c.string_bytes {
    return Err(format!("row {r} spans [{s}, {e}) outside its column's {} bytes", c.string_bytes));
  }
  Ok((c.values_off + s as usize, c.values_off + e as usize))
}

/// The literal of value `id` as a range of dict.literals, or None for an id not published.
#[inline(always)]
fn dictionary_literal(dict: &Dictionary, id: i32) -> Result<Option<(usize, usize)>, String> {
  if id < 0 || id as usize >= dict.count {
    return Ok(None);
  }
  let id = id as usize;
  let start = if id == 0 { 0 } else { dict.ends[id - 1] };
  let end = dict.ends[id];
  if start < 0 || end < start || end as usize > dict.literals.len() {
    return Err(format!("dictionary value {id} spans [{start}, {end}) outside its {} bytes", dict.literals.len()));
  }
  Ok(Some((start as usize, end as usize)))
}

/// Appends rows (indices into the batch in `slot`) in order; returns how many were appended and why
/// it stopped. `value_ids` and `dict` are read only with an enriched field.
pub fn append_rows(plan: &EventPlan, slot: &[u8], value_ids: &[i32], dict: &Dictionary, rows: &[i32], out: &mut Output) -> Result<(usize, Stop), String> {
  if slot.len() < plan.slot_bytes {
    return Err(format!("slot of {} bytes, the layout needs {}", slot.len(), plan.slot_bytes));
  }
  if plan.enriched_name.is_some() && dict.count > dict.ends.len() {
    return Err(format!("dictionary count {} past its {} ends", dict.count, dict.ends.len()));
  }
  let row_room = out.line_ends.len().min(out.key_ends.len());
  for (i, &row) in rows.iter().enumerate() {
    let r = row as usize;
    if row < 0 || r >= plan.row_capacity {
      return Err(format!("row {row} outside a batch of {} rows", plan.row_capacity));
    }
    let (byte, bit) = (r >> 3, 1u8 << (r & 7));
    let valid = |c: &Field| slot[c.validity_off + byte] & bit != 0;

    // Upper bound of the row's bytes, so the writes below never check room. As in JS, every string
    // column counts, valid or not; its offsets are checked when the value is written.
    let mut need = plan.fixed_row_bytes;
    for &f in &plan.string_fields {
      let off = plan.fields[f].offsets_off + 4 * r;
      need += 6 * (get_i32(slot, off + 4).wrapping_sub(get_i32(slot, off)).max(0) as usize);
    }
    let mut literal = (0, 0);
    if plan.enriched_name.is_some() {
      let id = *value_ids.get(r).ok_or_else(|| format!("row {r} has no value id ({} given)", value_ids.len()))?;
      match dictionary_literal(dict, id)? {
        Some(span) => literal = span,
        None => return Ok((i, Stop::RowForJs)),
      }
      need += literal.1 - literal.0;
    }
    let key = if valid(&plan.key) { string_span(slot, &plan.key, r)? } else { (0, 0) };
    let key_len = key.1 - key.0;
    if out.rows >= row_room || need > out.lines.len() - out.line_bytes || key_len > out.keys.len() - out.key_bytes {
      return Ok((i, Stop::Room { line_bytes: need, key_bytes: key_len }));
    }

    let lines = &mut *out.lines;
    let row_start = out.line_bytes;
    let mut at = row_start;
    for c in &plan.fields {
      if !valid(c) {
        continue;
      }
      at = c.name.write(lines, at);
      at = match c.kind {
        Kind::String => {
          let (s, e) = string_span(slot, c, r)?;
          write_json_string(slot, s, e, lines, at)
        }
        Kind::Number => write_number(get_f64(slot, c.values_off + 8 * r), lines, at),
        Kind::Int32 => write_int32(get_i32(slot, c.values_off + 4 * r), lines, at),
        Kind::Bool => {
          let lit = if slot[c.values_off + r] != 0 { &plan.true_literal } else { &plan.false_literal };
          lit.write(lines, at)
        }
        Kind::Enum => {
          let e = get_u16(slot, c.values_off + 2 * r) as usize;
          if e >= c.enum_count {
            return Err(format!("row {r}: enum value {e} of {}", c.enum_count));
          }
          plan.enum_literals[c.enum_first + e].write(lines, at)
        }
      };
    }
    if let Some(name) = &plan.enriched_name {
      at = name.write(lines, at);
      // An exact copy: the loader may be appending to the shared dictionary past its published end,
      // so the 32-byte move of copy_bytes must not read there.
      let len = literal.1 - literal.0;
      lines[at..at + len].copy_from_slice(&dict.literals[literal.0..literal.1]);
      at += len;
    }
    // The first field's ',' becomes the '{'; a row without fields writes the '{' here.
    if at == row_start {
      at += 1;
    }
    lines[row_start] = b'{';
    lines[at] = b'}';
    lines[at + 1] = b'\n';
    at += 2;
    out.line_bytes = at;
    out.line_ends[out.rows] = at as u32;
    let key_at = out.key_bytes;
    copy_short(out.keys, key_at, out.keys.len() - key_at, slot, key.0, slot.len() - key.0, key_len);
    out.key_bytes = key_at + key_len;
    out.key_ends[out.rows] = out.key_bytes as u32;
    out.rows += 1;
  }
  Ok((rows.len(), Stop::Done))
}
