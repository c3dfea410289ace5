/**
 * Messages between KafkaSource (main thread) and its consumer thread (consumer-thread.ts).
 * The consumer thread owns every kafkajs object; the main thread owns delivery to the pipeline,
 * the commit bookkeeping and the revoke hook. Requests carry an `id` that the reply echoes; ids of
 * main-thread requests and of consumer-thread requests are separate sequences.
 *
 *   consumer thread                                   main thread
 *   joined / rebalancing / crash ------------------>  group state, SourceError
 *   chunk {buffer moved} -------------------------->  queue -> handler (one per partition at a time)
 *                        <--------------------------  done {buffer moved back}   (credit + buffer reuse)
 *   revoke {id}  (before every re-join) ----------->  drop queued, settle in-flight, hooks.onRevoke
 *                        <--------------------------  revoked {id, delivered positions}
 *                        <--------------------------  commit / lag / close {id}, pause / resume / stop
 *   reply {id, error?, lag?} ---------------------->
 */
import { SourceError } from '../../errors.js';

export interface KafkaSourceOptions {
  brokers: string[];
  /** One topic or several; several are told apart by source partition number (topic-partitions.ts). */
  topic: string | readonly string[];
  groupId: string;
  clientId?: string;
  /** Where a group without committed offsets starts. */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /** Fetch response size limit (all partitions). */
  maxBytes?: number;
  maxBytesPerPartition?: number;
  minBytes?: number;
  maxWaitTimeMs?: number;
  partitionsConsumedConcurrently?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /** Where the group member id is kept for a rejoin after a crash (member-id-file.ts); null = off. */
  memberIdFile?: string | null;
}

/** Options with every default applied; what the consumer thread is started with. */
export type ResolvedKafkaSourceOptions = Required<Omit<KafkaSourceOptions, 'clientId' | 'topic'>> & { clientId: string; topics: string[] };

export interface KafkaThreadData {
  options: ResolvedKafkaSourceOptions;
  /**
   * Chunks posted and not yet handed back; the consumer thread waits (heartbeating) past this, so
   * memory stays bounded and fetching runs at most this far ahead of the pipeline.
   */
  maxOutstandingChunks: number;
  /** The first JoinGroup uses this member id (a crashed run's, member-id-file.ts); null = a new member. */
  rejoinAsMemberId: string | null;
}

/** An error as it crosses the thread boundary (kafkajs errors carry `type` and `retriable`). */
export interface WireError {
  name: string;
  message: string;
  type?: string;
  retriable?: boolean;
}

/**
 * Every `partition` crossing the thread boundary is a source partition number (topic-partitions.ts);
 * the consumer thread maps it to and from Kafka's (topic, partition).
 */
export interface ChunkMessage {
  t: 'chunk';
  partition: number;
  /** Offset of the first message in the chunk. */
  startOffset: number;
  /** Last message offset + 1. */
  endOffset: number;
  /** Moved, not copied; bytes [0, length) hold complete '\n'-terminated lines. */
  buffer: ArrayBuffer;
  length: number;
}

/** Per partition: high / low watermark and the group's committed offset (-1 when none). */
export interface WireLag {
  partition: number;
  high: number;
  low: number;
  committed: number;
}

export interface CommitOffset {
  partition: number;
  /** Next offset to read, as kafkajs wants it. */
  offset: string;
  metadata?: string;
}

export type FromConsumerThread =
  | ChunkMessage
  /** recordBlockDecoder: plain record batches reach the chunk builder undecoded (record-block.ts). */
  | { t: 'joined'; memberId: string; partitions: number[]; recordBlockDecoder: boolean }
  | { t: 'rebalancing' }
  | { t: 'revoke'; id: number }
  | { t: 'startFailed'; error: WireError }
  | { t: 'crash'; error: WireError; restart: boolean }
  | { t: 'reply'; id: number; error?: WireError; lag?: WireLag[] };

export type ToConsumerThread =
  | { t: 'pause' }
  | { t: 'resume' }
  | { t: 'stop' }
  | { t: 'done'; buffer: ArrayBuffer }
  | { t: 'revoked'; id: number; delivered: [number, number][] }
  | { t: 'commit'; id: number; offsets: CommitOffset[] }
  | { t: 'lag'; id: number }
  | { t: 'close'; id: number };

export type ConsumerRequest = Extract<ToConsumerThread, { id: number }>;
export type ConsumerReply = Extract<FromConsumerThread, { t: 'reply' }>;

export function toWireError(err: unknown): WireError {
  const e = err as { name?: unknown; message?: unknown; type?: unknown; retriable?: unknown } | null;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.type === 'string' ? { type: e.type } : {}),
    ...(typeof e?.retriable === 'boolean' ? { retriable: e.retriable } : {}),
  };
}

/** The consumer thread's error as a plain Error, with kafkajs' `type` and `retriable` kept. */
export function fromWireError(w: WireError): Error {
  const err = new Error(w.message) as Error & { type?: string; retriable?: boolean };
  err.name = w.name;
  if (w.type !== undefined) err.type = w.type;
  if (w.retriable !== undefined) err.retriable = w.retriable;
  return err;
}

export function sourceErrorFromWire(what: string, w: WireError, retriable: boolean): SourceError {
  return new SourceError('kafka', `${what}: ${w.message}`, { cause: fromWireError(w), retriable: w.retriable ?? retriable });
}
