/**
 * The processed-events Kafka sink. A written EventBatch is cut into slices (event-slices.ts) that each
 * fit one produce request, bounded by `maxRows` events and by the byte limit: min(`maxRequestBytes`,
 * the topic's max.message.bytes, read once at first use). The Batcher joins slices up to the same
 * bounds, so every delivery is one request; retries, halving on a refusal and the dead letter work
 * per request, never on a whole worker task's events.
 *
 * An event over the limit by itself cannot be stored: it is refused before sending with a row-level
 * error naming the limit, so it lands in the dead letter (counted in deadLetteredRows) and the other
 * events of its batch are still sent.
 */
import { SinkError } from '../../errors.js';
import { BufferedSink, type SinkDriver, type SinkEvents } from '../buffered-sink.js';
import type { DeadLetterFile } from '../dead-letter-file.js';
import { eventDeadLetterFragments } from '../event-batch.js';
import type { DeliveryLatch, Sink, SinkCounters } from '../sink.js';
import type { KafkaSinkConfig } from './config.js';
import {
  halveSlice, recordBudgetBytes, RECORD_BATCH_HEADER_BYTES, RECORD_FRAMING_MAX_BYTES, sliceEventBatch, type EventSlice,
} from './event-slices.js';
import { oneEventPerMessage, packEventsByPartition } from './pack-events.js';
import { classifyKafkaError, type SharedProducer } from './producer.js';
import type { EventBatch } from '../../contracts/index.js';

const SINK_NAME = 'kafka.events';

class EventsDriver implements SinkDriver<EventSlice> {
  /** The topic's max.message.bytes once read; undefined before (or when the broker will not say). */
  private topicLimitBytes: number | undefined;
  private topicLimitSettled = false;

  constructor(
    readonly name: string,
    private readonly producer: SharedProducer,
    private readonly topic: string,
    private readonly eventsPerMessage: number,
    private readonly maxRequestBytes: number,
  ) {}

  /** The request limit in force: what is configured, lowered to the topic's limit once known. */
  limitBytes(): number {
    return Math.min(this.maxRequestBytes, this.topicLimitBytes ?? Number.POSITIVE_INFINITY);
  }

  rowsOf(slice: EventSlice): number {
    return slice.to - slice.from;
  }

  bytesOf(slice: EventSlice): number {
    return slice.bytes;
  }

  split(slice: EventSlice): [EventSlice, EventSlice] | undefined {
    return halveSlice(slice);
  }

  async writeBatch(slices: readonly EventSlice[]): Promise<void> {
    await this.learnTopicLimit();
    const limitBytes = this.limitBytes();
    const budgetBytes = recordBudgetBytes(limitBytes);
    let bytes = 0;
    let rows = 0;
    for (const s of slices) {
      bytes += s.bytes;
      rows += s.to - s.from;
    }
    // Slices cut before the topic's limit was known may exceed it: refusing here halves them
    // without a round trip, and a single event over the limit goes to the dead letter.
    if (bytes > budgetBytes) throw this.overLimit(rows, bytes, limitBytes);
    if (this.eventsPerMessage === 1) return this.producer.send(this.topic, oneEventPerMessage(slices));
    const partitions = await this.producer.partitions(this.topic);
    const maxMessageBytes = budgetBytes - RECORD_FRAMING_MAX_BYTES;
    return this.producer.send(this.topic, packEventsByPartition(slices, partitions, this.eventsPerMessage, maxMessageBytes));
  }

  classify = classifyKafkaError;

  deadLetterFragments(slice: EventSlice): string[] {
    return eventDeadLetterFragments(slice.batch, slice.from, slice.to);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Reads the topic's max.message.bytes once (one DescribeConfigs request), so requests are cut to
   * what the broker accepts for this topic, not only to the configured bound. A broker that refuses
   * to say (e.g. no DescribeConfigs permission) leaves the configured bound, and a broker's
   * MESSAGE_TOO_LARGE still halves a request; a connection failure is retried with the next request.
   */
  private async learnTopicLimit(): Promise<void> {
    if (this.topicLimitSettled) return;
    try {
      this.topicLimitBytes = await this.producer.topicMaxMessageBytes(this.topic);
      this.topicLimitSettled = true;
    } catch (err) {
      if (!classifyKafkaError(err).retriable) this.topicLimitSettled = true;
    }
  }

  private overLimit(rows: number, bytes: number, limitBytes: number): SinkError {
    const what = rows === 1 ? 'an event of' : `a request of ${rows} events and`;
    const topic = this.topicLimitBytes === undefined ? 'unknown' : String(this.topicLimitBytes);
    return new SinkError(
      SINK_NAME,
      `${what} ${bytes} bytes (lines, keys, record framing) is over the Kafka limit of ${limitBytes} bytes ` +
        `(min of sinks.kafka.maxRequestBytes ${this.maxRequestBytes} and topic ${this.topic} max.message.bytes ${topic}, ` +
        `less ${RECORD_BATCH_HEADER_BYTES} bytes of record batch header)`,
      { retriable: false, details: { overLimit: true, limitBytes, bytes, rows } },
    );
  }
}

/** Sink<EventBatch> over a BufferedSink of slices: write() cuts the batch, the rest is delegated. */
export class KafkaEventsSink implements Sink<EventBatch> {
  private readonly driver: EventsDriver;
  private readonly inner: BufferedSink<EventSlice>;
  private readonly maxRows: number;

  /** `name`: the sink's name in logs, counters and metrics (the scale-out partials use this class too). */
  constructor(producer: SharedProducer, config: KafkaSinkConfig & { eventsTopic: string }, deadLetter: DeadLetterFile, events: SinkEvents,
    readonly name = SINK_NAME) {
    const driver = new EventsDriver(name, producer, config.eventsTopic, config.eventsPerMessage, config.maxRequestBytes);
    this.driver = driver;
    this.maxRows = config.maxRows;
    this.inner = new BufferedSink(this.driver, {
      maxRows: config.maxRows,
      maxDelayMs: config.maxDelayMs,
      maxBufferedRows: config.maxBufferedRows,
      maxBatchBytes: () => recordBudgetBytes(driver.limitBytes()),
      retry: config.retry,
    }, deadLetter, events);
  }

  /**
   * Resolves once every slice of `batch` is buffered. The slices are added in one synchronous pass
   * (the Batcher queues waiters in order), so a concurrent write cannot interleave with them.
   */
  async write(batch: EventBatch, latch?: DeliveryLatch): Promise<void> {
    const slices = sliceEventBatch(batch, this.maxRows, recordBudgetBytes(this.driver.limitBytes()));
    await Promise.all(slices.map((s) => this.inner.write(s, latch)));
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  counters(): SinkCounters {
    return this.inner.counters();
  }
}
