/**
 * One number per (topic, partition) for a source that reads several topics. The pipeline, the
 * watermark, the daemon's commits and checkpoints all key their state by a source partition number;
 * the Kafka source maps it to and from the broker's (topic, partition) at its edges (the consumer
 * thread and the committed-offsets read), so nothing else learns about topics.
 *
 *   source partition = partition * topicCount + topicIndex
 *
 * topicIndex is the topic's place in the configured list, so with one topic the numbers are the
 * Kafka partition numbers themselves, and with several they stay small and dense (the watermark and
 * the pipeline keep arrays indexed by them) and stable when a topic gains partitions. Offsets and
 * their metadata are stored on the broker per (topic, partition), so a changed list loses nothing
 * there; a local checkpoint file keys its state by these numbers, so keep the list as it is while
 * one is in use.
 */
import { SourceError } from '../../errors.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export class TopicPartitionIds {
  private readonly indexOf: Map<string, number>;

  constructor(readonly topics: readonly string[]) {
    if (topics.length === 0) throw new SourceError('kafka', 'source.kafka.topic: at least one topic is needed');
    this.indexOf = new Map(topics.map((t, i) => [t, i]));
    if (this.indexOf.size !== topics.length) throw new SourceError('kafka', `source.kafka.topic: a topic is listed twice (${topics.join(', ')})`);
  }

  id(topic: string, partition: number): number {
    const index = this.indexOf.get(topic);
    if (index === undefined) throw new SourceError('kafka', `partition ${partition} of topic ${topic}, which this source does not read`);
    if (!Number.isInteger(partition) || partition < 0) throw new SourceError('kafka', `partition ${partition} of topic ${topic} is not a partition number`);
    return partition * this.topics.length + index;
  }

  of(id: number): TopicPartition {
    if (!Number.isInteger(id) || id < 0) throw new SourceError('kafka', `source partition ${id} is not a source partition number`);
    const n = this.topics.length;
    return { topic: this.topics[id % n], partition: Math.floor(id / n) };
  }

  /** The ids of every partition listed per topic (a kafkajs member assignment, or per-topic offsets). */
  idsOf(byTopic: Record<string, readonly number[] | undefined>): number[] {
    const ids: number[] = [];
    for (const topic of this.topics) for (const p of byTopic[topic] ?? []) ids.push(this.id(topic, p));
    return ids.sort((a, b) => a - b);
  }
}
