/**
 * The one Kafka producer the events and alerts sinks share, and how their failures are judged.
 * Idempotent (acks = -1, one request in flight, as idempotence requires in kafkajs); it connects on
 * first use and reconnects after a failure, so a broker that is down at start is not fatal.
 */
import {
  Kafka, logLevel, type Admin, type ConfigResourceTypes, type DescribeConfigResponse, type Message, type PartitionMetadata, type Producer,
} from 'kafkajs';
import { ConfigError, SinkError } from '../../errors.js';
import { errorMessage, networkErrorCode, type ErrorVerdict } from '../retry.js';
import type { KafkaSinkConfig } from './config.js';
import { installProducerPatch, type ProducerPatchState } from './producer-patch.js';

/** kafkajs' ConfigResourceTypes.TOPIC: the enum exists only in its typings, not as an ESM export. */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSMetadataNotLoaded', 'KafkaJSTimeout',
]);
/** Protocol errors caused by the messages themselves: a smaller batch may pass. */
const ROW_LEVEL_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

export function classifyKafkaError(err: unknown): ErrorVerdict {
  const message = errorMessage(err);
  // Our own size check (events-sink.ts) refuses before sending: same remedy as the broker's refusal.
  if (err instanceof SinkError && err.details.overLimit === true) {
    return { retriable: false, rowLevel: true, code: 'kafka:MESSAGE_TOO_LARGE', message };
  }
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

export class SharedProducer {
  private readonly producer: Producer;
  private readonly admin: Admin;
  private connected: Promise<void> | undefined;
  private readonly partitionCache = new Map<string, PartitionMetadata[]>();
  /** Which of the encoding patches (producer-patch.ts) this thread's kafkajs runs with. */
  readonly encoding: ProducerPatchState;

  constructor(config: KafkaSinkConfig) {
    this.encoding = installProducerPatch();
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

  /**
   * The topic's max.message.bytes (the broker's message.max.bytes unless the topic overrides it): the
   * largest record batch the broker accepts for it. One DescribeConfigs request; throws like a send.
   */
  async topicMaxMessageBytes(topic: string): Promise<number | undefined> {
    let resources: DescribeConfigResponse['resources'];
    try {
      await this.connect();
      ({ resources } = await this.admin.describeConfigs({
        resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['max.message.bytes'] }],
        includeSynonyms: false,
      }));
    } catch (err) {
      this.connected = undefined;
      throw err;
    }
    const value = resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue;
    const bytes = Number(value);
    return value !== undefined && Number.isInteger(bytes) && bytes > 0 ? bytes : undefined;
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

  /**
   * Creates `topic` with `partitions` partitions when it does not exist; throws a ConfigError when it
   * exists with another partition count (the scale-out partials topic must have exactly one).
   */
  async ensureTopic(topic: string, partitions: number, path: string): Promise<void> {
    await this.connect();
    const existing = await this.admin.listTopics();
    if (!existing.includes(topic)) {
      // Another daemon may create it at the same moment: "already exists" is not an error here.
      await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }).catch((err: unknown) => {
        if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
      });
    }
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
    const found = topics[0]?.partitions.length ?? 0;
    if (found !== partitions) throw new ConfigError(path, `topic ${topic} has ${found} partitions; it must have ${partitions}`);
  }

  async close(): Promise<void> {
    if (this.connected) await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}
