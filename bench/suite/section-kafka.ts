/**
 * Section (g), issue 5: Kafka -> ringflow -> sinks, next to the raw kafkajs consume rate on the same
 * topic in the same run. A throw-away broker is started here (test/services, Java 17); without it the
 * section is listed as skipped with the reason, never with a figure.
 *
 * Per topic shape (one clickstream event per message; `kafkaEventsPerMessage` events joined by '\n'
 * per message), on one topic of ONE partition filled once with kafkajs:
 *   raw       kafkajs eachBatch that only counts messages (bench/sources/kafka-consume-bench.ts);
 *   ringflow  the daemon (Daemon.start) on the canonical pipeline of examples/clickstream.json with
 *             source kafka (a fresh group, from the beginning) and the local files sink in a temp dir.
 * Both clocks start when the consumer has joined its group (Daemon.start resolves there) and stop when
 * every message is seen (raw) / every event is counted by the pipeline (ringflow: stats().input =
 * produced events: decoded, validated and scattered into the rings). Workers process a partition's
 * rows once a batch fills, so the last partial batches wait for the finish: the daemon then finishes
 * (drains the rings, closes every window, flushes the sinks); that time is the run's finish_ms, and
 * the rate with it included is a parameter too. The rows in windows.ndjson are checked against the
 * rows the pipeline emitted. Rounds interleave raw and ringflow.
 *
 * Each run also records the CPU it used in the timed span: all threads of this process (cpu_ms) and
 * the main thread alone. On a box with few cores the ratio is bounded by CPU per event, not by any
 * one thread: ringflow spends it on the consumer thread, the main thread, kernel workers, the sink
 * thread and V8's GC threads, raw kafkajs on one thread.
 */
import { readFileSync as readProcFile } from 'node:fs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { parseRingflowConfig } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { compileRunPlan } from '../../src/daemon/plan.js';
import { createDaemonLogger } from '../../src/daemon/logger.js';
import { createDaemonMetrics } from '../../src/daemon/metrics/daemon-metrics.js';
import { MetricsServer } from '../../src/daemon/metrics/metrics-server.js';
import type { PipelineStats } from '../../src/pipeline/pipeline.js';
import { startKafka, type KafkaServer } from '../../test/services/index.js';
import { consumeRaw, fillTopic, type TopicFixture } from '../sources/kafka-consume-bench.js';
import { REPO_ROOT } from './child.js';
import { runKafkaEndToEnd } from './section-kafka-e2e.js';
import { runKafkaScaleOut } from './section-kafka-scale-out.js';
import type { SuiteOptions } from './options.js';
import type { Progress } from './progress.js';
import type { KafkaShapeHeadline, RunRecord, SuiteResults } from './results.js';

const TOPIC_PARTITIONS = 4;
/** Divisible by 1, 2 and 3: every daemon count gets an even share. */
const SCALE_OUT_PARTITIONS = 6;
/** Processed events packed per message when the processed-events sink is on (sinks.kafka.eventsPerMessage). */
const PROCESSED_EVENTS_PER_MESSAGE = 100;
/** Same fetch sizing as the raw consumer in kafka-consume-bench.ts, so both read the same way. */
const FETCH = { maxBytes: 10 * 1024 * 1024, maxBytesPerPartition: 2 * 1024 * 1024, maxWaitTimeMs: 100 };
const POLL_MS = 2;
/** With metrics on, /metrics and /dashboard.json are read this often, as a Prometheus and an open dashboard would. */
const SCRAPE_INTERVAL_MS = 1_000;
/** Slowest rate accepted before a run is declared stuck (events/s), with a floor. */
const STUCK_EVENTS_PER_SEC = 10_000;
const MIN_DEADLINE_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU used so far: every thread of this process, and the main thread alone (NaN off Linux). */
interface CpuMark {
  processMs: number;
  mainThreadMs: number;
}

function cpuMark(): CpuMark {
  const u = process.cpuUsage();
  let mainThreadMs = Number.NaN;
  try {
    const stat = readProcFile('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime + stime (stat(5) fields 14 and 15) in clock ticks of 10 ms.
    mainThreadMs = (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    // not Linux: the main-thread figure stays NaN
  }
  return { processMs: (u.user + u.system) / 1000, mainThreadMs };
}

/** CPU parameters of a run of `events` events between two marks. */
function cpuParams(from: CpuMark, to: CpuMark, events: number): Record<string, number> {
  const cpuMs = to.processMs - from.processMs;
  return {
    cpu_ms: Math.round(cpuMs),
    main_thread_cpu_ms: Math.round(to.mainThreadMs - from.mainThreadMs),
    cpu_us_per_event: Number(((cpuMs * 1000) / events).toFixed(2)),
  };
}

interface RingflowRun {
  seconds: number;
  cpu: Record<string, number>;
  finishMs: number;
  stats: PipelineStats;
  windowRowsInFile: number;
  /** Plain record batches reached the chunk builder undecoded (kafka-record-block.ts). */
  recordBlockDecoder: boolean;
  /** Scrapes of /metrics (+ /dashboard.json) during the timed span; 0 with metrics off. */
  scrapes: number;
}

/** The daemon's metrics server (as `ringflow run` starts it) and a scraper reading it every SCRAPE_INTERVAL_MS. */
async function startScrapedMetrics(daemon: Daemon): Promise<{ scrapes: () => number; stop: () => Promise<void> }> {
  const view = daemon.metricsView();
  const server = await MetricsServer.start({ listen: '127.0.0.1:0', bearerToken: null });
  server.attach({ registry: createDaemonMetrics(view, 'ringflow-bench', server.served), readiness: view.readiness, lastWindow: view.lastWindow });
  let scrapes = 0;
  const scrape = async (): Promise<void> => {
    for (const path of ['/metrics', '/dashboard.json']) await (await fetch(`http://${server.address}${path}`)).text();
  };
  // One scrape before the clock starts, as a running daemon has long been scraped: the first one
  // loads and compiles the scrape path (prom-client, the HTTP client), a cost paid once per process.
  await scrape();
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    inFlight = scrape().then(() => { scrapes++; }, () => undefined);
  }, SCRAPE_INTERVAL_MS);
  return {
    scrapes: () => scrapes,
    stop: async () => {
      clearInterval(timer);
      await inFlight;
      await server.close();
    },
  };
}

/**
 * The canonical pipeline with a Kafka source and the files sink, plus the processed-events Kafka sink
 * when `eventsTopic` is given; everything it writes goes under `dir`.
 */
function daemonConfig(brokers: string[], topic: string, groupId: string, dir: string, eventsTopic: string | null) {
  const base = JSON.parse(readFileSync(resolve(REPO_ROOT, 'examples/clickstream.json'), 'utf8')) as Record<string, unknown>;
  return parseRingflowConfig({
    ...base,
    source: { type: 'kafka', kafka: { brokers, topic, groupId, clientId: groupId, fromBeginning: true, logLevel: 'error', memberIdFile: null, ...FETCH } },
    sinks: {
      files: { dir: join(dir, 'out') },
      deadLetterPath: join(dir, 'sinks.deadletter.ndjson'),
      ...(eventsTopic === null ? {} : { kafka: { brokers, eventsTopic, eventsPerMessage: PROCESSED_EVENTS_PER_MESSAGE } }),
    },
    daemon: { deadLetterPath: join(dir, 'dead-letter.ndjson'), statusIntervalMs: 0 },
  }, resolve(REPO_ROOT, 'examples'));
}

async function runRingflow(brokers: string[], fixture: TopicFixture, round: number, eventsTopic: string | null, withMetrics = false): Promise<RingflowRun> {
  const events = fixture.messages * fixture.eventsPerMessage;
  const dir = mkdtempSync(join(tmpdir(), 'ringflow-bench-kafka-'));
  const groupId = `bench_ringflow_${round}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2)}`;
  try {
    const daemon = await Daemon.start({ plan: compileRunPlan(daemonConfig(brokers, fixture.topic, groupId, dir, eventsTopic)), logger: createDaemonLogger('ringflow-bench', 'warn') });
    const metrics = withMetrics ? await startScrapedMetrics(daemon) : null;
    // Daemon.start resolves once the consumer joined its group: the instant the raw consumer's clock starts.
    const startedAt = performance.now();
    const cpuAtStart = cpuMark();
    const failure: { err?: Error } = {};
    daemon.onFatal((err) => { failure.err = err; });
    const deadline = startedAt + Math.max(MIN_DEADLINE_MS, (events / STUCK_EVENTS_PER_SEC) * 1000);
    try {
      while (daemon.status().stats.input < events) {
        if (failure.err) throw failure.err;
        if (performance.now() > deadline) throw new Error(`ringflow took more than ${Math.round((deadline - startedAt) / 1000)} s: ${JSON.stringify(daemon.status().stats)}`);
        await sleep(POLL_MS);
      }
    } catch (err) {
      await metrics?.stop();
      await daemon.shutdown('stop').catch(() => undefined);
      throw err;
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const cpu = cpuParams(cpuAtStart, cpuMark(), events);
    const scrapes = metrics?.scrapes() ?? 0;
    await metrics?.stop();
    const recordBlockDecoder = daemon.status().group?.recordBlockDecoder ?? false;
    const finishStarted = performance.now();
    const summary = await daemon.shutdown('finish');
    const finishMs = performance.now() - finishStarted;
    const windowsFile = readFileSync(join(dir, 'out', 'windows.ndjson'), 'utf8');
    let windowRowsInFile = 0;
    for (let i = windowsFile.indexOf('\n'); i !== -1; i = windowsFile.indexOf('\n', i + 1)) windowRowsInFile++;
    return { seconds, cpu, finishMs, stats: summary.stats, windowRowsInFile, recordBlockDecoder, scrapes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Raw kafkajs on this thread; its CPU span includes connecting and joining (little CPU). */
async function runRaw(kafka: Kafka, fixture: TopicFixture): Promise<{ seconds: number; cpu: Record<string, number> }> {
  const before = cpuMark();
  const seconds = await consumeRaw(kafka, fixture);
  return { seconds, cpu: cpuParams(before, cpuMark(), fixture.messages * fixture.eventsPerMessage) };
}

function rawRecord(fixture: TopicFixture, round: number, { seconds, cpu }: { seconds: number; cpu: Record<string, number> }): RunRecord {
  const events = fixture.messages * fixture.eventsPerMessage;
  return {
    section: 'kafka',
    name: `raw kafkajs eachBatch, ${shapeName(fixture)} (counts messages only)`,
    params: { messages: fixture.messages, events_per_message: fixture.eventsPerMessage, events, topic_mb: Number((fixture.bytes / 1e6).toFixed(1)), partitions: TOPIC_PARTITIONS, round, ...cpu },
    events_per_sec: Math.round(events / seconds),
    mb_per_sec: Number((fixture.bytes / 1e6 / seconds).toFixed(1)),
    elapsed_ms: Math.round(seconds * 1000),
  };
}

function ringflowRecord(fixture: TopicFixture, round: number, run: RingflowRun, withEvents: boolean, withMetrics: boolean): RunRecord {
  const events = fixture.messages * fixture.eventsPerMessage;
  const s = run.stats;
  return {
    section: 'kafka',
    name: `ringflow daemon: Kafka -> canonical pipeline -> files sink${withEvents ? ` + processed-events topic (${PROCESSED_EVENTS_PER_MESSAGE} events/message)` : ''}`
      + `${withMetrics ? `, metrics scraped every ${SCRAPE_INTERVAL_MS / 1000} s` : ''}, ${shapeName(fixture)}`,
    params: {
      messages: fixture.messages, events_per_message: fixture.eventsPerMessage, events, topic_mb: Number((fixture.bytes / 1e6).toFixed(1)),
      partitions: TOPIC_PARTITIONS, round, accepted: s.accepted, duplicates: s.duplicates, invalid: s.invalid, late: s.late,
      window_rows: s.windowRowsEmitted, finish_ms: Math.round(run.finishMs), ...run.cpu,
      with_finish_events_per_sec: Math.round(events / (run.seconds + run.finishMs / 1000)),
      record_block_decoder: run.recordBlockDecoder, processed_events_sink: withEvents, metrics_scrapes: run.scrapes,
    },
    events_per_sec: Math.round(events / run.seconds),
    mb_per_sec: Number((fixture.bytes / 1e6 / run.seconds).toFixed(1)),
    elapsed_ms: Math.round(run.seconds * 1000),
    note: 'clock: group joined -> every event counted into the rings; finish_ms = draining the rings, closing every window and flushing the sinks afterwards',
  };
}

const shapeName = (f: TopicFixture): string => (f.eventsPerMessage === 1 ? '1 event/message' : `${f.eventsPerMessage} events/message`);

const best = (runs: RunRecord[]): number | null => (runs.length === 0 ? null : Math.max(...runs.map((x) => x.events_per_sec ?? 0)));

/** One topic shape: fill, then `repeats` rounds of raw and ringflow; returns the headline of the shape. */
async function runShape(
  o: SuiteOptions, brokers: string[], kafka: Kafka, messages: number, eventsPerMessage: number,
  progress: Progress, results: SuiteResults, record: (r: RunRecord) => void,
): Promise<KafkaShapeHeadline> {
  const admin = kafka.admin();
  await admin.connect();
  const raws: RunRecord[] = [];
  const ours: RunRecord[] = [];
  const oursWithEvents: RunRecord[] = [];
  const oursWithMetrics: RunRecord[] = [];
  try {
    const t = performance.now();
    const fixture = await fillTopic(kafka, admin, messages, eventsPerMessage, TOPIC_PARTITIONS);
    progress.step(`filled ${fixture.topic} (${TOPIC_PARTITIONS} partitions): ${messages.toLocaleString('en-US')} messages x ${eventsPerMessage} events, ${(fixture.bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const events = messages * eventsPerMessage;
    for (let round = 1; round <= o.kafkaRepeats; round++) {
      const raw = rawRecord(fixture, round, await runRaw(kafka, fixture));
      raws.push(raw);
      record(raw);
      progress.result(raw);
      // Files sink alone, with metrics scraped (metrics on vs off in the same round, their order swapped
      // every round so neither always runs on a warmer process), then with the processed-events sink.
      const onOff = [{ eventsTopic: null, metrics: false }, { eventsTopic: null, metrics: true }];
      const variants: { eventsTopic: string | null; metrics: boolean }[] = [
        ...(round % 2 === 1 ? onOff : onOff.reverse()), { eventsTopic: `${fixture.topic}_processed_${round}`, metrics: false },
      ];
      for (const { eventsTopic, metrics } of variants) {
        if (eventsTopic !== null) await admin.createTopics({ topics: [{ topic: eventsTopic, numPartitions: TOPIC_PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
        const run = await runRingflow(brokers, fixture, round, eventsTopic, metrics);
        const r = ringflowRecord(fixture, round, run, eventsTopic !== null, metrics);
        // Every produced event counted once, and every emitted window row in the file: otherwise no figure.
        const problems: string[] = [];
        const st = run.stats;
        if (st.input !== events) problems.push(`pipeline input ${st.input} != ${events} produced`);
        const settled = st.accepted + st.invalid + st.duplicates + st.late + st.failed;
        if (settled !== events) problems.push(`after the finish accepted + invalid + duplicates + late + failed = ${settled} != ${events}`);
        if (run.windowRowsInFile !== run.stats.windowRowsEmitted) problems.push(`windows.ndjson holds ${run.windowRowsInFile} rows, the pipeline emitted ${run.stats.windowRowsEmitted}`);
        if (problems.length > 0) {
          results.errors.push({ section: 'kafka', what: r.name, reason: problems.join('; ') });
          progress.warn(`run not counted: ${problems.join('; ')}`);
          continue;
        }
        (eventsTopic !== null ? oursWithEvents : metrics ? oursWithMetrics : ours).push(r);
        record(r);
        progress.result(r);
        if (eventsTopic !== null) await admin.deleteTopics({ topics: [eventsTopic] }).catch(() => undefined);
      }
    }
    await admin.deleteTopics({ topics: [fixture.topic] }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  const rawBest = best(raws);
  const oursBest = best(ours);
  return {
    messages,
    events_per_message: eventsPerMessage,
    raw_kafkajs_events_per_sec: rawBest,
    ringflow_events_per_sec: oursBest,
    ringflow_with_events_sink_events_per_sec: best(oursWithEvents),
    ringflow_with_metrics_events_per_sec: best(oursWithMetrics),
    ratio: rawBest === null || oursBest === null || rawBest === 0 ? null : Number((oursBest / rawBest).toFixed(2)),
  };
}

export async function runKafkaSection(o: SuiteOptions, progress: Progress, results: SuiteResults, record: (r: RunRecord) => void): Promise<void> {
  progress.begin('kafka', `Kafka -> ringflow -> sinks vs raw kafkajs: ${o.kafkaMessages.toLocaleString('en-US')} messages of 1 event, ${o.kafkaBatchedMessages.toLocaleString('en-US')} of ${o.kafkaEventsPerMessage} events; ${TOPIC_PARTITIONS} partition; ${o.kafkaRepeats} round(s)`);
  let server: KafkaServer;
  try {
    server = await startKafka();
  } catch (err) {
    const reason = `Kafka broker did not start: ${(err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 400)}`;
    results.skipped.push({ section: 'kafka', what: 'Kafka -> ringflow -> sinks', reason });
    progress.warn(`skipped: ${reason}`);
    return;
  }
  progress.step(`broker ${server.brokers.join(',')} up in ${(server.startupMs / 1000).toFixed(1)} s`);
  const kafka = new Kafka({ clientId: 'ringflow-bench-kafka', brokers: server.brokers, logLevel: logLevel.NOTHING });
  const headline: NonNullable<SuiteResults['kafka']> = { topic_partitions: TOPIC_PARTITIONS, single: null, batched: null, end_to_end: null };
  results.kafka = headline;
  try {
    headline.single = await runShape(o, server.brokers, kafka, o.kafkaMessages, 1, progress, results, record);
    headline.batched = await runShape(o, server.brokers, kafka, o.kafkaBatchedMessages, o.kafkaEventsPerMessage, progress, results, record);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const e2e = await runKafkaEndToEnd({
        brokers: server.brokers, kafka, admin, partitions: TOPIC_PARTITIONS, messages: o.kafkaEndToEndEvents / o.kafkaEventsPerMessage,
        eventsPerMessage: o.kafkaEventsPerMessage, processedEventsPerMessage: o.kafkaEventsPerMessage,
        brokerCpuSeconds: () => server.cpuSeconds(),
      }, progress);
      if (e2e.problems.length > 0) {
        results.errors.push({ section: 'kafka', what: e2e.record.name, reason: e2e.problems.join('; ') });
        progress.warn(`end-to-end run not counted: ${e2e.problems.join('; ')}`);
      } else {
        record(e2e.record);
        progress.result(e2e.record);
        const { ringflow_cpu_s: ringflowCpu, broker_cpu_s: brokerCpu } = e2e.record.params;
        headline.end_to_end = {
          events: Number(e2e.record.params.events), partitions: TOPIC_PARTITIONS, events_per_sec: e2e.record.events_per_sec ?? 0,
          ringflow_cpu_s: Number(ringflowCpu), broker_cpu_s: typeof brokerCpu === 'number' ? brokerCpu : null,
        };
      }
    } catch (err) {
      results.errors.push({ section: 'kafka', what: 'end to end with every sink', reason: (err as Error).message.split('\n')[0].slice(0, 400) });
      progress.warn(`end-to-end run failed: ${(err as Error).message}`);
    }
    try {
      const so = await runKafkaScaleOut({
        brokers: server.brokers, kafka, admin, partitions: SCALE_OUT_PARTITIONS, events: o.kafkaEndToEndEvents, eventsPerMessage: 100,
        brokerCpuSeconds: () => server.cpuSeconds(),
      }, progress);
      for (const r of so.records) record(r);
      for (const p of so.problems) {
        results.errors.push({ section: 'kafka', what: 'scale-out', reason: p });
        progress.warn(`scale-out run not counted: ${p}`);
      }
      headline.scale_out = { partitions: SCALE_OUT_PARTITIONS, events: o.kafkaEndToEndEvents, runs: so.runs };
    } catch (err) {
      results.errors.push({ section: 'kafka', what: 'scale-out', reason: (err as Error).message.split('\n')[0].slice(0, 400) });
      progress.warn(`scale-out runs failed: ${(err as Error).message}`);
    } finally {
      await admin.disconnect();
    }
  } finally {
    await server.stop();
  }
  const s = headline.single;
  const b = headline.batched;
  progress.step(`ringflow / raw kafkajs: ${s.ratio ?? 'n/a'}x with 1 event/message; ${b.ratio ?? 'n/a'}x with ${b.events_per_message} events/message`);
}
