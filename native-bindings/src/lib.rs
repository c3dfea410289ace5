//! ringflow_native, a Node-API module of hot loops, each with a JS twin that gives the same bytes: the
//! NDJSON block decoder (block.rs, line.rs; JS side src/kernels/decode-native.ts), the scatter's row
//! copy into ring slots (scatter.rs; src/runtime/scatter-native.ts), the dedupe Bloom's batch
//! check-and-add (bloom.rs; src/kernels/bloom.ts), a column's key hashes (hash.rs;
//! src/kernels/key-hashes.ts) and the processed-event serializer's row loop (events.rs,
//! events_plan.rs, json_bytes.rs; src/kernels/events/native-serializer.ts). Loading:
//! src/runtime/native-module.ts.
//!
//! Calls take typed arrays as plain slices (no JS references are kept between calls), so a call
//! costs a few Node-API lookups plus the per-line work, and nothing is allocated per call or line.

mod block;
mod bloom;
mod events;
mod events_plan;
mod hash;
mod json_bytes;
mod line;
mod matcher;
mod number;
mod pattern;
mod plan;
mod scan;
mod scatter;
mod slot;
mod verdict;

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Int32 slots of the status header at the start of the decode output array.
pub const STATUS_INTS: usize = 8;

// Aliases so the napi macro converts these as typed-array slices (FromNapiValue) rather than as
// references to wrapped Rust objects, which is what it does for a literal `&mut T` argument.
type BytesMut<'a> = &'a mut [u8];
type I32sMut<'a> = &'a mut [i32];
type U32sMut<'a> = &'a mut [u32];

fn invalid(msg: String) -> Error {
  Error::new(Status::InvalidArg, msg)
}

#[napi(js_name = "BlockDecoder")]
pub struct BlockDecoder {
  dec: line::LineDecoder,
}

#[napi]
impl BlockDecoder {
  /// A decoder for one input config + batch layout, flattened by decode-native-plan.ts.
  #[napi(constructor)]
  pub fn new(ints: &[i32], floats: &[f64], bytes: &[u8]) -> Result<Self> {
    let plan = plan::Plan::read(ints, floats, bytes).map_err(invalid)?;
    Ok(BlockDecoder { dec: line::LineDecoder::new(plan) })
  }

  /// Whether decoded rows get the key hashes of hashed string columns (default true; false when the
  /// worker fills them with hashColumn).
  #[napi]
  pub fn set_hash_keys(&mut self, on: bool) {
    self.dec.hash_keys = on;
  }

  /// Decodes the complete lines of chunk[start, end) into slot rows row_start.. (below row_limit).
  /// `out` = [status: rows, stopOffset, linesConsumed, linesBlank, stopReason, verdict, rejectNewline, illFormed |
  /// lineStarts: rowCapacity | lineEnds: rowCapacity | lineIndex: rowCapacity]. Returns rows written.
  #[napi(catch_unwind)]
  pub fn decode(&self, chunk: &[u8], start: u32, end: u32, slot: BytesMut, row_start: u32, row_limit: u32, out: I32sMut) -> Result<i32> {
    let plan = &self.dec.plan;
    let cap = plan.row_capacity;
    let (start, end) = (start as usize, end as usize);
    if start > end || end > chunk.len() || end > i32::MAX as usize {
      return Err(invalid(format!("decode: range [{start}, {end}) outside the chunk ({} bytes)", chunk.len())));
    }
    if slot.len() < plan.slot_bytes {
      return Err(invalid(format!("decode: slot of {} bytes, the layout needs {}", slot.len(), plan.slot_bytes)));
    }
    if out.len() < STATUS_INTS + 3 * cap {
      return Err(invalid("decode: output array too short".into()));
    }
    let row_limit = (row_limit as usize).min(cap);
    let row_start = (row_start as usize).min(row_limit);
    let (status, rest) = out.split_at_mut(STATUS_INTS);
    let (starts, rest) = rest.split_at_mut(cap);
    let (ends, index) = rest.split_at_mut(cap);
    let lines = block::RowLines { starts, ends, index: &mut index[..cap] };
    let r = block::decode_block(&self.dec, chunk, start, end, slot, row_start, row_limit, lines);
    status[0] = r.rows as i32;
    status[1] = r.stop_offset as i32;
    status[2] = r.lines as i32;
    status[3] = r.blank as i32;
    status[4] = r.reason;
    status[5] = r.verdict as i32;
    status[6] = r.reject_nl as i32;
    status[7] = r.ill_formed as i32;
    Ok(r.rows as i32)
  }
}

/// Row copy of the partitioner's scatter between a staging layout and a ring slot layout (scatter.rs).
#[napi(js_name = "SlotScatter")]
pub struct SlotScatter {
  src: scatter::SlotLayout,
  dst: scatter::SlotLayout,
}

#[napi]
impl SlotScatter {
  /// Layouts flattened by src/runtime/scatter-native.ts: staging first, ring slot second.
  #[napi(constructor)]
  pub fn new(staging: &[i32], slot: &[i32]) -> Result<Self> {
    let src = scatter::SlotLayout::read(staging).map_err(invalid)?;
    let dst = scatter::SlotLayout::read(slot).map_err(invalid)?;
    Ok(SlotScatter { src, dst })
  }

  /// Staging rows start..start + count -> the open slots of their partitions (part[i] for row
  /// start + i; partition p's rows from slot row base[p] on). slots[p] may be any array for a
  /// partition without rows in the segment.
  #[napi(catch_unwind)]
  pub fn copy_segment(&self, staging: &[u8], mut slots: Vec<Uint8Array>, part: &[u16], start: u32, count: u32, base: &[i32]) -> Result<()> {
    let part = part.get(..count as usize).ok_or_else(|| invalid(format!("copySegment: {count} rows, {} partitions given", part.len())))?;
    // Mutable views only of the slots that get rows: another partition's entry may be a slot a
    // worker is reading now (published), which no &mut may cover.
    let mut gets_rows = vec![false; slots.len()];
    for &p in part {
      if let Some(g) = gets_rows.get_mut(p as usize) {
        *g = true;
      }
    }
    let mut dsts: Vec<&mut [u8]> = slots.iter_mut().zip(gets_rows).map(|(s, g)| if g { s.as_mut() } else { &mut [][..] }).collect();
    scatter::copy_segment(&self.src, &self.dst, staging, &mut dsts, part, start as usize, base).map_err(invalid)
  }
}

/// The dedupe Bloom filter's batch check-and-add for one filter shape (bloom.rs; JS side:
/// GenerationalBloom in src/kernels/bloom.ts). Rotation stays in JS: a call stops at the row that needs one.
#[napi(js_name = "BloomKernel")]
pub struct BloomKernel {
  shape: bloom::BloomShape,
}

#[napi]
impl BloomKernel {
  #[napi(constructor)]
  pub fn new(blocks: u32, generations: u32, probes: u32) -> Self {
    BloomKernel { shape: bloom::BloomShape { blocks: blocks as usize, generations: generations as usize, probes: probes as usize } }
  }

  /// Rows from..to (see bloom::check_and_add): dup[r] = 1 for a duplicate. status[0] = duplicates
  /// found. Returns the first row not processed (to, or a row whose event time needs a rotation).
  #[napi(catch_unwind)]
  pub fn check_and_add(
    &self, words: U32sMut, hashes: &[u32], times_ms: &[f64], from: u32, to: u32, dup: BytesMut, newest_slot: u32,
    no_rotation_before_ms: f64, started: bool, rotated_first: bool, status: I32sMut,
  ) -> Result<u32> {
    if status.is_empty() {
      return Err(invalid("bloom: status array is empty".into()));
    }
    let clock = bloom::BloomClock { newest_slot: newest_slot as usize, no_rotation_before_ms, started, rotated_first };
    let r = bloom::check_and_add(&self.shape, &clock, words, hashes, times_ms, from as usize, to as usize, dup).map_err(invalid)?;
    status[0] = r.duplicates as i32;
    Ok(r.stop_row as u32)
  }
}

/// Slots of the fill-state array of EventKernel.appendRows: lineBytes, keyBytes, rows (in and out),
/// then the stop reason and, for STOP_ROOM, the line and key bytes the next row needs (out).
const EVENT_STATE_INTS: usize = 6;
const STOP_DONE: u32 = 0;
const STOP_ROOM: u32 = 1;
const STOP_ROW_FOR_JS: u32 = 2;

/// The processed-event serializer's batch append for one batch layout and output shape (events.rs;
/// JS twin: EventSerializer.append in src/kernels/events/event-serializer.ts).
#[napi(js_name = "EventKernel")]
pub struct EventKernel {
  plan: events_plan::EventPlan,
}

#[napi]
impl EventKernel {
  /// The static parts of the lines, flattened by src/kernels/events/native-serializer.ts (events.rs
  /// has the format); `enriched_name` is empty without an enriched field.
  #[napi(constructor)]
  pub fn new(layout: &[i32], names: &[u8], name_ends: &[i32], enum_bytes: &[u8], enum_ends: &[i32], enriched_name: &[u8]) -> Result<Self> {
    let plan = events_plan::EventPlan::read(layout, names, name_ends, enum_bytes, enum_ends, enriched_name).map_err(invalid)?;
    Ok(EventKernel { plan })
  }

  /// Appends rows[from..to] of the batch in `slot` to the event arrays, from the fill positions in
  /// `state` (see EVENT_STATE_INTS), and writes the new positions and the stop reason there. Returns
  /// the index of the first row not appended (to when done).
  #[napi(catch_unwind)]
  pub fn append_rows(
    &self, slot: &[u8], value_ids: &[i32], dict_literals: &[u8], dict_ends: &[i32], dict_count: u32, rows: &[i32], from: u32,
    to: u32, lines: BytesMut, line_ends: U32sMut, keys: BytesMut, key_ends: U32sMut, state: U32sMut,
  ) -> Result<u32> {
    if state.len() < EVENT_STATE_INTS {
      return Err(invalid("appendRows: state array too short".into()));
    }
    let rows = rows.get(from as usize..to as usize).ok_or_else(|| invalid(format!("appendRows: rows [{from}, {to}) of {}", rows.len())))?;
    let (line_bytes, key_bytes, written) = (state[0] as usize, state[1] as usize, state[2] as usize);
    if line_bytes > lines.len() || key_bytes > keys.len() || written > line_ends.len() || written > key_ends.len() {
      return Err(invalid("appendRows: fill positions past the event arrays".into()));
    }
    let dict = events::Dictionary { literals: dict_literals, ends: dict_ends, count: dict_count as usize };
    let mut out = events::Output { lines, line_ends, keys, key_ends, line_bytes, key_bytes, rows: written };
    let (done, stop) = events::append_rows(&self.plan, slot, value_ids, &dict, rows, &mut out).map_err(|e| invalid(format!("appendRows: {e}")))?;
    state[0] = out.line_bytes as u32;
    state[1] = out.key_bytes as u32;
    state[2] = out.rows as u32;
    (state[3], state[4], state[5]) = match stop {
      events::Stop::Done => (STOP_DONE, 0, 0),
      events::Stop::Room { line_bytes, key_bytes } => (STOP_ROOM, line_bytes as u32, key_bytes as u32),
      events::Stop::RowForJs => (STOP_ROW_FOR_JS, 0, 0),
    };
    Ok(from + done as u32)
  }
}

/// The 64-bit key hash of bytes[start, end) into out[at] (lo), out[at + 1] (hi): for tests against
/// hash64Into in src/kernels/xxhash32.ts.
#[napi]
pub fn hash64_into(bytes: &[u8], start: u32, end: u32, out: U32sMut, at: u32) -> Result<()> {
  let (start, end, at) = (start as usize, end as usize, at as usize);
  if start > end || end > bytes.len() || at + 2 > out.len() {
    return Err(invalid("hash64Into: range out of bounds".into()));
  }
  let (lo, hi) = hash::hash64(&bytes[start..end]);
  out[at] = lo;
  out[at + 1] = hi;
  Ok(())
}

/// The key hash of rows 0..rows of a string column (hash::hash_column): out[2r], out[2r + 1].
#[napi(catch_unwind)]
pub fn hash_column(values: &[u8], offsets: &[i32], validity: &[u8], out: U32sMut, rows: u32) -> Result<()> {
  hash::hash_column(values, offsets, validity, out, rows as usize).map_err(invalid)
}

/// The plan format this build reads (decode-native-plan.ts writes PLAN_VERSION).
#[napi]
pub fn plan_version() -> i32 {
  plan::PLAN_VERSION
}
