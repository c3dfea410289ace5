/**
 * murmur3's finalizer: every output bit depends on every input bit. The partitioner maps a key hash to
 * a partition with it; the Bloom filter and the HyperLogLog inputs mix with it too (kernels/).
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
