/** Config section `sinks.redis`. */
import { z } from 'zod';
import { retryPolicySchema } from '../retry.js';

const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a field name: letters, digits, _');

export const leaderboardSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
      .describe('Names the sorted set: <keyPrefix>:top:<name>:<window_start>. Required.'),
    metric: fieldName.describe('Metric used as the score. Required.'),
    memberFields: z.array(fieldName).optional()
      .describe('Group fields that form the member (joined by "|"); fields not listed must be fixed by `where`. Default: all group fields.'),
    where: z.record(fieldName, z.string()).default({})
      .describe('Only rows whose group fields equal these values, e.g. {type: "purchase"}. Default: {}.'),
  })
  .strict();

export const redisSinkConfigSchema = z
  .object({
    url: z.string().default('redis://127.0.0.1:6379').describe('Redis URL. Default: redis://127.0.0.1:6379.'),
    keyPrefix: z.string().min(1).max(200).regex(/^[^\s]+$/, 'no whitespace').default('ringflow')
      .describe('Prefix of every key written. Default: ringflow.'),
    windowTtlSeconds: z.number().int().min(0).max(31_536_000).default(86_400)
      .describe('TTL of per-window hashes and leaderboards in s; 0 = keep forever (0-31536000). Default: 86400.'),
    latestTtlSeconds: z.number().int().min(1).max(31_536_000).default(3_600)
      .describe('TTL of the latest-window key per group in s (1-31536000). Default: 3600.'),
    leaderboards: z.array(leaderboardSchema).default([{ name: 'count', metric: 'count', where: {} }])
      .describe('Sorted sets per window (member = group, score = metric). Default: [{name: count, metric: count}].'),
    maxRows: z.number().int().min(1).max(1_000_000).default(5_000)
      .describe('Window rows per MULTI/EXEC (1-1000000). Default: 5000.'),
    maxDelayMs: z.number().int().min(1).max(600_000).default(200)
      .describe('Longest a row waits before its batch is sent, in ms (1-600000). Default: 200.'),
    maxBufferedRows: z.number().int().min(1).max(10_000_000).default(100_000)
      .describe('Rows buffered or in flight before writers wait (1-10000000). Default: 100000.'),
    commandTimeoutMs: z.number().int().min(100).max(600_000).default(10_000)
      .describe('Timeout of one MULTI/EXEC in ms (100-600000). Default: 10000.'),
    retry: retryPolicySchema.default(retryPolicySchema.parse({})),
  })
  .strict()
  .describe('Redis sink: window hashes, leaderboards and latest-window keys, idempotent.');

export type RedisSinkConfig = z.infer<typeof redisSinkConfigSchema>;
export type LeaderboardConfig = z.infer<typeof leaderboardSchema>;
