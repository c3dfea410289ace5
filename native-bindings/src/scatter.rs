//! Row copy for the partitioner's scatter: a segment of staging rows -> the open ring slots of their
//! partitions, every column. The JS twin is src/runtime/scatter-copy.ts; src/runtime/scatter-native.ts
//! calls this once per segment (up to a slot's rows, 4096 by default).
//!
//! Layouts arrive flattened, one for the staging batch and one for the ring slots (they may differ in
//! rowCapacity, hence in every offset):
//!
//!   ints [ slotBytes, rowCapacity, columns | per column: kind, valuesOff, offsetsOff, stringBytes,
//!          hashOff (-1: none), validityOff ]
//!
//! Every region is checked against slotBytes here, and every row and string byte against the layout
//! in copy_rows, so a wrong call is an error, never a write outside the slot.

pub const KIND_F64: i32 = 0;
pub const KIND_I32: i32 = 1;
pub const KIND_U8: i32 = 2;
pub const KIND_U16: i32 = 3;
pub const KIND_STRING: i32 = 4;
const COLUMN_INTS: usize = 6;

struct Column {
  kind: i32,
  values_off: usize,
  offsets_off: usize,
  string_bytes: usize,
  hash_off: Option<usize>,
  validity_off: usize,
}

pub struct SlotLayout {
  slot_bytes: usize,
  row_capacity: usize,
  columns: Vec<Column>,
}

fn fits(off: usize, len: usize, slot: usize, what: &str) -> Result<(), String> {
  crate::slot::region_fits("scatter layout", off, len, slot, what)
}

impl SlotLayout {
  pub fn read(ints: &[i32]) -> Result<SlotLayout, String> {
    let nat = |i: usize| -> Result<usize, String> {
      match ints.get(i) {
        Some(&v) if v >= 0 => Ok(v as usize),
        _ => Err(format!("scatter layout: bad value at int {i}")),
      }
    };
    let (slot_bytes, cap, n) = (nat(0)?, nat(1)?, nat(2)?);
    let mut columns = Vec::with_capacity(n);
    for c in 0..n {
      let at = 3 + c * COLUMN_INTS;
      let kind = *ints.get(at).ok_or("scatter layout: truncated")?;
      let hash = *ints.get(at + 4).ok_or("scatter layout: truncated")?;
      let col = Column {
        kind,
        values_off: nat(at + 1)?,
        offsets_off: nat(at + 2)?,
        string_bytes: nat(at + 3)?,
        hash_off: if hash < 0 { None } else { Some(hash as usize) },
        validity_off: nat(at + 5)?,
      };
      let width = match kind {
        KIND_F64 => 8 * cap,
        KIND_I32 => 4 * cap,
        KIND_U8 => cap,
        KIND_U16 => 2 * cap,
        KIND_STRING => {
          fits(col.offsets_off, 4 * (cap + 1), slot_bytes, "offsets")?;
          col.string_bytes
        }
        _ => return Err(format!("scatter layout: unknown kind {kind} of column {c}")),
      };
      fits(col.values_off, width, slot_bytes, "values")?;
      fits(col.validity_off, cap.div_ceil(8), slot_bytes, "validity")?;
      if let Some(h) = col.hash_off {
        fits(h, 8 * cap, slot_bytes, "hash")?;
      }
      columns.push(col);
    }
    Ok(SlotLayout { slot_bytes, row_capacity: cap, columns })
  }
}

#[inline(always)]
fn get_i32(s: &[u8], off: usize) -> i32 {
  i32::from_ne_bytes(*s[off..].first_chunk::<4>().expect("checked region"))
}

/// Fixed-width values: row start + i -> row slot_row[i] of dsts[part[i]].
///
/// SAFETY of the raw writes: copy_segment checked, before any copy, that every partition with rows
/// has a slot of at least the layout's slotBytes and that its rows stay below rowCapacity, and
/// SlotLayout::read checked that each column's N * rowCapacity bytes lie inside slotBytes; the
/// source rows are below the staging layout's rowCapacity and its buffer at least its slotBytes.
#[inline(always)]
fn copy_width<const N: usize>(src: &[u8], so: usize, dsts: &[*mut u8], d: usize, part: &[u16], slot_row: &[u32], start: usize) {
  let from = &src[so + N * start..so + N * (start + part.len())];
  for (i, (&p, &row)) in part.iter().zip(slot_row.iter()).enumerate() {
    unsafe {
      std::ptr::copy_nonoverlapping(from.as_ptr().add(N * i), dsts[p as usize].add(d + N * row as usize), N);
    }
  }
}

/// Copies staging rows start..start + part.len() to the open slots of their partitions: row
/// start + i goes to dsts[part[i]] at the next row of that partition, from base[p] on, every column.
/// Rows are read in staging order and each partition's rows written in order: the source is read
/// sequentially, with one write stream per partition (the JS twin groups by partition instead, to
/// keep one destination array per loop). Validity bits are only set (an acquired slot starts
/// cleared); string bytes are appended after each slot column's current end, offsets[base[p]].
pub fn copy_segment(sl: &SlotLayout, dl: &SlotLayout, src: &[u8], dsts: &mut [&mut [u8]], part: &[u16], start: usize, base: &[i32]) -> Result<(), String> {
  let partitions = dsts.len();
  if src.len() < sl.slot_bytes || sl.columns.len() != dl.columns.len() || base.len() < partitions {
    return Err("scatter: staging buffer, layouts or partition arrays do not match".into());
  }
  if start + part.len() > sl.row_capacity {
    return Err(format!("scatter: staging rows {start}..{} exceed its {} rows", start + part.len(), sl.row_capacity));
  }
  let mut rows = vec![0usize; partitions];
  let mut slot_row = Vec::with_capacity(part.len());
  for &p in part {
    let p = p as usize;
    if p >= partitions {
      return Err(format!("scatter: partition {p} of {partitions}"));
    }
    slot_row.push((base[p].max(0) as usize + rows[p]) as u32);
    rows[p] += 1;
  }
  let mut first = vec![0usize; partitions];
  for p in 0..partitions {
    if rows[p] == 0 {
      continue;
    }
    if base[p] < 0 || base[p] as usize + rows[p] > dl.row_capacity || dsts[p].len() < dl.slot_bytes {
      return Err(format!("scatter: partition {p}: {} rows from slot row {} do not fit its slot", rows[p], base[p]));
    }
    first[p] = base[p] as usize;
  }
  for (s, d) in sl.columns.iter().zip(dl.columns.iter()) {
    if s.kind != d.kind {
      return Err("scatter: column kinds differ between the layouts".into());
    }
    if s.kind == KIND_STRING {
      check_string_room(s, d, src, dsts, part, start, &first, &rows)?;
    }
  }
  // Everything that can fail was checked: from here on a call copies every column or, on a bug, panics.
  for (s, d) in sl.columns.iter().zip(dl.columns.iter()) {
    if s.kind == KIND_STRING {
      copy_strings(s, d, src, dsts, part, start, &first, &rows)?;
    }
    let ptrs: Vec<*mut u8> = dsts.iter_mut().map(|b| b.as_mut_ptr()).collect();
    match s.kind {
      KIND_F64 => copy_width::<8>(src, s.values_off, &ptrs, d.values_off, part, &slot_row, start),
      KIND_I32 => copy_width::<4>(src, s.values_off, &ptrs, d.values_off, part, &slot_row, start),
      KIND_U8 => copy_width::<1>(src, s.values_off, &ptrs, d.values_off, part, &slot_row, start),
      KIND_U16 => copy_width::<2>(src, s.values_off, &ptrs, d.values_off, part, &slot_row, start),
      _ => {
        if let (Some(sh), Some(dh)) = (s.hash_off, d.hash_off) {
          copy_width::<8>(src, sh, &ptrs, dh, part, &slot_row, start);
        }
      }
    }
    copy_validity(s, d, src, dsts, part, start, &first, &rows, &slot_row);
  }
  Ok(())
}

/// Every bit of bits[from..to) set?
fn all_set(bits: &[u8], from: usize, to: usize) -> bool {
  let mut r = from;
  while r < to && r & 7 != 0 {
    if bits[r >> 3] & (1 << (r & 7)) == 0 {
      return false;
    }
    r += 1;
  }
  while r + 8 <= to {
    if bits[r >> 3] != 0xff {
      return false;
    }
    r += 8;
  }
  (r..to).all(|r| bits[r >> 3] & (1 << (r & 7)) != 0)
}

/// Sets bits[from..to): whole bytes where it can.
fn set_range(bits: &mut [u8], from: usize, to: usize) {
  let mut r = from;
  while r < to && r & 7 != 0 {
    bits[r >> 3] |= 1 << (r & 7);
    r += 1;
  }
  if r + 8 <= to {
    let whole = (to - r) >> 3;
    bits[r >> 3..(r >> 3) + whole].fill(0xff);
    r += whole << 3;
  }
  while r < to {
    bits[r >> 3] |= 1 << (r & 7);
    r += 1;
  }
}

/// Validity of the segment's rows. The usual case, every row valid (required and defaulted fields),
/// is a bit range per partition; a per-row read-modify-write of the slot's bit bytes is a chain of
/// dependent stores (eight rows share a byte) that cost about as much as the values' copy.
#[allow(clippy::too_many_arguments)]
fn copy_validity(s: &Column, d: &Column, src: &[u8], dsts: &mut [&mut [u8]], part: &[u16], start: usize, first: &[usize], rows: &[usize], slot_row: &[u32]) {
  let bits = &src[s.validity_off..];
  if all_set(bits, start, start + part.len()) {
    for p in 0..dsts.len() {
      if rows[p] > 0 {
        set_range(&mut dsts[p][d.validity_off..], first[p], first[p] + rows[p]);
      }
    }
    return;
  }
  for (i, (&p, &row)) in part.iter().zip(slot_row.iter()).enumerate() {
    let (r, row) = (start + i, row as usize);
    if bits[r >> 3] & (1 << (r & 7)) != 0 {
      dsts[p as usize][d.validity_off + (row >> 3)] |= 1 << (row & 7);
    }
  }
}

/// Before anything is written: every staging string of the segment lies inside its column, and each
/// partition's strings fit after its slot column's current end. So a call fails whole or not at all:
/// a half-copied segment would leave rows the partitioner already counted with garbage in some columns.
#[allow(clippy::too_many_arguments)]
fn check_string_room(s: &Column, d: &Column, src: &[u8], dsts: &[&mut [u8]], part: &[u16], start: usize, first: &[usize], rows: &[usize]) -> Result<(), String> {
  let mut need = vec![0usize; dsts.len()];
  for (i, &p) in part.iter().enumerate() {
    let r = start + i;
    let from = get_i32(src, s.offsets_off + 4 * r);
    let to = get_i32(src, s.offsets_off + 4 * (r + 1));
    if from < 0 || to < from || to as usize > s.string_bytes {
      return Err(format!("scatter: staging row {r} has string bounds [{from}, {to}) outside its column"));
    }
    need[p as usize] += (to - from) as usize;
  }
  for p in 0..dsts.len() {
    if rows[p] == 0 {
      continue;
    }
    let at = get_i32(dsts[p], d.offsets_off + 4 * first[p]);
    if at < 0 || at as usize + need[p] > d.string_bytes {
      return Err(format!("scatter: partition {p}: {} string bytes from {at} do not fit its slot column ({} bytes)", need[p], d.string_bytes));
    }
  }
  Ok(())
}

#[allow(clippy::too_many_arguments)]
fn copy_strings(s: &Column, d: &Column, src: &[u8], dsts: &mut [&mut [u8]], part: &[u16], start: usize, first: &[usize], rows: &[usize]) -> Result<(), String> {
  // Per partition: the next slot row, and the next free byte of its column (offsets[that row]).
  let mut row = first.to_vec();
  let mut at = vec![0usize; dsts.len()];
  for p in 0..dsts.len() {
    if rows[p] > 0 {
      let v = get_i32(dsts[p], d.offsets_off + 4 * first[p]);
      if v < 0 || v as usize > d.string_bytes {
        return Err(format!("scatter: partition {p}: string offset {v} outside its slot column"));
      }
      at[p] = v as usize;
    }
  }
  for (i, &p) in part.iter().enumerate() {
    let p = p as usize;
    let r = start + i;
    let from = get_i32(src, s.offsets_off + 4 * r);
    let to = get_i32(src, s.offsets_off + 4 * (r + 1));
    if from < 0 || to < from || to as usize > s.string_bytes {
      return Err(format!("scatter: staging row {r} has string bounds [{from}, {to}) outside its column"));
    }
    let len = (to - from) as usize;
    let w = at[p];
    if w + len > d.string_bytes {
      return Err(format!("scatter: partition {p}: slot string column full at row {}", row[p]));
    }
    let dst = &mut dsts[p];
    // Short values as whole words (slot.rs): bytes past the value land after the column's end.
    crate::slot::copy_short(dst, d.values_off + w, d.string_bytes - w, src, s.values_off + from as usize, s.string_bytes - from as usize, len);
    at[p] = w + len;
    row[p] += 1;
    let o = d.offsets_off + 4 * row[p];
    dst[o..o + 4].copy_from_slice(&((w + len) as i32).to_ne_bytes());
  }
  Ok(())
}
