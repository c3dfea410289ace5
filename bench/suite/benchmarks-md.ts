/**
 * Writes BENCHMARKS.md from a SuiteResults (the content of bench/results/latest.json), so every figure
 * in it comes from one real run. Text that interprets the figures quotes them from the same run.
 * To re-render BENCHMARKS.md and the chart from an existing results file without measuring again:
 *   node dist/bench/suite/benchmarks-md.js [bench/results/latest.json]
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checksSection } from './checks.js';
import { REPO_ROOT } from './child.js';
import { sweepChartOf } from './svg-chart.js';
import { rate } from './progress.js';
import type { KafkaShapeHeadline, RunRecord, SuiteResults } from './results.js';

const n = (v: number | null | undefined, unit = 'events/s'): string => (v === null || v === undefined ? 'not measured' : rate(v, unit));
const x = (v: number | null): string => (v === null ? 'n/a' : `${v}x`);
const mib = (v: number | null): string => (v === null ? '-' : `${v} MiB`);

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const params = (r: RunRecord, keys: string[]): string => keys.filter((k) => r.params[k] !== undefined).map((k) => `${k}=${r.params[k]}`).join(', ');

function find(r: SuiteResults, section: string, prefix: string): RunRecord | undefined {
  return r.runs.find((x) => x.section === section && x.name.startsWith(prefix));
}

function machineSection(r: SuiteResults): string {
  const m = r.machine;
  const s = m.load_average_start, e = m.load_average_end;
  const busy = Math.max(s.one, e?.one ?? 0) > m.cores * 0.5;
  return [
    '## Machine',
    '',
    `- ${m.cores} cores${m.cpu_quota_cores ? ` (cgroup quota ${m.cpu_quota_cores})` : ''}, ${m.cpu_model}${m.cpu_mhz ? ` @ ${m.cpu_mhz} MHz` : ''}, ${m.memory_gib} GiB RAM`,
    `- Node ${m.node} (V8 ${m.v8}), ${m.os}`,
    `- NDJSON decode: ${m.ndjson_decoder ?? 'JS only (not recorded)'}`,
    `- load average (1/5/15 min): ${s.one} / ${s.five} / ${s.fifteen} at start, ${e ? `${e.one} / ${e.five} / ${e.fifteen}` : '?'} at end`,
    busy ? `- **The machine was busy during this run** (1-minute load above half the core count): other processes competed for the ${m.cores} cores, so the figures are lower and noisier than on a quiet machine.` : '- The machine was quiet (1-minute load at most half the core count).',
  ].join('\n');
}

function headline(r: SuiteResults): string {
  const check = (system: string) => {
    const c = r.correctness.find((k) => k.system === system);
    if (!c) return 'not run';
    return c.aggregatesEqual && c.summaryEqual ? `equal to ringflow (users_approx within ±${(c.hllRelativeBound * 100).toFixed(1)}%)` : `**differs**: ${c.differences.slice(0, 2).join('; ')}`;
  };
  const rf = r.ringflow_replay_events_per_sec;
  const c = r.events_per_cpu_sec ?? { ringflow_replay: null, ringflow_columnar: null, naive_node: null, flink: null };
  const cpu = (v: number | null) => (v === null ? '-' : rate(v, 'events/CPU-s'));
  const rel = (v: number | null) => (v === null || rf === null ? 'n/a' : `${(rf / v).toFixed(2)}x`);
  const inp = r.input;
  return [
    '## Headline: the canonical pipeline on the same NDJSON file',
    '',
    inp ? `Input: ${inp.events.toLocaleString('en-US')} events, ${(inp.size_bytes / 2 ** 20).toFixed(0)} MiB (${inp.bytes_per_event} bytes/event), ${inp.invalid.toLocaleString('en-US')} invalid, ${inp.duplicates.toLocaleString('en-US')} duplicates.` : 'The replay section did not run.',
    '',
    table(['system', 'events/s', 'ringflow replay is', 'events per CPU-second', 'peak RSS', 'output check'], [
      ['ringflow replay (NDJSON)', n(rf), rf === null ? '-' : '1x', cpu(c.ringflow_replay), mib(r.peak_rss_mib.ringflow_replay), 'reference of the checks'],
      ['hand-written Node (readline + JSON.parse + Set + Map)', n(r.naive_node_events_per_sec), rel(r.naive_node_events_per_sec), cpu(c.naive_node), mib(r.peak_rss_mib.naive_node), check('naive-node')],
      ['Apache Flink (DataStream, mini-cluster)', n(r.flink_events_per_sec), rel(r.flink_events_per_sec), cpu(c.flink), mib(r.peak_rss_mib.flink), check('flink')],
      ['ringflow columnar (generated columns, no decode)', n(r.ringflow_columnar_events_per_sec), '-', cpu(c.ringflow_columnar), mib(r.peak_rss_mib.ringflow_columnar), 'own counts checked'],
    ]),
    '',
    'events per CPU-second = input events / CPU time of the whole process (all threads, start-up and output included); it moves much less than events/s when other processes share the cores. Not measured for the JVM.',
    mainThreadLine(r, rf),
    '',
    `Ratios: replay / Node = ${x(r.ratios.replay_vs_naive_node)}, replay / Flink = ${x(r.ratios.replay_vs_flink)}, columnar / Node = ${x(r.ratios.columnar_vs_naive_node)}, columnar / Flink = ${x(r.ratios.columnar_vs_flink)}.`,
  ].join('\n');
}

/** The main thread decodes, gates and scatters every event: its CPU per event caps the replay rate. */
function mainThreadLine(r: SuiteResults, replayRate: number | null): string {
  const best = r.runs.find((x) => x.section === 'replay' && x.name.startsWith('ringflow replay') && x.events_per_sec === replayRate);
  const m = best?.main_thread_events_per_cpu_sec;
  if (best === undefined || m === undefined || best.main_thread_cpu_ms === undefined || best.elapsed_ms === undefined) return '';
  return `\nIn the fastest replay run the main thread (decode + filter + late gate straight into the ring slots with one partition; with more, also key hashes and the scatter) used ${(best.main_thread_cpu_ms / 1000).toFixed(2)} CPU-s (process start-up and output included), ${rate(m, 'events/CPU-s')}: the replay rate cannot go past that while one thread does this work.`;
}

function targets(r: SuiteResults): string {
  return [
    '## Targets from the issues',
    '',
    table(['target', 'from', 'required', 'measured', 'met'], r.targets.map((t) => [
      t.target, t.source, t.unit === 'x' ? `≥ ${t.required}x` : `≥ ${rate(t.required, t.unit)}`,
      t.measured === null ? 'not measured' : t.unit === 'x' ? `${t.measured}x` : rate(t.measured, t.unit),
      t.met === null ? 'n/a' : t.met ? 'yes' : '**no**',
    ])),
  ].join('\n');
}

function runsTable(r: SuiteResults, section: string, keys: string[]): string {
  const runs = r.runs.filter((x) => x.section === section);
  if (runs.length === 0) return '_Not run._';
  return table(['measurement', 'result', 'parameters'], runs.map((x) => {
    const res = x.p50_ms !== undefined
      ? `p50 ${x.p50_ms} ms, p99 ${x.p99_ms} ms, max ${x.max_ms} ms (${x.samples} windows)`
      : [x.events_per_sec !== undefined ? n(x.events_per_sec) : '', x.events_per_cpu_sec !== undefined ? n(x.events_per_cpu_sec, 'events/CPU-s') : '',
        x.main_thread_events_per_cpu_sec !== undefined ? `main thread ${n(x.main_thread_events_per_cpu_sec, 'events/CPU-s')}` : '', x.rows_per_sec !== undefined ? n(x.rows_per_sec, 'rows/s') : '',
        x.gb_per_sec !== undefined ? `${x.gb_per_sec} GB/s` : '', x.mb_per_sec !== undefined ? `${x.mb_per_sec} MB/s` : '',
        x.peak_rss_mib !== undefined ? `${x.peak_rss_mib} MiB peak` : ''].filter(Boolean).join(', ');
    return [x.name, res, params(x, keys)];
  }));
}

/** What the end-to-end run's CPU seconds allow on this machine, every core busy the whole time. */
function cpuBound(e2e: NonNullable<NonNullable<SuiteResults['kafka']>['end_to_end']>, machineCores: number, quotaCores: number | null): string {
  const cores = Math.min(machineCores, quotaCores ?? machineCores);
  if (e2e.ringflow_cpu_s === undefined || e2e.broker_cpu_s === undefined || e2e.broker_cpu_s === null) return '';
  const cpu = e2e.ringflow_cpu_s + e2e.broker_cpu_s;
  const bound = (e2e.events * cores) / cpu;
  return ` CPU from the daemon's start (its start-up and group join included) to the last acknowledgement: ringflow ${e2e.ringflow_cpu_s.toFixed(1)} s, the Kafka broker ${e2e.broker_cpu_s.toFixed(1)} s (${e2e.events.toLocaleString('en-US')} events fetched, the accepted ones produced again to the processed-events topic); with ${cores} cores busy the whole time that work allows at most ${n(bound)}.`;
}

/** Metrics on against off (best of the rounds of each), signed: -1.5% = 1.5% slower with metrics on. */
function metricsCost(h: KafkaShapeHeadline | null): string {
  const on = h?.ringflow_with_metrics_events_per_sec ?? null;
  const off = h?.ringflow_events_per_sec ?? null;
  if (on === null || off === null || off === 0) return '-';
  const pct = ((on - off) / off) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** Issue 5: both topic shapes side by side (best run of each system on the same topic). */
function kafkaSection(r: SuiteResults): string {
  const k = r.kafka ?? null;
  const row = (label: string, h: KafkaShapeHeadline | null): string[] => [label, h ? h.messages.toLocaleString('en-US') : '-',
    n(h?.raw_kafkajs_events_per_sec), n(h?.ringflow_events_per_sec), x(h?.ratio ?? null), n(h?.ringflow_with_events_sink_events_per_sec ?? null),
    n(h?.ringflow_with_metrics_events_per_sec ?? null), metricsCost(h)];
  const e2e = k?.end_to_end ?? null;
  return [
    '## Kafka -> ringflow -> sinks, next to raw kafkajs (issue 5)',
    '',
    k === null ? '_Not run._' : `One topic of ${k.topic_partitions} partition${k.topic_partitions === 1 ? '' : 's'} per shape, filled once; raw kafkajs and the ringflow daemon read the same topic in the same run (best of the rounds). The next column: the same daemon with the processed-events Kafka sink on as well. The last two: the files-sink daemon again with its metrics server on and \`/metrics\` and \`/dashboard.json\` read every second (as a Prometheus and an open dashboard would), and the change against metrics off. On a shared box the rounds of one configuration differ by more than that change, so it is not the cost of the metrics: that is measured as CPU per scrape in ARCHITECTURE.md ("Measurements", "Metrics").`,
    '',
    ...(k === null || e2e === null ? [] : [`**End to end with every sink** (ClickHouse, Redis, the processed-events topic and files; first read to the last row in ClickHouse): ${e2e.events.toLocaleString('en-US')} events through a ${e2e.partitions}-partition topic at **${n(e2e.events_per_sec)}**.${cpuBound(e2e, r.machine.cores, r.machine.cpu_quota_cores)}`, '']),
    ...(k === null ? [] : [table(['shape', 'messages', 'raw kafkajs eachBatch', 'ringflow daemon (canonical pipeline, files sink)', 'ringflow / raw', 'ringflow + processed-events sink', 'ringflow, metrics scraped every 1 s', 'metrics on vs off'], [
      row('1 event per message', k.single),
      row(`${k.batched?.events_per_message ?? '?'} events per message`, k.batched),
    ]), '']),
    ...scaleOutTable(r),
    runsTable(r, 'kafka', ['events', 'events_per_message', 'topic_mb', 'partitions', 'round', 'duplicates', 'finish_ms', 'with_finish_events_per_sec', 'daemons', 'scale_out', 'read_factor']),
  ].join('\n');
}

/** Issue 14: 1, 2 and 3 daemons in one group on one box, next to one daemon without scale-out. */
function scaleOutTable(r: SuiteResults): string[] {
  const so = r.kafka?.scale_out ?? null;
  if (!so || so.runs.length === 0) return [];
  const one = so.runs.find((x) => x.daemons === 1 && !x.scale_out) ?? null;
  const vs = (v: number): string => (one ? x(Number((v / one.events_per_cpu_sec).toFixed(2))) : '-');
  return [
    `**Scale-out** (\`daemon.scaleOut\`; \`bench/suite/section-kafka-scale-out.ts\`): ${so.events.toLocaleString('en-US')} events on one ${so.partitions}-partition topic keyed by event id, 100 events per message, read by 1 daemon without scale-out and by 1, 2 and 3 daemons with it, each its own \`ringflow run --until-caught-up\` process, files sink only, all started together on this one machine. Clock: processes spawned to the last exit; CPU: the daemons' user + system (GNU time). "read" is input lines over all daemons / events: a rebalance at the start (a daemon joining while another already reads) makes the daemons read again from the dedupe replay start. Every run's window rows equal the run without scale-out, or it is not counted.`,
    '',
    table(['daemons', 'scale-out', 'events/s', 'events per CPU-second', 'events per CPU-second vs 1 daemon without scale-out', 'ringflow CPU-s', 'broker CPU-s', 'read'],
      so.runs.map((v) => [String(v.daemons), v.scale_out ? 'on' : 'off', n(v.events_per_sec), n(v.events_per_cpu_sec, 'events/CPU-s'), vs(v.events_per_cpu_sec),
        v.ringflow_cpu_s.toFixed(1), v.broker_cpu_s === null ? '-' : v.broker_cpu_s.toFixed(1), `${v.read_factor.toFixed(2)}x`])),
    '',
    'On one 2-core machine more daemons only share the same two cores, so events/s cannot grow here; what the table shows is the cost of the second stage and of the start-up rebalances (events per CPU-second). Where each daemon has its own machine, the first stage (decode, dedupe, windows: nearly all the CPU) divides by the number of daemons, while the merge stays on one daemon and handles one record per window, group and source partition, not per event; the partitions of the topic bound the number of daemons that get work.',
    '',
  ];
}

/** The Kafka consumer has its own thread: what is left is CPU per event against the cores. */
function kafkaBullet(r: SuiteResults): string | null {
  const k = r.kafka ?? null;
  if (k === null || (k.single === null && k.batched === null)) return null;
  const cores = r.machine.cores;
  const cpuUs = (system: string, perMessage: number): number | null => {
    const v = r.runs
      .filter((x) => x.section === 'kafka' && x.name.startsWith(system) && x.params.events_per_message === perMessage)
      .map((x) => Number(x.params.cpu_us_per_event))
      .filter((x) => Number.isFinite(x) && x > 0);
    return v.length === 0 ? null : Math.min(...v);
  };
  const shape = (label: string, h: KafkaShapeHeadline | null): string => {
    if (h === null) return '';
    const raw = cpuUs('raw kafkajs', h.events_per_message);
    const ours = cpuUs('ringflow daemon', h.events_per_message);
    const cpu = raw === null || ours === null ? '' : ` (CPU of all threads per event: raw ${raw} µs, ringflow ${ours} µs, which caps ringflow at ${rate((cores / ours) * 1e6)} on ${cores} cores)`;
    return ` ${label}: raw kafkajs ${n(h.raw_kafkajs_events_per_sec)}, ringflow ${n(h.ringflow_events_per_sec)}${cpu}.`;
  };
  return `- **Kafka.** ringflow runs the kafkajs consumer on its own thread, so fetching overlaps with decode and scatter on the main thread, and it reads plain record batches without kafkajs's per-record decoding: each batch's records go undecoded to the chunk builder, which copies the values into the NDJSON chunk (\`src/sources/kafka/record-block.ts\`; transactional and control batches still go through kafkajs). That is why it can pass the raw kafkajs consumer, which decodes every record into an object with string offsets (ARCHITECTURE.md).${shape('1 event/message', k.single)}${shape(`${k.batched?.events_per_message ?? '?'} events/message`, k.batched)}`;
}

/** CPU per event of the whole process and the ceiling it sets on this machine's cores. */
function cpuBullet(r: SuiteResults): string {
  const c = r.events_per_cpu_sec ?? { ringflow_replay: null, ringflow_columnar: null, naive_node: null, flink: null };
  const us = (v: number | null) => (v === null ? 'not measured' : `${(1e6 / v).toFixed(2)} µs`);
  const cores = r.machine.cores;
  const ceiling = (v: number | null) => (v === null ? 'not measured' : rate(v * cores));
  return `- **CPU per event.** Whole-process CPU time (all threads, process start-up and output writing included, which the rates leave out) per input event: ringflow replay ${us(c.ringflow_replay)}, ringflow columnar ${us(c.ringflow_columnar)}, the Node peer ${us(c.naive_node)}. Even alone on the machine and perfectly parallel, ${cores} cores cap replay at about ${ceiling(c.ringflow_replay)} and columnar at ${ceiling(c.ringflow_columnar)}; 15M events/s on ${cores} cores needs at most ${((cores / 15e6) * 1e6).toFixed(2)} µs of CPU per event, 3M events/s at most ${((cores / 3e6) * 1e6).toFixed(2)} µs.`;
}

function bounds(r: SuiteResults): string {
  const decode = find(r, 'kernels', 'decode + filter');
  const json = find(r, 'kernels', 'baseline: JSON.parse');
  const scatter = find(r, 'kernels', 'scatter');
  const proc = find(r, 'kernels', 'processor: enrich -> dedupe (1 h');
  const hash = find(r, 'kernels', 'hash:');
  const oneThread = r.runs.find((k) => k.section === 'sweeps' && k.name.startsWith('columnar, 1 threads x 1 partitions'));
  const lines = [
    '## What bounds the numbers',
    '',
    `- **One producer.** The main thread is the single producer of every ring: it decodes every event and decides the watermark in input order, so its CPU per event caps replay whatever the number of worker threads (measured per run: \`main thread … events/CPU-s\` in the replay runs below, and under the headline). On one core the decode kernel (with the filter rules and key hashes; the native block decoder with the JS tiers for the lines it declines, when it is built: see the machine section) ran at ${n(decode?.events_per_sec)} here (JSON.parse + the same rules: ${n(json?.events_per_sec)}). With one partition (the default for one worker thread) rows are decoded straight into the ring slots and the workers compute the key hashes; with more partitions the main thread also hashes the keys and scatters the rows, about 100 ns per row on the canonical schema in JS and about 70 with the native copy (ARCHITECTURE.md; ${n(scatter?.events_per_sec)} on the 16-byte rows of the runtime bench). The columnar path drops decode but keeps generation and key hashing (${n(hash?.events_per_sec, 'keys/s')} on one core, two keys per event) on the main thread.`,
    `- **The workers.** One partition processor (enrich -> dedupe with a 1 h Bloom -> aggregate) runs at ${n(proc?.events_per_sec)} on one core in the micro-benchmark; the end-to-end runs add the ring hand-over, one piscina task per partition in flight (about 40 µs per task, ARCHITECTURE.md) and Bloom cache misses on the real key stream.${oneThread ? ` With 1 thread and 1 partition the columnar path ran at ${n(oneThread.events_per_sec)}.` : ''}`,
    cpuBullet(r),
    `- **Cores.** With ${r.machine.cores} cores the main thread and the workers share the CPUs. The defaults give the main thread a core of its own (threads = cores - 1; one partition for one thread, whose rows are then decoded straight into its ring slots, else 2 partitions per thread): on this 2-core box 2 worker threads + the main thread oversubscribe it, and the sweep shows what more threads and partitions cost.`,
    '- **The peers.** The Node peer is one thread of JSON.parse + object work (and GC). Flink runs on a JVM in a local mini-cluster with per-record serialization between operators; its figure excludes JVM and mini-cluster start (reported separately).',
    ...(kafkaBullet(r) === null ? [] : [kafkaBullet(r)!]),
    '- **Noise.** Load average is recorded at the start and end; replay figures are the best of the rounds, runtime figures the best of the repeats, every other point ran once. On a shared machine figures move by ±30 % and more.',
  ];
  return lines.join('\n');
}

export function benchmarksMarkdown(r: SuiteResults): string {
  const skipped = [...r.skipped.map((s) => `- skipped: ${s.section} / ${s.what}: ${s.reason}`), ...r.errors.map((e) => `- **error**: ${e.section} / ${e.what}: ${e.reason}`)];
  return [
    '# ringflow benchmarks',
    '',
    `> Generated by \`npm run bench${r.mode === 'default' ? '' : ` -- --${r.mode}`}\` from \`bench/results/latest.json\` (run ${r.started_at}, ${r.duration_s} s). Every figure below is from that one run; do not edit by hand — re-run the suite.`,
    '',
    machineSection(r),
    '',
    headline(r),
    '',
    targets(r),
    '',
    ...(skipped.length ? ['### Skipped or failed in this run', '', ...skipped, ''] : []),
    '## Method',
    '',
    '- **Replay (c)**: a generated clickstream file (~100 bytes/event, 2% invalid lines, 5% duplicate event ids, in event-time order with 1% unusual JSON spellings; `bench/gen/make-clickstream-file.ts`, seed 1, cached in `bench/results/tmp/`) through the canonical pipeline of `examples/clickstream.json` (filter -> enrich by country -> dedupe by event_id, 1 h horizon, p = 1e-9 -> 60 s tumbling windows by type x region: count, amount_sum, amount_max, users_approx). `ringflow replay` (runtime defaults: threads = cores - 1, one partition for one thread and 2 per thread above that, 16 ring slots), the hand-written Node pipeline (`bench/peers/naive-node.ts`, the test reference itself) and Flink (`bench/peers/flink/`, parallelism = cores, exact distinct users) each run in their own process; peak RSS is the process high-water mark (VmHWM). Before a peer\'s rate is reported its aggregates and its summary counters are compared with ringflow\'s (`test/reference/compare-outputs.ts`): everything exact except users_approx (ringflow\'s HyperLogLog within 4 standard errors, 6.5%) and amount_sum (1e-9 relative). Rates are input events / elapsed; ringflow\'s elapsed runs from pipeline creation to the last window closed, Flink\'s is the job runtime without the mini-cluster start. The three systems run in interleaved rounds (ringflow, Node, Flink, ringflow, ...; 3 rounds by default); the headline keeps each system\'s fastest checked run and its highest peak RSS, and every run is listed below. The file holds 6M events by default so that start-up and JIT warm-up (TurboFan compiles of about 0.6 CPU-s per run in ringflow; every system pays its own) are a small share of each run; one more ringflow run on a 2M-event file shows the rate where they weigh more (not a headline).',
    '- **Columnar (d)**: `bench/columnar/`: events generated straight into the columns of the batch `Pipeline.openStaging()` gives (with one partition, the ring slot itself) (event_id bytes + hash, ts, user_id + hash, type, amount, country, __line, __late = 0) by a xorshift PRNG, then the real `Pipeline` (runtime scatter or direct slots, rings, piscina workers, canonical partition processor, watermark, window emitter) — no NDJSON, no decode. Generation and hashing run on the main thread and are included. Each run checks accepted + duplicates = events, duplicates = generated repeats, window counts = accepted. The headline is the faster of the runs (as many as replay rounds).',
    '- **Sweeps (e)**: threads x partitions (partitions ≥ threads) for columnar and replay; distinct user keys (the HLL key); the dedupe horizon, with the Bloom sized for 5,000 events/s x horizon (its memory is in the parameters). Each point is one process.',
    '- **Latency (f)**: the columnar generator at a fixed rate with event time = wall clock; per window, the processing time when the watermark passed its end and when the sink thread acknowledged its rows (files sink: appended and fdatasync\'ed). Windows are 250 ms with 100 ms out-of-orderness (not the canonical 60 s / 5 s) to get tens of samples in seconds; the first second is warm-up. `emit` = rows merged on the main thread, before the sink.',
    '- **Kafka (g)**: a Kafka 3.9 broker started for the run (KRaft, one node, Java 17; `test/services/kafka.ts`); per shape one topic of 4 partitions filled once by kafkajs with generated clickstream events, messages spread round-robin (seed 7, no invalid lines, 5% duplicate ids; `bench/sources/kafka-consume-bench.ts`), one event per message or 1000 events joined by newlines per message. In rounds on that same topic: raw kafkajs (`eachBatch` that only counts messages, a fresh group) and the ringflow daemon (`Daemon.start`, the canonical pipeline of `examples/clickstream.json`, source kafka with a fresh group, files sink in a temp dir; same fetch sizes: 10 MiB, 2 MiB per partition, 100 ms max wait). Both in the suite\'s process; both clocks run from the group join to the last message seen (raw) or the last event counted into the rings (ringflow: pipeline input = produced). `finish_ms` is the daemon\'s finish after that (drain, close every window, flush the sinks), also shown as `with_finish_events_per_sec`. Each ringflow run is checked: input = produced, accepted + invalid + duplicates + late + failed = produced, rows in windows.ndjson = rows emitted. Each round also runs the daemon with the processed-events Kafka sink on (a fresh 4-partition topic, 100 events per message). The end-to-end run (`bench/suite/section-kafka-e2e.ts`) starts ClickHouse and Redis as well and runs the daemon with every sink (ClickHouse, Redis, the processed-events topic with 1000 events per message, files) on a 4-partition topic of 1000 events per message; its clock runs from the group join to the end of the finish (every window closed and every sink acknowledged, so the last row is in ClickHouse), and it is checked like the others plus ClickHouse rows = rows emitted.',
    '- **Kernels (a)**: tinybench, one core, mean time of a task over a fixed block of events. **Runtime (b)**: `bench/runtime/` (ring vs postMessage with the same bounded in-flight batches, consumer checks the sums; scatter; scheduler comparison).',
    '',
    '## Kernels (one core, tinybench)',
    '',
    runsTable(r, 'kernels', ['lines', 'bytes_per_line', 'keys_per_task', 'partitions', 'batch_rows', 'time_ms']),
    '',
    '## Runtime: ring vs postMessage, scatter, scheduler',
    '',
    runsTable(r, 'runtime', ['batch_rows', 'rows', 'repeats']),
    '',
    '## Replay runs',
    '',
    runsTable(r, 'replay', ['events', 'threads', 'partitions', 'parallelism']),
    '',
    '## Columnar end-to-end run',
    '',
    runsTable(r, 'columnar', ['events', 'threads', 'partitions', 'batch_rows', 'bloom_mib']),
    '',
    '## Sweeps',
    '',
    '![threads x partitions sweep](bench/results/sweep.svg)',
    '',
    runsTable(r, 'sweeps', ['events', 'threads', 'partitions', 'user_keys', 'dedupe_horizon_ms', 'bloom_mib']),
    '',
    '## Latency: window close -> rows in the sink',
    '',
    runsTable(r, 'latency', ['achieved_rate', 'threads', 'partitions', 'window_ms', 'out_of_orderness_ms', 'sink_max_delay_ms', 'emit_p50_ms', 'emit_p99_ms']),
    '',
    kafkaSection(r),
    '',
    checksSection(),
    '',
    bounds(r),
    '',
    '## Running it',
    '',
    '```',
    'npm run bench              # default, under 10 minutes: 6M-event file, both peers, small sweeps',
    'npm run bench -- --quick   # under 2 minutes: 300K events, Flink skipped unless --flink',
    'npm run bench -- --full    # heavier sweeps: up to 2 x cores threads, 64 partitions, 10M user keys, 6 h horizon',
    'npm run bench -- --only replay,columnar   # a subset of: kernels, runtime, replay, columnar, sweeps, latency, kafka',
    'npm run bench -- --no-kafka               # without the Kafka section (it starts a broker: Java 17)',
    '```',
    '',
    'Flink needs Java 17 and Maven; its jar is built on first use (dependencies cached in ~/.m2). Without them the Flink row is reported as skipped with the reason. The Kafka section needs Java 17 and the Kafka jars in the Maven cache (install-deps.sh); without them it is reported as skipped.',
    '',
  ].join('\n');
}

export function writeBenchmarksMarkdown(path: string, r: SuiteResults): void {
  writeFileSync(path, benchmarksMarkdown(r));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const path = resolve(process.argv[2] ?? join(REPO_ROOT, 'bench/results/latest.json'));
  const results = JSON.parse(readFileSync(path, 'utf8')) as SuiteResults;
  writeBenchmarksMarkdown(join(REPO_ROOT, 'BENCHMARKS.md'), results);
  writeFileSync(join(dirname(path), 'sweep.svg'), sweepChartOf(results));
  process.stdout.write(`rewrote BENCHMARKS.md and ${join(dirname(path), 'sweep.svg')} from ${path}\n`);
}
