//! Fixed byte strings compared in place, eight bytes at a time: a declared key with its closing
//! quote (`user_id"`), or an enum value with its closing quote (`click"`). Names and values are a few
//! bytes long, where a memcmp call costs more than the compare; the masked words below need no call.
//!
//!   bytes  u s e r _ i d "
//!   word   [      w0     ]      mask ff x8        (a 12-byte text: w0 full, w1 masked to 4 bytes)

pub struct Matcher {
  bytes: Vec<u8>,
  words: Vec<u64>,
  masks: Vec<u64>,
  /// The first two words and masks inline (zero past the text): texts of up to 16 bytes, which is
  /// nearly every key and enum value, compare without touching the vectors.
  head: [u64; 2],
  head_masks: [u64; 2],
}

impl Matcher {
  pub fn new(bytes: Vec<u8>) -> Matcher {
    let mut words = Vec::new();
    let mut masks = Vec::new();
    for chunk in bytes.chunks(8) {
      let mut w = [0u8; 8];
      let mut m = [0u8; 8];
      w[..chunk.len()].copy_from_slice(chunk);
      m[..chunk.len()].fill(0xff);
      words.push(u64::from_le_bytes(w));
      masks.push(u64::from_le_bytes(m));
    }
    let head = [words[0], words.get(1).copied().unwrap_or(0)];
    let head_masks = [masks[0], masks.get(1).copied().unwrap_or(0)];
    Matcher { bytes, words, masks, head, head_masks }
  }

  #[inline(always)]
  pub fn len(&self) -> usize {
    self.bytes.len()
  }

  /// True when b[p..] starts with the matcher's bytes.
  #[inline(always)]
  pub fn matches(&self, b: &[u8], p: usize) -> bool {
    if self.bytes.len() <= 16 {
      if let Some(w) = b.get(p..p + 16) {
        let x0 = u64::from_le_bytes(w[..8].try_into().unwrap());
        let x1 = u64::from_le_bytes(w[8..].try_into().unwrap());
        // Both words at once, no early exit: one predictable branch for the caller.
        return ((x0 & self.head_masks[0]) ^ self.head[0]) | ((x1 & self.head_masks[1]) ^ self.head[1]) == 0;
      }
    }
    if p + 8 * self.words.len() <= b.len() {
      let mut q = p;
      for (w, m) in self.words.iter().zip(self.masks.iter()) {
        let x = u64::from_le_bytes(b[q..q + 8].try_into().unwrap());
        if (x & m) != *w {
          return false;
        }
        q += 8;
      }
      return true;
    }
    // Near the end of the block: byte by byte.
    b.len() >= p + self.bytes.len() && self.bytes.iter().enumerate().all(|(k, &c)| b[p + k] == c)
  }

  /// matches(b, p) when x0, x1 are the two words at b[p..p + 16] (loaded once for many matchers).
  #[inline(always)]
  pub fn matches_at(&self, x0: u64, x1: u64, b: &[u8], p: usize) -> bool {
    if self.bytes.len() <= 16 {
      return ((x0 & self.head_masks[0]) ^ self.head[0]) | ((x1 & self.head_masks[1]) ^ self.head[1]) == 0;
    }
    self.matches(b, p)
  }

  /// True when `s` equals the matcher's bytes without their last one (the closing quote).
  #[inline(always)]
  pub fn equals_unquoted(&self, s: &[u8]) -> bool {
    let n = self.bytes.len() - 1;
    s.len() == n && s.iter().zip(self.bytes.iter()).all(|(a, b)| a == b)
  }
}
