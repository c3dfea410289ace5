/**
 * Messages between the main thread and the sink thread. Deliveries are numbered by the main thread
 * (1, 2, 3, ...); the sink thread answers each with exactly one `ack` or `failed`.
 */
import type { SinkCounters } from '../sink.js';
import type { SinksConfig } from '../sink-config.js';
import type { PartialsSinkOptions } from '../kafka/partials-sink.js';
import type { LogFormat } from '../../logging.js';
import type { EventBatch, WindowRow, WindowShape } from '../../contracts/index.js';

export interface SinkThreadData {
  config: SinksConfig;
  shape: WindowShape;
  logLevel: string;
  logFormat: LogFormat;
  /** Redacted from every log line of the sink thread (src/logging.ts). */
  secrets: string[];
  /** Scale-out: where the first stage's partials go; null when not scaled out. */
  partials: PartialsSinkOptions | null;
}

export type ToSinkThread =
  | { t: 'windows'; id: number; rows: WindowRow[] }
  | { t: 'events'; id: number; batch: EventBatch }
  | { t: 'partials'; id: number; batch: EventBatch }
  | { t: 'flush'; id: number }
  | { t: 'counters'; id: number }
  | { t: 'close' };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

export type FromSinkThread =
  | { t: 'ready' }
  | { t: 'startFailed'; error: SerializedError }
  | { t: 'ack'; id: number }
  | { t: 'failed'; id: number; error: SerializedError }
  | { t: 'flushed'; id: number; error?: SerializedError }
  | { t: 'counters'; id: number; counters: Record<string, SinkCounters>; deadLetterRecords: number }
  /**
   * `rows` rows of `sink` went to the dead letter (`code`, `message`: the last error). Posted before the
   * ack of the delivery they belong to, so an owner that stops committing on it never commits past them.
   */
  | { t: 'deadLettered'; sink: string; rows: number; code: string; message: string }
  | { t: 'closed'; error?: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, code: typeof code === 'string' ? code : undefined };
  }
  return { name: 'Error', message: String(err) };
}
