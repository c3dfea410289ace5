//! The project's 64-bit key hash, bit for bit the same as `hash64Into` in src/kernels/xxhash32.ts:
//!   lo = XXH32(bytes, seed 0)
//!   hi = MurmurHash3_x86_32(bytes, seed HI_SEED)
//! Both consume the same little-endian words in the same order, so each word is read once.
//! (Why two different functions and not XXH32 twice: see the comment on hash64Into.)

const P1: u32 = 0x9e37_79b1;
const P2: u32 = 0x85eb_ca77;
const P3: u32 = 0xc2b2_ae3d;
const P4: u32 = 0x27d4_eb2f;
const P5: u32 = 0x1656_67b1;
const M1: u32 = 0xcc9e_2d51;
const M2: u32 = 0x1b87_3593;
/** HASH64_HI_SEED in xxhash32.ts. */
const HI_SEED: u32 = 0x9e37_79b1;

#[inline(always)]
fn word(b: &[u8], p: usize) -> u32 {
  u32::from_le_bytes(b[p..p + 4].try_into().unwrap())
}

#[inline(always)]
fn xxh_round(v: u32, w: u32) -> u32 {
  v.wrapping_add(w.wrapping_mul(P2)).rotate_left(13).wrapping_mul(P1)
}

#[inline(always)]
fn murmur_block(m: u32, w: u32) -> u32 {
  let k = w.wrapping_mul(M1).rotate_left(15).wrapping_mul(M2);
  (m ^ k).rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

/// (lo, hi) of the key hash of `b`.
pub fn hash64(b: &[u8]) -> (u32, u32) {
  let len = b.len();
  let mut p = 0usize;
  let mut m = HI_SEED;
  let mut h: u32;
  if len >= 16 {
    let mut v1 = P1.wrapping_add(P2);
    let mut v2 = P2;
    let mut v3 = 0u32;
    let mut v4 = 0u32.wrapping_sub(P1);
    while p + 16 <= len {
      let (w0, w1, w2, w3) = (word(b, p), word(b, p + 4), word(b, p + 8), word(b, p + 12));
      v1 = xxh_round(v1, w0);
      v2 = xxh_round(v2, w1);
      v3 = xxh_round(v3, w2);
      v4 = xxh_round(v4, w3);
      m = murmur_block(m, w0);
      m = murmur_block(m, w1);
      m = murmur_block(m, w2);
      m = murmur_block(m, w3);
      p += 16;
    }
    h = v1
      .rotate_left(1)
      .wrapping_add(v2.rotate_left(7))
      .wrapping_add(v3.rotate_left(12))
      .wrapping_add(v4.rotate_left(18));
  } else {
    h = P5;
  }
  h = h.wrapping_add(len as u32);
  while p + 4 <= len {
    let w = word(b, p);
    h = h.wrapping_add(w.wrapping_mul(P3)).rotate_left(17).wrapping_mul(P4);
    m = murmur_block(m, w);
    p += 4;
  }
  let tail = &b[p..];
  if !tail.is_empty() {
    // murmur3 folds the 1-3 tail bytes into one block; XXH32 takes them one by one (unrolled: the
    // tail length varies from key to key, a loop exit would be mispredicted).
    let byte = |h: u32, c: u8| h.wrapping_add((c as u32).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    let mut k = tail[0] as u32;
    h = byte(h, tail[0]);
    if tail.len() > 1 {
      k |= (tail[1] as u32) << 8;
      h = byte(h, tail[1]);
      if tail.len() > 2 {
        k |= (tail[2] as u32) << 16;
        h = byte(h, tail[2]);
      }
    }
    m ^= k.wrapping_mul(M1).rotate_left(15).wrapping_mul(M2);
  }
  h ^= h >> 15;
  h = h.wrapping_mul(P2);
  h ^= h >> 13;
  h = h.wrapping_mul(P3);
  h ^= h >> 16;
  m ^= len as u32;
  m ^= m >> 16;
  m = m.wrapping_mul(0x85eb_ca6b);
  m ^= m >> 13;
  m = m.wrapping_mul(0xc2b2_ae35);
  m ^= m >> 16;
  (h, m)
}

/// The key hash of every row of a string column into out (lo, hi per row): hash64 of the row's bytes
/// when its validity bit is set, (0, 0) when null, as the decoders write them. For hashes deferred
/// from the decoding thread to the worker (src/kernels/key-hashes.ts).
pub fn hash_column(values: &[u8], offsets: &[i32], validity: &[u8], out: &mut [u32], rows: usize) -> Result<(), String> {
  if offsets.len() < rows + 1 || validity.len() < rows.div_ceil(8) || out.len() < 2 * rows {
    return Err(format!("hashColumn: {rows} rows do not fit the column arrays"));
  }
  for r in 0..rows {
    let (lo, hi) = if validity[r >> 3] & (1 << (r & 7)) != 0 {
      let (a, b) = (offsets[r], offsets[r + 1]);
      if a < 0 || b < a || b as usize > values.len() {
        return Err(format!("hashColumn: row {r} spans [{a}, {b}) outside {} bytes", values.len()));
      }
      hash64(&values[a as usize..b as usize])
    } else {
      (0, 0)
    };
    out[2 * r] = lo;
    out[2 * r + 1] = hi;
  }
  Ok(())
}
