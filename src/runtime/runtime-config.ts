/**
 * The `runtime` section of the ringflow config: threads, partitions, ring slots, batch rows.
 * Memory for rings is bounded by partitions x ringSlots x slotBytes(batchRows, schema).
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseConfigSection } from '../config-error.js';

function intInRange(min: number, max: number, pow2 = false) {
  const expected = `must be ${pow2 ? 'a power of two' : 'an integer'} from ${min} to ${max}`;
  return z
    .number({ error: (iss) => `${expected}, got ${JSON.stringify(iss.input)}` })
    .superRefine((v, ctx) => {
      if (!Number.isInteger(v) || v < min || v > max || (pow2 && (v & (v - 1)) !== 0)) {
        ctx.addIssue({ code: 'custom', message: `${expected}, got ${v}` });
      }
    });
}

/**
 * Defaults from the threads x partitions x ringSlots runs (ARCHITECTURE.md, "Measurements: runtime
 * defaults"): the main thread decodes and scatters every event, so it gets a core of its own and the
 * kernels the rest. With several workers, two partitions per worker beat more, and 16 ring slots beat 8
 * (more batches in flight between the main thread and the workers before either waits). A single
 * worker gets a single partition: the decoder then writes straight into the ring slots, with no
 * scatter copy (pipeline/pipeline.ts, directSlots).
 */
const DEFAULT_THREADS = Math.max(1, Math.min(256, availableParallelism() - 1));
const PARTITIONS_PER_THREAD = 2;
/**
 * Ring memory is partitions x ringSlots x slotBytes, allocated at start (~590 KB slots for the
 * canonical schema): beyond 8 threads the default stays at one partition per thread.
 */
const MAX_DEFAULT_PARTITIONS = 16;
const DEFAULT_RING_SLOTS = 16;

const defaultPartitions = (threads: number): number =>
  threads === 1 ? 1 : Math.max(threads, Math.min(MAX_DEFAULT_PARTITIONS, PARTITIONS_PER_THREAD * threads));

export const runtimeConfigSchema = z
  .preprocess(
    // partitions default to 1 for one thread, else PARTITIONS_PER_THREAD per thread (of the threads set
    // or defaulted), at most MAX_DEFAULT_PARTITIONS unless threads alone needs more.
    (raw) => {
      if (raw === undefined) raw = {};
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
      const o = raw as Record<string, unknown>;
      if (o.partitions !== undefined) return o;
      // An invalid `threads` is reported as itself; the partitions default then follows the default threads.
      const threads = typeof o.threads === 'number' && Number.isInteger(o.threads) && o.threads >= 1 && o.threads <= 256 ? o.threads : DEFAULT_THREADS;
      return { ...o, partitions: defaultPartitions(threads) };
    },
    z
      .object({
        threads: intInRange(1, 256)
          .default(DEFAULT_THREADS)
          .describe('Worker threads running kernels, 1 to 256. Default: os.availableParallelism() - 1 (at least 1): the main thread ingests on the remaining core.'),
        partitions: intInRange(1, 4096)
          .default(defaultPartitions(DEFAULT_THREADS))
          .describe('Key-hash partitions (one ring each), 1 to 4096, at least `threads`. Default: 1 with one thread (rows are then decoded straight into the ring slots), else 2 per thread, at most 16 unless threads is larger.'),
        ringSlots: intInRange(2, 1024, true)
          .default(DEFAULT_RING_SLOTS)
          .describe('Batch slots per partition ring, a power of two from 2 to 1024. Default: 16.'),
        batchRows: intInRange(1, 1 << 20)
          .default(4096)
          .describe('Rows per batch slot, 1 to 1048576. Default: 4096.'),
      })
      .strict()
      .superRefine((c, ctx) => {
        if (c.partitions < c.threads) {
          ctx.addIssue({
            code: 'custom',
            path: ['partitions'],
            message: `must be at least threads (${c.threads}) so every thread has a partition to run, got ${c.partitions}`,
          });
        }
      }),
  )
  .describe('Shared-memory runtime: worker threads, partition rings and batch sizes.');

export type RuntimeConfig = z.output<typeof runtimeConfigSchema>;

export function parseRuntimeConfig(input: unknown, basePath = 'runtime'): RuntimeConfig {
  return parseConfigSection(runtimeConfigSchema, input, basePath);
}
