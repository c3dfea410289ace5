/**
 * Per-sink metrics, from the sink thread's counters (one request to the sink thread per scrape):
 * rows written, retried attempts, dead-lettered rows, buffered rows, and the write latency histogram
 * of each attempt (`ringflow_sink_write_seconds`). The histogram's buckets are counted in the sink
 * thread, where the writes happen, so it is exported as a registry metric built from those counts
 * rather than as a prom-client Histogram fed by observe() calls on this thread.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { WRITE_LATENCY_BUCKETS_S, type SinkCounters } from '../../sinks/sink.js';

export type SinkCountersRead = () => Promise<Record<string, SinkCounters>>;

/** `read` is called by every sink metric of a scrape: give one that asks the sink thread once per scrape (oncePerScrape; the daemon's does). */
export function registerSinkMetrics(registry: Registry, read: SinkCountersRead): void {
  const registers = [registry];
  const perSink = (name: string, help: string, pick: (c: SinkCounters) => number, kind: 'counter' | 'gauge'): void => {
    const collect = async function (this: Counter | Gauge): Promise<void> {
      this.reset();
      let all: Record<string, SinkCounters>;
      try {
        all = await read();
      } catch {
        return; // the sink thread is gone (shutting down): the series are absent
      }
      for (const [sink, c] of Object.entries(all)) {
        if (this instanceof Counter) this.inc({ sink }, pick(c));
        else this.set({ sink }, pick(c));
      }
    };
    if (kind === 'counter') new Counter({ name, help, labelNames: ['sink'], registers, collect });
    else new Gauge({ name, help, labelNames: ['sink'], registers, collect });
  };
  perSink('ringflow_sink_rows_written_total', 'Rows each sink (e.g. clickhouse.windows, kafka.events) stored in its destination.', (c) => c.writtenRows, 'counter');
  perSink('ringflow_sink_retries_total', 'Failed write attempts that were retried, per sink.', (c) => c.retriedAttempts, 'counter');
  perSink('ringflow_sink_dead_lettered_rows_total', 'Rows a sink wrote to the sinks\' dead letter (the daemon stops committing when this grows).', (c) => c.deadLetteredRows, 'counter');
  perSink('ringflow_sink_batches_written_total', 'Batches (write requests that succeeded) per sink.', (c) => c.writtenBatches, 'counter');
  perSink('ringflow_sink_bytes_written_total', 'Bytes stored per sink where the sink produces them itself (Kafka, files); 0 for ClickHouse and Redis, whose clients serialize the rows.', (c) => c.writtenBytes, 'counter');
  perSink('ringflow_sink_failing', '1 while a sink\'s last write attempt failed and none has succeeded since (its destination is unreachable or refusing).', (c) => (c.failing ? 1 : 0), 'gauge');
  perSink('ringflow_sink_buffered_rows', 'Rows accepted by a sink and not yet stored or dead-lettered.', (c) => c.bufferedRows, 'gauge');

  const name = 'ringflow_sink_write_seconds';
  const help = 'Duration of each write request to a sink\'s destination (retried attempts included).';
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      let all: Record<string, SinkCounters> = {};
      try {
        all = await read();
      } catch {
        // absent while the sink thread is gone
      }
      for (const [sink, c] of Object.entries(all)) {
        let cumulative = 0;
        WRITE_LATENCY_BUCKETS_S.forEach((le, i) => {
          cumulative += c.writeLatencyCounts[i];
          values.push({ metricName: `${name}_bucket`, labels: { sink, le }, value: cumulative });
        });
        values.push({ metricName: `${name}_bucket`, labels: { sink, le: '+Inf' }, value: c.writeAttempts });
        values.push({ metricName: `${name}_sum`, labels: { sink }, value: c.writeLatencySumSeconds });
        values.push({ metricName: `${name}_count`, labels: { sink }, value: c.writeAttempts });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}
