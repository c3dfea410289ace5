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

const DEFAULT_THREADS = Math.min(256, availableParallelism());
const DEFAULT_PARTITIONS = 8;

export const runtimeConfigSchema = z
  .preprocess(
    // partitions must be >= threads; on a machine with more than 8 cores the default follows threads.
    (raw) => {
      if (raw === undefined) raw = {};
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
      const o = raw as Record<string, unknown>;
      if (o.partitions !== undefined) return o;
      const threads = typeof o.threads === 'number' ? o.threads : DEFAULT_THREADS;
      return { ...o, partitions: Math.max(DEFAULT_PARTITIONS, threads) };
    },
    z
      .object({
        threads: intInRange(1, 256)
          .default(DEFAULT_THREADS)
          .describe('Worker threads running kernels, 1 to 256. Default: os.availableParallelism().'),
        partitions: intInRange(1, 4096)
          .default(DEFAULT_PARTITIONS)
          .describe('Key-hash partitions (one ring each), 1 to 4096, at least `threads`. Default: 8 (or threads if larger).'),
        ringSlots: intInRange(2, 1024, true)
          .default(8)
          .describe('Batch slots per partition ring, a power of two from 2 to 1024. Default: 8.'),
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
