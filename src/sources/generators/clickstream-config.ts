/**
 * Options of the clickstream event generator (clickstream-events.ts), as a zod schema so that the
 * daemon's config can embed it and bad values are reported with their path and allowed range.
 */
import { z } from 'zod';

/** Lowest allowed start: late events reach 10 minutes back and must stay above ts 2000-01-01. */
const MIN_START_TS_MS = 946684800000 + 86_400_000;
/** Highest allowed start: leaves 10 years of event time before the canonical 2100-01-01 limit. */
const MAX_START_TS_MS = 4102444800000 - 10 * 365 * 86_400_000;
const rate = (what: string, dflt: number) =>
  z.number().min(0).max(1).describe(`${what}, a fraction of events in [0, 1]. Default: ${dflt}.`).default(dflt);

export const clickstreamGeneratorConfigSchema = z
  .object({
    seed: z.number().int().min(0).max(0xffffffff)
      .describe('PRNG seed; the same seed and options give the same bytes. Default: 1.').default(1),
    startTsMs: z.number().int().min(MIN_START_TS_MS).max(MAX_START_TS_MS)
      .describe('Event time of the first event, epoch ms. Default: 1767225600000 (2026-01-01T00:00:00Z).')
      .default(1767225600000),
    eventsPerSecond: z.number().positive().max(1e9)
      .describe('Events per second of event time (how fast ts advances, not a send rate). Default: 5000.')
      .default(5000),
    maxJitterMs: z.number().int().min(0).max(5000)
      .describe('Largest backwards jitter of ts, ms; at most the canonical 5 s lateness so it is never late. Default: 3000.')
      .default(3000),
    jitterFraction: rate('Share of events whose ts is jittered back', 0.3),
    userCardinality: z.number().int().min(1).max(1e9)
      .describe('Number of distinct user ids to draw from. Default: 100000.').default(100000),
    userSkewExponent: z.number().min(1).max(16)
      .describe('user index = floor(cardinality * U^exponent); 1 = uniform, larger = more skewed. Default: 2.')
      .default(2),
    invalidRate: rate('Invalid lines (every reject reason)', 0.02),
    duplicateRate: rate('Re-emitted event ids (half with other fields changed)', 0.05),
    lateRate: rate('Events 2-10 minutes behind, late for the canonical watermark', 0),
    variantRate: rate('Valid events in unusual legal JSON (escapes, exponents, extra fields, CRLF)', 0.01),
    blankLineRate: rate('Whitespace-only lines per event (extra lines, not events)', 0.001),
    dedupeHorizonMs: z.number().int().min(60_000).max(7 * 86_400_000)
      .describe('Dedupe horizon of the pipeline; duplicates repeat ids at most half of it back. Default: 3600000.')
      .default(3_600_000),
  })
  .strict()
  .refine((c) => c.invalidRate + c.duplicateRate + c.lateRate <= 1, {
    message: 'invalidRate + duplicateRate + lateRate must be at most 1',
    path: ['invalidRate'],
  });

export type ClickstreamGeneratorConfig = z.output<typeof clickstreamGeneratorConfigSchema>;
export type ClickstreamGeneratorOptions = z.input<typeof clickstreamGeneratorConfigSchema>;
