/**
 * Main-thread end of a KafkaSource's consumer thread: starts the worker from its compiled JS,
 * numbers requests and matches replies, and turns a thread that dies (an uncaught error, an exit
 * nobody asked for) into one SourceError that rejects every pending and future request — so a dead
 * consumer thread surfaces as an error, never as a hang.
 */
import { Worker } from 'node:worker_threads';
import { SourceError } from '../../errors.js';
import { compiledSiblingUrl } from '../../runtime/worker-path.js';
import {
  sourceErrorFromWire,
  type ChunkMessage,
  type ConsumerReply,
  type FromConsumerThread,
  type KafkaThreadData,
  type ToConsumerThread,
} from './thread-protocol.js';

/** What the consumer thread reports on its own; the KafkaSource implements it. */
export interface ConsumerThreadListener {
  chunk(m: ChunkMessage): void;
  joined(memberId: string, partitions: number[], recordBlockDecoder: boolean): void;
  rebalancing(): void;
  /** Settle before the consumer re-joins; answer with settled(id, ...). */
  revoke(id: number): void;
  startFailed(err: SourceError): void;
  crash(err: SourceError, restart: boolean): void;
  /** The thread is gone without close(). */
  died(err: SourceError): void;
}

type Request = ToConsumerThread extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

export class KafkaConsumerClient {
  private nextId = 1;
  private readonly replies = new Map<number, { resolve(reply: ConsumerReply): void; reject(err: Error): void; what: string }>();
  private dead: SourceError | null = null;
  private closing = false;

  private constructor(private readonly worker: Worker, private readonly listener: ConsumerThreadListener) {
    worker.on('message', (m: FromConsumerThread) => this.onMessage(m));
    worker.on('error', (err) => this.onGone(new SourceError('kafka', `consumer thread failed: ${err.message}`, { cause: err, retriable: true })));
    worker.on('exit', (code) => this.onGone(new SourceError('kafka', `consumer thread exited with code ${code}`, { retriable: true, details: { exitCode: code } })));
  }

  static start(data: KafkaThreadData, listener: ConsumerThreadListener): KafkaConsumerClient {
    const entry = compiledSiblingUrl(import.meta.url, './consumer-thread');
    return new KafkaConsumerClient(new Worker(entry, { workerData: data }), listener);
  }

  /** The thread's failure, once it died. */
  get failure(): SourceError | null {
    return this.dead;
  }

  post(m: ToConsumerThread, transfer: ArrayBuffer[] = []): void {
    if (this.dead) return;
    this.worker.postMessage(m, transfer);
  }

  /** A handled (or dropped) chunk: its buffer goes back for reuse, and frees one chunk of credit. */
  chunkDone(buffer: ArrayBuffer): void {
    this.post({ t: 'done', buffer }, [buffer]);
  }

  settled(id: number, delivered: [number, number][]): void {
    this.post({ t: 'revoked', id, delivered });
  }

  /** Sends a request; resolves with the reply, rejects with a SourceError on an error reply or a dead thread. */
  request(what: string, m: Request): Promise<ConsumerReply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<ConsumerReply>((resolve, reject) => {
      this.replies.set(id, { resolve, reject, what });
      this.worker.postMessage({ ...m, id } as ToConsumerThread);
    });
  }

  /** Disconnects the consumer (it leaves the group) and ends the thread. */
  async close(): Promise<void> {
    if (this.dead) return;
    try {
      await this.request('close', { t: 'close' });
    } finally {
      this.closing = true;
      await this.worker.terminate();
    }
  }

  /** Fault injection for tests: ends the thread as a crash would. */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  private onMessage(m: FromConsumerThread): void {
    const l = this.listener;
    switch (m.t) {
      case 'chunk':
        return l.chunk(m);
      case 'reply': {
        const waiting = this.replies.get(m.id);
        if (!waiting) return;
        this.replies.delete(m.id);
        if (m.error) waiting.reject(sourceErrorFromWire(waiting.what, m.error, true));
        else waiting.resolve(m);
        return;
      }
      case 'joined':
        return l.joined(m.memberId, m.partitions, m.recordBlockDecoder);
      case 'rebalancing':
        return l.rebalancing();
      case 'revoke':
        return l.revoke(m.id);
      case 'startFailed':
        return l.startFailed(sourceErrorFromWire('cannot start consumer', m.error, true));
      case 'crash':
        return l.crash(sourceErrorFromWire('consumer crashed', m.error, m.restart), m.restart);
    }
  }

  private onGone(err: SourceError): void {
    if (this.dead) return;
    this.dead = err;
    const waiting = [...this.replies.values()];
    this.replies.clear();
    for (const w of waiting) w.reject(err);
    if (!this.closing) this.listener.died(err);
  }
}
