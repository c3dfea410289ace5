/**
 * The consumer thread of one KafkaSource: the kafkajs consumer group (fetch, record-batch decode,
 * heartbeats) and the NDJSON chunk build run here, so on the main thread only the pipeline's work
 * remains and the two overlap on different cores. Protocol: thread-protocol.ts.
 *
 * eachBatch (auto-resolve and auto-commit off) posts a fetched batch as one chunk and returns at
 * once, so kafkajs fetches the next batch while the main thread handles this one — unless
 * maxOutstandingChunks chunks are already out; then it waits for one to come back, heartbeating
 * every heartbeatIntervalMs (kafkajs itself heartbeats only between batches: tulios/kafkajs#387,
 * #1527). A heartbeat that reports a rebalance is rethrown; kafkajs re-joins, and the re-join hook
 * (settleBeforeEveryJoin, internals-patch.ts) first asks the main thread to settle: queued chunks are dropped, in-flight
 * ones finish, hooks.onRevoke commits. The reply carries what the main thread delivered per
 * partition; after the re-join kafkajs fetches from the committed offsets again, and messages below
 * the delivered position of a partition kept are skipped, so the pipeline never sees one twice.
 *
 * Nothing is committed by kafkajs itself: only on the main thread's `commit` request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { KafkaChunkBuilder } from './chunk.js';
import { installRecordBlockDecoder, settleBeforeEveryJoin } from './internals-patch.js';
import { TopicPartitionIds } from './topic-partitions.js';
import { toWireError, type FromConsumerThread, type KafkaThreadData, type ToConsumerThread, type WireLag } from './thread-protocol.js';

// Before kafkajs is loaded in this thread, so its fetch decoding picks the record-block decoder up.
const recordBlockDecoder = installRecordBlockDecoder();
const { Kafka, logLevel: KafkaLogLevel } = await import('kafkajs');

const LOG_LEVELS = { nothing: KafkaLogLevel.NOTHING, error: KafkaLogLevel.ERROR, warn: KafkaLogLevel.WARN, info: KafkaLogLevel.INFO, debug: KafkaLogLevel.DEBUG };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/**
 * The offset this batch was fetched from. A fetch may start inside a record batch; kafkajs drops the
 * messages below it, but a record block holds the whole batch, so its walk needs the cut too.
 * kafkajs's Batch has the field without typing it; -1 (no cut) for plain messages if it ever goes.
 */
function fetchedOffsetOf(batch: EachBatchPayload['batch']): number {
  const fetched = Number((batch as { fetchedOffset?: unknown }).fetchedOffset);
  return Number.isFinite(fetched) ? fetched : -1;
}

class ConsumerThread {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly chunks: KafkaChunkBuilder;
  private readonly ids: TopicPartitionIds;
  /** Every topic, as kafkajs's pause() and resume() take them. */
  private readonly topicList: { topic: string }[];
  /** Per source partition: messages below this were delivered already (set from the main thread at each settle). */
  private skipBelow = new Map<number, number>();
  private outstanding = 0;
  private paused = false;
  private stopping = false;
  private joined = false;
  /** eachBatch calls waiting for a chunk to come back (or for stop). */
  private waiters: (() => void)[] = [];
  private nextRequestId = 1;
  private readonly settleReplies = new Map<number, (delivered: [number, number][]) => void>();

  constructor(private readonly data: KafkaThreadData, private readonly port: NonNullable<typeof parentPort>) {
    const o = data.options;
    const kafka = new Kafka({
      clientId: o.clientId,
      brokers: o.brokers,
      connectionTimeout: o.connectionTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      logLevel: LOG_LEVELS[o.logLevel],
    });
    this.consumer = kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      maxBytes: o.maxBytes,
      maxBytesPerPartition: o.maxBytesPerPartition,
      minBytes: o.minBytes,
      maxWaitTimeInMs: o.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    this.admin = kafka.admin();
    this.ids = new TopicPartitionIds(o.topics);
    this.topicList = o.topics.map((topic) => ({ topic }));
    this.chunks = new KafkaChunkBuilder(data.maxOutstandingChunks + 2);
    port.on('message', (m: ToConsumerThread) => this.onMessage(m));
  }

  async start(): Promise<void> {
    const o = this.data.options;
    const c = this.consumer;
    c.on(c.events.GROUP_JOIN, (e) => {
      const partitions = this.ids.idsOf(e.payload.memberAssignment);
      const kept = new Set(partitions);
      // A partition that moved away restarts from its committed offset if it ever comes back.
      for (const p of [...this.skipBelow.keys()]) if (!kept.has(p)) this.skipBelow.delete(p);
      this.joined = true;
      if (this.paused || this.stopping) c.pause(this.topicList);
      this.post({ t: 'joined', memberId: e.payload.memberId, partitions, recordBlockDecoder });
    });
    c.on(c.events.REBALANCING, () => this.post({ t: 'rebalancing' }));
    c.on(c.events.CRASH, (e) => this.post({ t: 'crash', error: toWireError(e.payload.error), restart: e.payload.restart }));
    try {
      settleBeforeEveryJoin(() => this.settleOnMainThread(), this.data.rejoinAsMemberId);
      await c.connect();
      await this.admin.connect();
      await c.subscribe({ topics: o.topics, fromBeginning: o.fromBeginning });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      });
    } catch (err) {
      this.post({ t: 'startFailed', error: toWireError(err) });
      await this.disconnect();
    }
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const gone = (): boolean => this.stopping || !isRunning() || isStale();
    if (gone() || batch.messages.length === 0) return;
    while (this.outstanding >= this.data.maxOutstandingChunks) {
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(this.data.options.heartbeatIntervalMs)]);
      if (gone()) return;
      // kafkajs sends it only once heartbeatIntervalMs has passed; a rebalance error goes up to kafkajs.
      if (this.outstanding >= this.data.maxOutstandingChunks) await heartbeat();
    }
    const p = this.ids.id(batch.topic, batch.partition);
    const lastOffset = batch.messages[batch.messages.length - 1].offset;
    const built = this.chunks.build(batch.messages, Math.max(this.skipBelow.get(p) ?? -1, fetchedOffsetOf(batch)));
    if (built !== null) {
      this.outstanding++;
      this.skipBelow.set(p, built.endOffset);
      const { buffer, length, startOffset, endOffset } = built;
      this.port.postMessage({ t: 'chunk', partition: p, startOffset, endOffset, buffer, length } satisfies FromConsumerThread, [buffer]);
    }
    // The main thread holds the chunk now: move the fetch position past it (this is not a commit).
    resolveOffset(lastOffset);
  }

  /** Runs before every re-join: the main thread settles, then tells what it delivered. */
  private async settleOnMainThread(): Promise<void> {
    if (!this.joined) return;
    const id = this.nextRequestId++;
    const delivered = await new Promise<[number, number][]>((resolve) => {
      this.settleReplies.set(id, resolve);
      this.post({ t: 'revoke', id });
    });
    this.skipBelow = new Map(delivered);
  }

  private onMessage(m: ToConsumerThread): void {
    switch (m.t) {
      case 'done':
        this.outstanding--;
        this.chunks.recycle(m.buffer);
        this.wakeAll();
        return;
      case 'pause':
      case 'resume':
      case 'stop':
        if (m.t === 'stop') this.stopping = true;
        else this.paused = m.t === 'pause';
        if (this.joined) {
          if (this.paused || this.stopping) this.consumer.pause(this.topicList);
          else this.consumer.resume(this.topicList);
        }
        this.wakeAll();
        return;
      case 'revoked': {
        const reply = this.settleReplies.get(m.id);
        this.settleReplies.delete(m.id);
        reply?.(m.delivered);
        return;
      }
      case 'commit': {
        void this.answer(m.id, async () => {
          const offsets = m.offsets.map(({ partition, ...o }) => ({ ...this.ids.of(partition), ...o }));
          await this.consumer.commitOffsets(offsets);
          return {};
        });
        return;
      }
      case 'lag':
        void this.answer(m.id, async () => ({ lag: await this.lag() }));
        return;
      case 'close':
        void this.answer(m.id, async () => {
          await this.disconnect();
          return {};
        });
        return;
    }
  }

  private async answer(id: number, work: () => Promise<{ lag?: WireLag[] }>): Promise<void> {
    try {
      this.post({ t: 'reply', id, ...(await work()) });
    } catch (err) {
      this.post({ t: 'reply', id, error: toWireError(err) });
    }
  }

  private async lag(): Promise<WireLag[]> {
    const o = this.data.options;
    const [ends, groupOffsets] = await Promise.all([
      Promise.all(o.topics.map(async (topic) => ({ topic, partitions: await this.admin.fetchTopicOffsets(topic) }))),
      this.admin.fetchOffsets({ groupId: o.groupId, topics: o.topics }),
    ]);
    const committed = new Map<number, number>();
    for (const t of groupOffsets) for (const p of t.partitions) committed.set(this.ids.id(t.topic, p.partition), Number(p.offset));
    return ends.flatMap(({ topic, partitions }) => partitions.map((e) => {
      const partition = this.ids.id(topic, e.partition);
      return { partition, high: Number(e.high), low: Number(e.low), committed: committed.get(partition) ?? -1 };
    }));
  }

  private async disconnect(): Promise<void> {
    this.stopping = true;
    this.wakeAll();
    await Promise.allSettled([this.consumer.disconnect(), this.admin.disconnect()]);
  }

  private wakeAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private post(m: FromConsumerThread): void {
    this.port.postMessage(m);
  }
}

if (parentPort) void new ConsumerThread(workerData as KafkaThreadData, parentPort).start();
