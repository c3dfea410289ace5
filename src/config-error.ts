/**
 * Turns zod validation issues into one ConfigError that names the full path of the first bad setting
 * (`sinks.clickhouse.retry.maxAttempts`, `source.kafka.brokers[0]`) and what is allowed; the other
 * issues travel in `details.issues`. Every config section parses through here, so all config errors
 * read the same.
 */
import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** `a.b[0].c` from a base path and a zod issue path. */
export function formatConfigPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? String(seg) : `.${String(seg)}`;
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, basePath: string): { path: string; message: string } {
  if (issue.code === 'unrecognized_keys') {
    return { path: formatConfigPath(basePath, [...issue.path, issue.keys[0]]), message: 'unknown setting' };
  }
  return { path: formatConfigPath(basePath, issue.path), message: issue.message };
}

export function configErrorFromZod(error: z.ZodError, basePath: string): ConfigError {
  const all = error.issues.map((i) => describeIssue(i, basePath));
  const first = all[0];
  return new ConfigError(first.path, first.message, {
    cause: error,
    details: { issues: all.map((i) => `${i.path}: ${i.message}`) },
  });
}

/** Validate `raw` against `schema`; throws the ConfigError above. */
export function parseConfigSection<S extends z.ZodType>(schema: S, raw: unknown, basePath: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw configErrorFromZod(r.error, basePath);
  return r.data;
}
