/**
 * Exponential backoff with full jitter, bounded by a retry budget (attempts and total time).
 *
 * Full jitter (delay = random(0, min(cap, base * 2^attempt))) spreads retries of many writers that
 * failed together, so a restarted server is not hit by a synchronized wave (AWS architecture blog,
 * "Exponential Backoff And Jitter"). Whether an error is worth retrying is decided by a per-sink
 * classifier, never by this loop.
 */
import { z } from 'zod';

export const retryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(1000).default(30)
      .describe('Attempts per batch, the first included, before it goes to the dead letter (1-1000). Default: 30.'),
    initialBackoffMs: z.number().int().min(1).max(60_000).default(100)
      .describe('Upper bound of the first backoff delay in ms; doubles per attempt (1-60000). Default: 100.'),
    maxBackoffMs: z.number().int().min(1).max(600_000).default(5_000)
      .describe('Cap on one backoff delay in ms (1-600000). Default: 5000.'),
    maxElapsedMs: z.number().int().min(0).max(86_400_000).default(120_000)
      .describe('Total time budget per batch in ms, retries included; 0 = attempts only (0-86400000). Default: 120000.'),
  })
  .strict()
  .describe('Retry budget of one sink: exponential backoff with full jitter.');

export type RetryPolicy = z.infer<typeof retryPolicySchema>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = retryPolicySchema.parse({});

/** How a sink judges one failure. `fix` runs before the next attempt (e.g. create a missing table). */
export interface ErrorVerdict {
  retriable: boolean;
  /** Stable short code for dead letters and logs, e.g. `clickhouse:60`, `ECONNREFUSED`. */
  code: string;
  message: string;
  /** The error concerns individual rows (parse/type errors): splitting the batch can save the good rows. */
  rowLevel?: boolean;
  fix?: () => Promise<void>;
}

export type ErrorClassifier = (err: unknown) => ErrorVerdict;

/** Backoff before retry number `attempt` (1 = first retry), with full jitter; `random` in [0, 1). */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * exp);
}

export interface RetryOutcome {
  ok: boolean;
  attempts: number;
  /** Set when ok is false: the last failure. */
  verdict?: ErrorVerdict;
}

export interface RetryHooks {
  onRetry?: (verdict: ErrorVerdict, attempt: number, delayMs: number) => void;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `op` until it succeeds, fails with a non-retriable error, or the budget is spent.
 * Never throws for a failure of `op`: the caller decides what to do with the verdict (dead letter).
 */
export async function runWithRetry(
  op: () => Promise<void>,
  policy: RetryPolicy,
  classify: ErrorClassifier,
  hooks: RetryHooks = {},
): Promise<RetryOutcome> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? defaultSleep;
  const startedMs = now();
  for (let attempt = 1; ; attempt++) {
    try {
      await op();
      return { ok: true, attempts: attempt };
    } catch (err) {
      const verdict = classify(err);
      if (!verdict.retriable || attempt >= policy.maxAttempts) {
        return { ok: false, attempts: attempt, verdict };
      }
      const delayMs = backoffDelayMs(policy, attempt, hooks.random);
      if (policy.maxElapsedMs > 0 && now() - startedMs + delayMs > policy.maxElapsedMs) {
        return { ok: false, attempts: attempt, verdict };
      }
      hooks.onRetry?.(verdict, attempt, delayMs);
      if (verdict.fix) {
        try {
          await verdict.fix();
        } catch {
          // The next attempt reports what is still wrong; a failing fix is not a verdict of its own.
        }
      }
      await sleep(delayMs);
    }
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

/** A transport failure (refused, reset, timed out): the request may not have reached the server. */
export function networkErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string') {
      if (/^timeout error/i.test(message)) return 'ETIMEDOUT';
      if (/^socket hang up/i.test(message)) return 'ECONNRESET';
    }
    e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return undefined;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
