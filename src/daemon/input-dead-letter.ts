/**
 * The pipeline's dead letter in the daemon: one NDJSON record per input line that ended invalid or
 * late, `{"reason","line","raw","source"?}` (the same records `ringflow replay` writes). Entries are
 * buffered in memory and appended every `flushIntervalMs` or at `maxBufferedBytes`; `flush()` appends
 * and fdatasyncs, and the daemon calls it before every offset commit, so a committed offset never
 * outruns the dead letters of the lines before it.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeadLetterEntry } from '../contracts/index.js';

export class InputDeadLetterFile {
  private handle: FileHandle | undefined;
  private buffered = '';
  private tail: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private failure: Error | undefined;
  records = 0;
  /** Records by reason (a bounded set: rule:field, late, ...), for the metrics. */
  readonly byReason = new Map<string, number>();

  constructor(
    readonly path: string,
    private readonly flushIntervalMs = 200,
    private readonly maxBufferedBytes = 1 << 20,
  ) {
    this.timer = setInterval(() => void this.flush(false).catch(() => undefined), this.flushIntervalMs);
    this.timer.unref();
  }

  /** Off the hot path: one string per rejected line. */
  add(entry: DeadLetterEntry): void {
    this.buffered += `${JSON.stringify(entry)}\n`;
    this.records++;
    this.byReason.set(entry.reason, (this.byReason.get(entry.reason) ?? 0) + 1);
    if (this.buffered.length >= this.maxBufferedBytes) void this.flush(false).catch(() => undefined);
  }

  /** Appends what is buffered; with `sync` (the default) also waits until it is on disk. */
  flush(sync = true): Promise<void> {
    const text = this.buffered;
    this.buffered = '';
    const next = this.tail.then(async () => {
      if (this.failure) throw this.failure;
      if (text.length === 0 && !sync) return;
      try {
        if (!this.handle) {
          await mkdir(dirname(this.path), { recursive: true });
          this.handle = await open(this.path, 'a');
        }
        if (text.length > 0) await this.handle.appendFile(text);
        if (sync) await this.handle.datasync();
      } catch (err) {
        this.failure = err as Error;
        throw err;
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    try {
      await this.flush(true);
    } finally {
      await this.handle?.close();
      this.handle = undefined;
    }
  }
}
