/**
 * Kafka sinks: processed events (one message per NDJSON line keyed by its partition key, or many lines
 * per message in the key's partition: see pack-events.ts; requests bounded by rows and bytes: see
 * events-sink.ts) and alerts (JSON, keyed by group).
 * One idempotent producer (producer.ts: acks = -1, one request in flight, as idempotence requires in
 * kafkajs) serves both. kafkajs makes its own retries idempotent within a producer session; a batch that our
 * retry loop sends again after an ambiguous failure may appear twice in the topic, so downstream
 * consumers dedupe by event_id / alert_id (effectively-once, as the ClickHouse and Redis sinks are).
 */
import type { Alert } from '../alerts/alert.js';
import { BufferedSink, type SinkDriver, type SinkEvents } from '../buffered-sink.js';
import { rowFragment, type DeadLetterFile } from '../dead-letter-file.js';
import type { Sink } from '../sink.js';
import type { KafkaSinkConfig } from './config.js';
import { recordBudgetBytes, RECORD_FRAMING_MAX_BYTES } from './event-slices.js';
import { KafkaEventsSink } from './events-sink.js';
import { classifyKafkaError, SharedProducer } from './producer.js';
import type { EventBatch } from '../../contracts/index.js';

export { classifyKafkaError } from './producer.js';

class AlertsDriver implements SinkDriver<Alert> {
  readonly name = 'kafka.alerts';
  constructor(private readonly producer: SharedProducer, private readonly topic: string) {}

  rowsOf(): number {
    return 1;
  }

  /** Alerts are few and small; bounding their requests too keeps a burst of them under the broker's limit. */
  bytesOf(alert: Alert): number {
    return Buffer.byteLength(JSON.stringify(alert)) + Buffer.byteLength(alert.group_key) + RECORD_FRAMING_MAX_BYTES;
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
  /** Which produce-side kafkajs patches are in force (producer-patch.ts), for the start-up log. */
  encoding: SharedProducer['encoding'];
  close(): Promise<void>;
}

export function createKafkaSinks(config: KafkaSinkConfig, deadLetter: DeadLetterFile, events: SinkEvents = {}): KafkaSinks {
  const producer = new SharedProducer(config);
  const batching = {
    maxRows: config.maxRows,
    maxDelayMs: config.maxDelayMs,
    maxBufferedRows: config.maxBufferedRows,
    maxBatchBytes: () => recordBudgetBytes(config.maxRequestBytes),
    retry: config.retry,
  };
  const eventsTopic = config.eventsTopic;
  const eventSink = eventsTopic ? new KafkaEventsSink(producer, { ...config, eventsTopic }, deadLetter, events) : undefined;
  const alertSink = config.alertsTopic
    ? new BufferedSink(new AlertsDriver(producer, config.alertsTopic), batching, deadLetter, events)
    : undefined;
  return {
    events: eventSink,
    alerts: alertSink,
    encoding: producer.encoding,
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
