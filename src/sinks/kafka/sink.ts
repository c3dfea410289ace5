/**
 * Kafka sinks: processed events (one message per NDJSON line keyed by its partition key, or many lines
 * per message in the key's partition: see pack-events.ts) and alerts (JSON, keyed by group).
 * One idempotent producer (acks = -1, one request in flight, as idempotence requires in kafkajs)
 * serves both. kafkajs makes its own retries idempotent within a producer session; a batch that our
 * retry loop sends again after an ambiguous failure may appear twice in the topic, so downstream
 * consumers dedupe by event_id / alert_id (effectively-once, as the ClickHouse and Redis sinks are).
 */
import { Kafka, logLevel, type Admin, type Message, type PartitionMetadata, type Producer } from 'kafkajs';
import type { Alert } from '../alerts/alert.js';
import { BufferedSink, type SinkDriver, type SinkEvents } from '../buffered-sink.js';
import { rowFragment, type DeadLetterFile } from '../dead-letter-file.js';
import { eventDeadLetterFragments } from '../event-batch.js';
import { errorMessage, networkErrorCode, type ErrorVerdict } from '../retry.js';
import type { Sink } from '../sink.js';
import type { KafkaSinkConfig } from './config.js';
import { oneEventPerMessage, packEventsByPartition } from './pack-events.js';
import type { EventBatch } from '../../contracts/index.js';

const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSMetadataNotLoaded', 'KafkaJSTimeout',
]);
/** Protocol errors caused by the messages themselves: a smaller batch may pass. */
const ROW_LEVEL_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

export function classifyKafkaError(err: unknown): ErrorVerdict {
  const message = errorMessage(err);
  const network = networkErrorCode(err);
  if (network) return { retriable: true, code: network, message };
  // kafkajs wraps the broker's error (e.g. NumberOfRetriesExceeded around UNKNOWN_TOPIC_OR_PARTITION):
  // the innermost protocol `type` names the problem, any retriable link makes it worth retrying.
  let retriable = false;
  let protocolType: string | undefined;
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const { name, type, retriable: flag } = e as { name?: string; type?: string; retriable?: boolean };
    if (type) protocolType = type;
    if (flag === true || (name && TRANSIENT_NAMES.has(name))) retriable = true;
    e = (e as { originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  const code = `kafka:${protocolType ?? (err as { name?: string } | null)?.name ?? 'client'}`;
  if (protocolType && ROW_LEVEL_TYPES.has(protocolType)) return { retriable: false, rowLevel: true, code, message };
  return { retriable, code, message };
}

/** Connects on first use and reconnects after a failure, so a broker that is down at start is not fatal. */
class SharedProducer {
  private readonly producer: Producer;
  private readonly admin: Admin;
  private connected: Promise<void> | undefined;
  private readonly partitionCache = new Map<string, PartitionMetadata[]>();

  constructor(config: KafkaSinkConfig) {
    const kafka = new Kafka({
      clientId: config.clientId,
      brokers: config.brokers,
      logLevel: logLevel.NOTHING,
      requestTimeout: config.requestTimeoutMs,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.admin = kafka.admin();
  }

  /** Partition metadata of `topic`, fetched once; a failed send drops it (partitions may have changed). */
  async partitions(topic: string): Promise<PartitionMetadata[]> {
    const cached = this.partitionCache.get(topic);
    if (cached) return cached;
    await this.connect();
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = topics[0].partitions;
    this.partitionCache.set(topic, partitions);
    return partitions;
  }

  private connect(): Promise<void> {
    this.connected ??= Promise.all([this.producer.connect(), this.admin.connect()]).then(() => undefined);
    return this.connected;
  }

  async send(topic: string, messages: Message[]): Promise<void> {
    try {
      await this.connect();
      await this.producer.send({ topic, acks: -1, messages });
    } catch (err) {
      this.connected = undefined;
      this.partitionCache.delete(topic);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.connected) await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

class EventsDriver implements SinkDriver<EventBatch> {
  readonly name = 'kafka.events';
  constructor(
    private readonly producer: SharedProducer,
    private readonly topic: string,
    private readonly eventsPerMessage: number,
  ) {}

  rowsOf(batch: EventBatch): number {
    return batch.rowCount;
  }

  async writeBatch(batches: readonly EventBatch[]): Promise<void> {
    if (this.eventsPerMessage === 1) return this.producer.send(this.topic, oneEventPerMessage(batches));
    const partitions = await this.producer.partitions(this.topic);
    return this.producer.send(this.topic, packEventsByPartition(batches, partitions, this.eventsPerMessage));
  }

  classify = classifyKafkaError;

  deadLetterFragments(batch: EventBatch): string[] {
    return eventDeadLetterFragments(batch);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class AlertsDriver implements SinkDriver<Alert> {
  readonly name = 'kafka.alerts';
  constructor(private readonly producer: SharedProducer, private readonly topic: string) {}

  rowsOf(): number {
    return 1;
  }

  writeBatch(alerts: readonly Alert[]): Promise<void> {
    return this.producer.send(
      this.topic,
      alerts.map((a) => ({ key: a.group_key, value: JSON.stringify(a) })),
    );
  }

  classify = classifyKafkaError;

  deadLetterFragments(alert: Alert): string[] {
    return [rowFragment(alert)];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface KafkaSinks {
  events: Sink<EventBatch> | undefined;
  alerts: Sink<Alert> | undefined;
  close(): Promise<void>;
}

export function createKafkaSinks(config: KafkaSinkConfig, deadLetter: DeadLetterFile, events: SinkEvents = {}): KafkaSinks {
  const producer = new SharedProducer(config);
  const batching = {
    maxRows: config.maxRows,
    maxDelayMs: config.maxDelayMs,
    maxBufferedRows: config.maxBufferedRows,
    retry: config.retry,
  };
  const eventSink = config.eventsTopic
    ? new BufferedSink(new EventsDriver(producer, config.eventsTopic, config.eventsPerMessage), batching, deadLetter, events)
    : undefined;
  const alertSink = config.alertsTopic
    ? new BufferedSink(new AlertsDriver(producer, config.alertsTopic), batching, deadLetter, events)
    : undefined;
  return {
    events: eventSink,
    alerts: alertSink,
    async close() {
      try {
        await eventSink?.close();
        await alertSink?.close();
      } finally {
        await producer.close();
      }
    },
  };
}
