/**
 * Main-thread handle of the sink thread.
 *
 * Ack semantics: every send returns a Delivery with a monotonically increasing id. `acked` resolves
 * once everything derived from that delivery (rows in every sink, alerts raised from them) is stored
 * or dead-lettered, and rejects if a sink failed for good (e.g. the dead letter itself could not be
 * written). Deliveries may be acknowledged out of order (different sinks, different speeds);
 * `ackedThrough` is the highest id N such that 1..N are all acknowledged — what a source needs to
 * commit offsets: commit what was read before delivery N once ackedThrough >= N.
 *
 * Backpressure: at most `maxInFlightDeliveries` deliveries and `maxInFlightBytes` event bytes are
 * unacknowledged; a send waits (its promise stays pending) until one is acknowledged.
 *
 * Event batches travel by transfer (no copy): the buffers behind the batch's arrays move to the sink
 * thread and are detached here. A view that does not span its whole ArrayBuffer is copied first,
 * since transferring would take the neighbouring bytes too; SharedArrayBuffers are shared, not moved.
 */
import { Worker } from 'node:worker_threads';
import { compiledSiblingUrl } from '../../runtime/worker-path.js';
import { SinkError } from '../../errors.js';
import type { SinkCounters } from '../sink.js';
import type { SinksConfig } from '../sink-config.js';
import type { PartialsSinkOptions } from '../kafka/partials-sink.js';
import type { FromSinkThread, SerializedError, SinkThreadData, ToSinkThread } from './protocol.js';
import { logFormatFromEnv, secretsOfConfig, type LogFormat } from '../../logging.js';
import type { EventBatch, WindowRow, WindowShape } from '../../contracts/index.js';

export interface Delivery {
  id: number;
  acked: Promise<void>;
}

export interface SinkThreadOptions {
  config: SinksConfig;
  shape: WindowShape;
  logLevel?: string;
  /** Default: RINGFLOW_LOG_FORMAT, else pretty when stderr is a terminal (decided here: a worker's stderr is never one). */
  logFormat?: LogFormat;
  /** Strings redacted from the sink thread's log lines. Default: the secrets of `config` (secretsOfConfig). */
  secrets?: string[];
  /** Scale-out: the partials topic the first stage writes to. Default: none. */
  partials?: PartialsSinkOptions | null;
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  bytes: number;
}

const toError = (e: SerializedError): Error =>
  new SinkError('sink-thread', `${e.name}: ${e.message}`, { details: e.code ? { causeCode: e.code } : {} });

function ownedView<T extends Uint8Array | Uint32Array>(view: T, transfer: ArrayBuffer[]): T {
  const buffer = view.buffer;
  if (buffer instanceof SharedArrayBuffer) return view;
  if (view.byteOffset === 0 && view.byteLength === buffer.byteLength) {
    if (!transfer.includes(buffer as ArrayBuffer)) transfer.push(buffer as ArrayBuffer);
    return view;
  }
  const copy = view.slice() as T;
  transfer.push(copy.buffer as ArrayBuffer);
  return copy;
}

/** Rows one sink could not store and wrote to the sinks' dead-letter file instead. */
export interface SinkDeadLetter {
  sink: string;
  rows: number;
  code: string;
  message: string;
}

export class SinkThread {
  private nextId = 1;
  private ackedUpTo = 0;
  private readonly acked = new Set<number>();
  private readonly pending = new Map<number, Pending>();
  private inFlightBytes = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly replies = new Map<number, (m: FromSinkThread) => void>();
  private readonly ackListeners: ((id: number) => void)[] = [];
  private readonly deadLetterListeners: ((e: SinkDeadLetter) => void)[] = [];
  private exited: Error | undefined;
  private closeReply: ((m: FromSinkThread) => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly maxInFlightDeliveries: number,
    private readonly maxInFlightBytes: number,
  ) {
    worker.on('message', (m: FromSinkThread) => this.onMessage(m));
    worker.on('error', (err) => this.onExit(err));
    worker.on('exit', (code) => this.onExit(new SinkError('sink-thread', `sink thread exited with code ${code}`)));
  }

  static async start(options: SinkThreadOptions): Promise<SinkThread> {
    const here = import.meta.url;
    const entry = compiledSiblingUrl(here, './thread');
    const data: SinkThreadData = {
      config: options.config, shape: options.shape, logLevel: options.logLevel ?? 'info',
      logFormat: options.logFormat ?? logFormatFromEnv(), secrets: options.secrets ?? secretsOfConfig(options.config),
      partials: options.partials ?? null,
    };
    const worker = new Worker(entry, { workerData: data });
    const thread = new SinkThread(worker, options.config.maxInFlightDeliveries, options.config.maxInFlightBytes);
    await new Promise<void>((resolve, reject) => {
      const onFirst = (m: FromSinkThread) => {
        worker.off('message', onFirst);
        worker.off('error', reject);
        if (m.t === 'ready') resolve();
        else if (m.t === 'startFailed') reject(toError(m.error));
      };
      worker.on('message', onFirst);
      worker.once('error', reject);
    }).catch(async (err) => {
      await worker.terminate();
      throw err;
    });
    return thread;
  }

  /** Highest id N such that deliveries 1..N are all acknowledged. */
  get ackedThrough(): number {
    return this.ackedUpTo;
  }

  get inFlightDeliveries(): number {
    return this.pending.size;
  }

  onAck(listener: (deliveryId: number) => void): void {
    this.ackListeners.push(listener);
  }

  /** Rows a sink sent to its dead letter; called before the ack of the delivery they belong to. */
  onDeadLetter(listener: (e: SinkDeadLetter) => void): void {
    this.deadLetterListeners.push(listener);
  }

  /** Window rows are small: they are structured-cloned. */
  async sendWindows(rows: WindowRow[]): Promise<Delivery> {
    await this.waitForRoom(0);
    const delivery = this.track(0);
    this.post({ t: 'windows', id: delivery.id, rows });
    return delivery;
  }

  /** Moves the batch's buffers to the sink thread (see the header); do not use `batch` afterwards. */
  sendEvents(batch: EventBatch): Promise<Delivery> {
    return this.sendBatch('events', batch);
  }

  /** Scale-out: the first stage's partials (as lines of an EventBatch) to the partials topic; moved like sendEvents. */
  sendPartials(batch: EventBatch): Promise<Delivery> {
    return this.sendBatch('partials', batch);
  }

  private async sendBatch(t: 'events' | 'partials', batch: EventBatch): Promise<Delivery> {
    const bytes = batch.lines.byteLength + batch.keys.byteLength;
    await this.waitForRoom(bytes);
    const transfer: ArrayBuffer[] = [];
    const moved: EventBatch = {
      rowCount: batch.rowCount,
      lines: ownedView(batch.lines, transfer),
      lineEnds: ownedView(batch.lineEnds, transfer),
      keys: ownedView(batch.keys, transfer),
      keyEnds: ownedView(batch.keyEnds, transfer),
    };
    const delivery = this.track(bytes);
    this.post({ t, id: delivery.id, batch: moved }, transfer);
    return delivery;
  }

  /** Resolves when everything sent so far is stored or dead-lettered. */
  async flush(): Promise<void> {
    const reply = await this.request({ t: 'flush', id: 0 });
    if (reply.t === 'flushed' && reply.error) throw toError(reply.error);
  }

  async counters(): Promise<{ sinks: Record<string, SinkCounters>; deadLetterRecords: number }> {
    const reply = await this.request({ t: 'counters', id: 0 });
    if (reply.t !== 'counters') throw new SinkError('sink-thread', `unexpected reply ${reply.t}`);
    return { sinks: reply.counters, deadLetterRecords: reply.deadLetterRecords };
  }

  /** Flushes every sink, closes connections and ends the thread. */
  async close(): Promise<void> {
    if (this.exited) return;
    const reply = await new Promise<FromSinkThread>((resolve) => {
      this.closeReply = resolve;
      this.post({ t: 'close' });
    });
    await this.worker.terminate();
    if (reply.t === 'closed' && reply.error) throw toError(reply.error);
  }

  private track(bytes: number): Delivery {
    const id = this.nextId++;
    this.inFlightBytes += bytes;
    const acked = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject, bytes }));
    // Callers that only watch ackedThrough must not trigger unhandled-rejection crashes.
    acked.catch(() => undefined);
    return { id, acked };
  }

  private async waitForRoom(bytes: number): Promise<void> {
    for (;;) {
      if (this.exited) throw this.exited;
      const fits =
        this.pending.size < this.maxInFlightDeliveries &&
        (this.inFlightBytes === 0 || this.inFlightBytes + bytes <= this.maxInFlightBytes);
      if (fits) return;
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  private request(message: { t: 'flush' | 'counters'; id: number }): Promise<FromSinkThread> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    // Request ids share the delivery sequence but are never deliveries: mark them acked at once.
    this.settle(id);
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      this.post({ ...message, id });
    });
  }

  private post(message: ToSinkThread, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  private onMessage(m: FromSinkThread): void {
    switch (m.t) {
      case 'ack':
      case 'failed': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.inFlightBytes -= p.bytes;
        if (m.t === 'ack') {
          p.resolve();
          this.settle(m.id);
          for (const listener of this.ackListeners) listener(m.id);
        } else {
          p.reject(toError(m.error));
        }
        for (const wake of this.roomWaiters.splice(0)) wake();
        return;
      }
      case 'flushed':
      case 'counters': {
        const reply = this.replies.get(m.id);
        this.replies.delete(m.id);
        reply?.(m);
        return;
      }
      case 'closed':
        this.closeReply?.(m);
        return;
      case 'deadLettered':
        for (const listener of this.deadLetterListeners) listener({ sink: m.sink, rows: m.rows, code: m.code, message: m.message });
        return;
      default:
        return;
    }
  }

  /** Advances ackedThrough over a contiguous run of acknowledged ids. */
  private settle(id: number): void {
    this.acked.add(id);
    while (this.acked.has(this.ackedUpTo + 1)) {
      this.acked.delete(this.ackedUpTo + 1);
      this.ackedUpTo++;
    }
  }

  private onExit(err: Error): void {
    if (this.exited) return;
    this.exited = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const wake of this.roomWaiters.splice(0)) wake();
    for (const reply of this.replies.values()) reply({ t: 'flushed', id: 0, error: { name: err.name, message: err.message } });
    this.replies.clear();
    this.closeReply?.({ t: 'closed' });
  }
}
