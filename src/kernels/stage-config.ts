/**
 * Config sections of the processing stage (`enrich`, `dedupe`, `aggregate`); pipeline/processor-options.ts
 * compiles them into the options a partition processor runs with.
 *
 * Each section is a strict zod object; `parseSection` turns the first zod issue into a ConfigError
 * naming the full path (e.g. `aggregate.window.sizeMs: ...`).
 */
import { z } from 'zod';
import { HLL_DEFAULT_PRECISION, HLL_MAX_PRECISION, HLL_MIN_PRECISION } from './window/hyperloglog.js';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier');

export const enrichConfigSchema = z
  .object({
    table: z.string().min(1).describe('Path of the CSV dimension table (header row, RFC 4180 quoting). Required, no default.'),
    keyColumn: z.string().min(1).describe('CSV column holding the lookup key. Required, no default.'),
    valueColumn: z.string().min(1).describe('CSV column holding the value to add. Required, no default.'),
    joinOn: identifier.describe('Input string field whose value is looked up. Required, no default.'),
    as: identifier.describe('Name of the enriched field (usable in aggregate.groupBy). Required, no default.'),
    default: z.string().default('unknown').describe('Value for a null key or a key not in the table. Default: "unknown".'),
    reloadIntervalMs: z.number().int().min(10).max(3_600_000).default(1000)
      .describe('How often the table file is checked for changes (mtime, size), 10 to 3600000 ms. Default: 1000.'),
    maxRows: z.number().int().min(1).max(1 << 24).default(65536)
      .describe('Capacity of the shared table in rows (memory: 2 regions x 24 bytes per row), 1 to 16777216. Default: 65536.'),
    maxValues: z.number().int().min(2).max(65536).default(1024)
      .describe('Distinct values (the default included) over the whole run, reloads included, 2 to 65536. Default: 1024.'),
  })
  .strict()
  .describe('Lookup join of an input field against a CSV dimension table held in shared memory.');

export const dedupeConfigSchema = z
  .object({
    keyField: identifier.describe('Input string field identifying an event; the first occurrence wins. Required, no default.'),
    horizonMs: z.number().int().min(1000).max(30 * 86_400_000).default(3_600_000)
      .describe('Event-time span a key is remembered for, at least; 1000 to 2592000000 ms. Default: 3600000.'),
    falsePositiveRate: z.number().gt(0).max(0.5).default(1e-9)
      .describe('Target probability that a new key is taken for a duplicate, (0, 0.5]. Default: 1e-9.'),
    expectedKeysPerHorizon: z.number().int().min(1).max(1e10).default(10_000_000)
      .describe('Distinct keys expected within one horizon over all partitions; sizes the Bloom filters. Default: 10000000.'),
    generations: z.number().int().min(2).max(64).default(2)
      .describe('Bloom generations rotating by event time; each covers horizonMs / (generations - 1). Default: 2.'),
  })
  .strict()
  .describe('Drop events whose key was seen before, with generational Bloom filters per partition.');

const metricSchema = z
  .object({
    name: identifier.describe('Output column name. Required, no default.'),
    op: z.enum(['count', 'sum', 'min', 'max', 'avg', 'distinct']).describe('Aggregate function. Required, no default.'),
    field: identifier.optional().describe('Input field aggregated (all ops but count). Default: none.'),
  })
  .strict();

export const aggregateConfigSchema = z
  .object({
    window: z
      .object({
        type: z.enum(['tumbling', 'hopping']).default('tumbling').describe('Window kind. Default: "tumbling".'),
        sizeMs: z.number().int().min(1).max(30 * 86_400_000).default(60_000)
          .describe('Window length in ms of event time, 1 to 2592000000. Default: 60000.'),
        slideMs: z.number().int().min(1).max(30 * 86_400_000).optional()
          .describe('hopping only: distance between window starts, 1 to sizeMs. Default: sizeMs.'),
      })
      .strict()
      .default({ type: 'tumbling', sizeMs: 60_000 })
      .describe('Event-time windows [start, start + sizeMs), start a multiple of slideMs. Default: tumbling 60 s.'),
    outOfOrdernessMs: z.number().int().min(0).max(86_400_000).default(0)
      .describe('How far events may arrive out of order before a window is first emitted: watermark = min over source partitions of (max event time - this), 0 to 86400000 ms. Default: 0.'),
    allowedLatenessMs: z.number().int().min(0).max(86_400_000).default(0)
      .describe('How long an emitted window stays open for late events: each one within this of the watermark updates its row (a new version, which the sinks keep instead of the old); later ones go to the dead letter as late. 0 keeps no window open. 0 to 86400000 ms. Default: 0.'),
    maxFutureSkewMs: z.number().int().min(1).max(365 * 86_400_000).nullable().default(3_600_000)
      .describe('Skew guard: an event more than this ahead of its source partition\'s latest event (or, from Kafka and HTTP, of the wall clock) is a candidate, accepted only when the events after it agree (jumpConfirmEvents), else dead-lettered as future_ts; null turns the guard off. 1 to 31536000000 ms. Default: 3600000.'),
    jumpConfirmEvents: z.number().int().min(2).max(256).default(16)
      .describe('Events after a skew candidate that decide it: half of them (rounded up) within maxFutureSkewMs of it accept the jump, the rest reject it. 2 to 256. Default: 16.'),
    idleTimeoutMs: z.number().int().min(1).max(86_400_000).default(30_000)
      .describe('A source partition without events for this long (processing time) stops holding the watermark. Default: 30000.'),
    groupBy: z.array(identifier).max(8).default([])
      .describe('Group fields: enum, bool or int32 input fields, or an enriched field. Default: [].'),
    metrics: z.array(metricSchema).min(1).max(32).default([{ name: 'count', op: 'count' }])
      .describe('Output metrics in column order. Default: [{"name":"count","op":"count"}].'),
    maxOpenCells: z.number().int().min(16).max(1 << 22).default(4096)
      .describe('Open (window, group) cells per partition; overflow is an error, never a silent drop. Default: 4096.'),
    hllPrecision: z.number().int().min(HLL_MIN_PRECISION).max(HLL_MAX_PRECISION).default(HLL_DEFAULT_PRECISION)
      .describe('HyperLogLog precision p for distinct: 2^p registers, standard error 1.04/sqrt(2^p). Default: 12.'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.window.type === 'hopping' && cfg.window.slideMs !== undefined && cfg.window.slideMs > cfg.window.sizeMs) {
      ctx.addIssue({ code: 'custom', path: ['window', 'slideMs'], message: `must be from 1 to sizeMs (${cfg.window.sizeMs})` });
    }
    if (cfg.window.type === 'tumbling' && cfg.window.slideMs !== undefined && cfg.window.slideMs !== cfg.window.sizeMs) {
      ctx.addIssue({ code: 'custom', path: ['window', 'slideMs'], message: 'tumbling windows slide by sizeMs; omit slideMs' });
    }
    const names = new Set<string>();
    cfg.metrics.forEach((m, i) => {
      if (names.has(m.name) || cfg.groupBy.includes(m.name) || m.name === 'window_start' || m.name === 'window_end') {
        ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `duplicate output column "${m.name}"` });
      }
      names.add(m.name);
      if (m.op !== 'count' && m.field === undefined) {
        ctx.addIssue({ code: 'custom', path: ['metrics', i, 'field'], message: `op "${m.op}" needs a field` });
      }
    });
  })
  .describe('Event-time windowed aggregates with watermarks and allowed lateness.');

export type EnrichConfig = z.output<typeof enrichConfigSchema>;
export type DedupeConfig = z.output<typeof dedupeConfigSchema>;
export type AggregateConfig = z.output<typeof aggregateConfigSchema>;

/** Validate one section; throws ConfigError with the full dotted path of the first problem. */
export { parseConfigSection as parseSection } from '../config-error.js';

