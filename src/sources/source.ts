/**
 * The contract between every source (file, stdin, Kafka, HTTP, generators) and the pipeline.
 *
 * Sources hand over *bytes*, never objects: a chunk is a run of complete NDJSON lines that the
 * decode kernel scans in place. A source never creates an object or a string per event.
 *
 *   chunk.bytes   {"a":1}\n{"a":2}\r\n{"a":3}        <- complete lines; '\n' separates them,
 *                 ^ startPosition          ^ end       a '\r' before '\n' belongs to the line
 *                                                      (decoders strip it); the final line may
 *                                                      lack its '\n'; blank lines carry no event.
 *
 * Positions are *exclusive ends*, in the source's own unit (Kafka: the next offset to consume;
 * file: the byte offset after the chunk; generator: the number of events emitted). Committing
 * position P on partition S means "every event of S before P has been fully handled" — the
 * same meaning as a Kafka committed offset, so a restart resumes exactly at P.
 *
 * Flow control has two layers:
 *   1. The handler's returned promise: the source delivers nothing more from that partition
 *      until it settles (Kafka keeps heartbeating meanwhile). Cheap, per chunk.
 *   2. pause()/resume(): the pipeline's ring backpressure switch. A paused source stops reading
 *      (Kafka pauses fetching, HTTP answers 429) until resumed.
 */
import type { IngestCounts } from '../contracts/index.js';

/** One delivery from a source: complete NDJSON lines from one source partition. */
export interface SourceChunk {
  /**
   * The lines. Valid only until the handler returns (or its promise settles): sources reuse
   * their read buffers, so a handler that keeps bytes must copy them.
   */
  bytes: Uint8Array;
  /** Kafka partition number; 0 for a file, stdin, an HTTP server or a generator. */
  sourcePartition: number;
  /** Position of the first line of this chunk (inclusive). */
  startPosition: number;
  /** Position just after the last line of this chunk (exclusive); pass it to commit(). */
  endPosition: number;
  /** Number of lines when the source knows it without scanning (generators), else -1. */
  lineCount: number;
}

/**
 * Called once per chunk. Returning a promise applies backpressure: no further chunk of that
 * source partition is delivered until it settles. A rejection stops the source (finished()
 * rejects with it).
 */
export type ChunkHandler = (chunk: SourceChunk) => IngestCounts | void | Promise<IngestCounts | void>;

/** Partition lifecycle callbacks; only sources with several partitions (Kafka) call them. */
export interface SourceHooks {
  /**
   * The partitions are about to be released to the group. Resolve only after every chunk already
   * delivered for them is fully handled and committed: the next owner starts from the committed
   * position, and anything not committed by then is processed again there.
   */
  onRevoke?(sourcePartitions: readonly number[]): Promise<void>;
  /** The partitions now owned by this source (the full set after each group join). */
  onAssign?(sourcePartitions: readonly number[]): void;
  /**
   * True: onRevoke drops the handler's state of every partition, so after the re-join even a partition
   * this member keeps is read again from its committed position. Default (false): a kept partition
   * goes on after the last chunk delivered, so the handler never sees a position twice.
   */
  redeliverKeptPartitions?: boolean;
}

/** Lag of one source partition, in the source's position unit. */
export interface PartitionLag {
  sourcePartition: number;
  /** End of the input known right now (Kafka high watermark, file size; -1 when unbounded). */
  endPosition: number;
  /** Last committed position (-1 when nothing was committed yet). */
  committedPosition: number;
  /** Position after the last chunk handed to the handler. */
  deliveredPosition: number;
  /** endPosition - max(committedPosition, startOfInput); -1 when endPosition is unknown. */
  lag: number;
}

/** Counters a progress display or metrics exporter reads; cheap, synchronous. */
export interface SourceStats {
  chunks: number;
  bytes: number;
  /** Total input bytes when known up front (a regular file), else -1. */
  totalBytes: number;
  paused: boolean;
}

export type SourceKind = 'file' | 'stdin' | 'kafka' | 'http' | 'generator';

/** A position committed by an earlier run, with the metadata stored beside it (see commit()). */
export interface CommittedPosition {
  sourcePartition: number;
  position: number;
  /** What commit() was given with it; null when none was stored. */
  metadata: string | null;
}

/** Membership of a consumer group, for sources that share partitions with other processes (Kafka). */
export interface SourceGroupState {
  memberId: string;
  assigned: number[];
  /** Group joins seen (1 after a clean start; each rebalance adds one). */
  joins: number;
  rebalances: number;
  /** commit() calls ignored because the partition had moved to another member. */
  droppedCommits: number;
  /** Consumer crashes the client restarted from (retriable errors). */
  restartedCrashes: number;
  /** Connector-specific detail (Kafka: whether record batches are read undecoded). */
  recordBlockDecoder: boolean;
}

export interface Source {
  readonly kind: SourceKind;
  /**
   * Begins delivering chunks to `handler`. Resolves once the source is running (file opened,
   * server listening, consumer group joined); rejects with a SourceError when it cannot start.
   */
  start(handler: ChunkHandler, hooks?: SourceHooks): Promise<void>;
  /**
   * Resolves when a finite source (file, stdin, a generator with a total) has delivered its last
   * chunk and that chunk's handler call has settled, or after stop(); rejects when the source
   * failed while running. Unbounded sources (Kafka, HTTP) settle only on stop() or failure.
   */
  finished(): Promise<void>;
  /** Stop reading until resume(). Idempotent. The in-flight handler call is not interrupted. */
  pause(): void;
  resume(): void;
  /**
   * Record that everything of `sourcePartition` before `position` is handled (sinks acked).
   * Kafka commits the group offset; other sources remember it for lag() and checkpoints.
   * Monotonic: a position at or below the last committed one is ignored. `metadata` is stored beside
   * the position where the source has a commit log (Kafka's OffsetCommit metadata) and comes back from
   * committedPositions() after a restart; other sources ignore it.
   */
  commit(sourcePartition: number, position: number, metadata?: string): Promise<void>;
  /**
   * What an earlier run committed, read before start() (Kafka: the group's offsets and their metadata);
   * [] for a source that starts from its beginning every time.
   */
  committedPositions(): Promise<CommittedPosition[]>;
  /** Consumer-group membership, or null for a source that is not shared with other processes. */
  groupState(): SourceGroupState | null;
  lag(): Promise<PartitionLag[]>;
  stats(): SourceStats;
  /**
   * Stop delivering: no handler call starts after this resolves, and the in-flight one has
   * settled. commit() keeps working, so shutdown can be: stop() -> drain -> commit() -> close().
   */
  stop(): Promise<void>;
  /** Release everything (connections, sockets, files). Calls stop() first if needed. */
  close(): Promise<void>;
}

/** Chunk size used when a config does not say: large enough to amortise per-chunk costs. */
export const DEFAULT_CHUNK_BYTES = 2 * 1024 * 1024;

export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
