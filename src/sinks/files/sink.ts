/**
 * Local-file sinks for the embedded default (no external service): window rows to windows.ndjson,
 * alerts to alerts.ndjson, and optionally processed events to events.ndjson, in one directory.
 * Appends are fdatasync'ed per batch so an acknowledged row survives a crash. Files are append-only:
 * a replayed window appears again (the last line for a window and group is the current one).
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import { BufferedSink, type SinkDriver, type SinkEvents } from '../buffered-sink.js';
import { rowFragment, type DeadLetterFile } from '../dead-letter-file.js';
import { eventDeadLetterFragments } from '../event-batch.js';
import { DEFAULT_RETRY_POLICY, errorMessage, type ErrorVerdict } from '../retry.js';
import type { Sink } from '../sink.js';
import type { EventBatch, WindowRow } from '../../contracts/index.js';

export const filesSinkConfigSchema = z
  .object({
    dir: z.string().min(1).default('./ringflow-out')
      .describe('Directory of windows.ndjson, alerts.ndjson (and events.ndjson). Default: ./ringflow-out.'),
    events: z.boolean().default(false).describe('Also write processed events to events.ndjson. Default: false.'),
    maxRows: z.number().int().min(1).max(1_000_000).default(10_000)
      .describe('Rows per append (1-1000000). Default: 10000.'),
    maxDelayMs: z.number().int().min(1).max(600_000).default(200)
      .describe('Longest a row waits before it is appended, in ms (1-600000). Default: 200.'),
  })
  .strict()
  .describe('Local NDJSON files (the embedded default needs no external service).');

export type FilesSinkConfig = z.infer<typeof filesSinkConfigSchema>;

const TRANSIENT_FS = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOSPC', 'EIO', 'EINTR']);

function classifyFsError(err: unknown): ErrorVerdict {
  const code = (err as { code?: unknown } | null)?.code;
  const name = typeof code === 'string' ? code : 'fs';
  return { retriable: TRANSIENT_FS.has(name), code: `file:${name}`, message: errorMessage(err) };
}

abstract class AppendDriver<T> implements SinkDriver<T> {
  private handle: FileHandle | undefined;
  constructor(readonly name: string, private readonly path: string) {}

  abstract rowsOf(item: T): number;
  abstract render(items: readonly T[]): Buffer | string;
  abstract deadLetterFragments(item: T): string[];

  async writeBatch(items: readonly T[]): Promise<number> {
    if (!this.handle) {
      await mkdir(dirname(this.path), { recursive: true });
      this.handle = await open(this.path, 'a');
    }
    const data = this.render(items);
    await this.handle.appendFile(data);
    await this.handle.datasync();
    return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  }

  classify = classifyFsError;

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await handle.close();
  }
}

class JsonLinesDriver<T> extends AppendDriver<T> {
  rowsOf(): number {
    return 1;
  }
  render(items: readonly T[]): string {
    let out = '';
    for (const item of items) out += `${JSON.stringify(item)}\n`;
    return out;
  }
  deadLetterFragments(item: T): string[] {
    return [rowFragment(item)];
  }
}

class EventLinesFileDriver extends AppendDriver<EventBatch> {
  rowsOf(batch: EventBatch): number {
    return batch.rowCount;
  }
  /** The NDJSON bytes as they came: no parse, no re-encode. */
  render(batches: readonly EventBatch[]): Buffer {
    return Buffer.concat(batches.map((b) => Buffer.from(b.lines.buffer, b.lines.byteOffset, b.lines.byteLength)));
  }
  deadLetterFragments(batch: EventBatch): string[] {
    return eventDeadLetterFragments(batch);
  }
}

export interface FileSinks {
  windows: Sink<WindowRow>;
  alerts: Sink<Alert>;
  events: Sink<EventBatch> | undefined;
  close(): Promise<void>;
}

export function createFileSinks(config: FilesSinkConfig, deadLetter: DeadLetterFile, events: SinkEvents = {}): FileSinks {
  const batching = {
    maxRows: config.maxRows,
    maxDelayMs: config.maxDelayMs,
    maxBufferedRows: config.maxRows * 10,
    retry: DEFAULT_RETRY_POLICY,
  };
  const windows = new BufferedSink(new JsonLinesDriver<WindowRow>('files.windows', join(config.dir, 'windows.ndjson')), batching, deadLetter, events);
  const alerts = new BufferedSink(new JsonLinesDriver<Alert>('files.alerts', join(config.dir, 'alerts.ndjson')), batching, deadLetter, events);
  const eventSink = config.events
    ? new BufferedSink(new EventLinesFileDriver('files.events', join(config.dir, 'events.ndjson')), batching, deadLetter, events)
    : undefined;
  return {
    windows,
    alerts,
    events: eventSink,
    async close() {
      await Promise.all([windows.close(), alerts.close(), eventSink?.close()]);
    },
  };
}
