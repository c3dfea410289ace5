//! What the line decoder makes of a line (line.rs), and the verdict of a rejected one: RowFilter.check's
//! (src/kernels/filter.ts) reason id, field * RULES + rule, so the JS side names it with the same
//! reason string (filter.ts reasonCodes).

/// Rule slots per field and the rules, as in src/kernels/filter.ts (verdict = field * RULES + rule).
pub const RULES: u32 = 8;
pub const R_MISSING: u32 = 0;
pub const R_BAD_TYPE: u32 = 1;
pub const R_NOT_INTEGER: u32 = 2;
pub const R_OUT_OF_RANGE: u32 = 3;
pub const R_BAD_ENUM: u32 = 4;
pub const R_TOO_SHORT: u32 = 5;
pub const R_TOO_LONG: u32 = 6;
pub const R_BAD_PATTERN: u32 = 7;

/// What decode_line made of a line.
pub enum Line {
  /// Row written; the index of the line's '\n'.
  Accepted(usize),
  /// Rejected with the verdict (field * RULES + rule); the index of the line's '\n'.
  Rejected(usize, u32),
  /// Not sure: the JS decoder decides the line.
  Declined,
}

/// A declared value: its end, or the rule it breaks and its end (value() gives None to decline).
pub enum Value {
  Ok(usize),
  Fails(u32, usize),
}

/// The first failure in declared field order (field usize::MAX: none yet).
pub struct FirstFailure {
  pub field: usize,
  pub rule: u32,
}

impl FirstFailure {
  #[inline(always)]
  pub fn note(&mut self, field: usize, rule: u32) {
    if field < self.field {
      self.field = field;
      self.rule = rule;
    }
  }
}

