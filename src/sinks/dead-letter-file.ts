/**
 * The dead-letter file of the sinks: one NDJSON record per row that could not be stored, with the
 * sink, the error code and message, the attempts made, and the row itself:
 *
 *   {"atMs":1764100000000,"sink":"clickhouse.windows","code":"clickhouse:27","retriable":false,
 *    "attempts":1,"message":"Code: 27, ...","row":{...}}            <- window rows and alerts
 *   {...,"sink":"kafka.events","code":"ECONNREFUSED",...,"line":"{\"event_id\":...}","key":"u1"}  <- events
 *
 * Records are appended and fdatasync'ed before the write resolves, because the caller acknowledges
 * the rows (and the source commits offsets) on the strength of this file: a dead letter that a crash
 * can lose would be a silent drop.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ErrorVerdict } from './retry.js';

export interface DeadLetterEntry {
  sink: string;
  verdict: ErrorVerdict;
  attempts: number;
  /** Each fragment is a complete JSON member list tail, e.g. `"row":{...}` or `"line":"...","key":"..."`. */
  payloadFragments: readonly string[];
}

export class DeadLetterFile {
  private handle: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  private tail: Promise<void> = Promise.resolve();
  private recordCount = 0;

  constructor(readonly path: string) {}

  /** Records written by this process. */
  get records(): number {
    return this.recordCount;
  }

  /** Appends one record per payload fragment; resolves when they are on disk. Writes are serialized. */
  append(entry: DeadLetterEntry): Promise<void> {
    const head =
      `{"atMs":${Date.now()},"sink":${JSON.stringify(entry.sink)},"code":${JSON.stringify(entry.verdict.code)},` +
      `"retriable":${entry.verdict.retriable},"attempts":${entry.attempts},"message":${JSON.stringify(entry.verdict.message)},`;
    let text = '';
    for (const fragment of entry.payloadFragments) text += `${head}${fragment}}\n`;
    const next = this.tail.then(async () => {
      const handle = await this.open();
      await handle.appendFile(text);
      await handle.datasync();
      this.recordCount += entry.payloadFragments.length;
    });
    // Keep the chain alive after a failure so later appends still run (and fail on their own).
    this.tail = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.tail;
    const handle = this.handle;
    this.handle = undefined;
    this.opening = undefined;
    if (handle) await handle.close();
  }

  private open(): Promise<FileHandle> {
    if (this.handle) return Promise.resolve(this.handle);
    this.opening ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      this.handle = await open(this.path, 'a');
      return this.handle;
    })();
    return this.opening;
  }
}

/** `"row":{...}` for a JSON-serializable row. */
export const rowFragment = (row: unknown): string => `"row":${JSON.stringify(row)}`;
