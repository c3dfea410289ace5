/**
 * The metrics endpoints over a real HTTP server on loopback: the exposition carries the daemon's
 * counters as read at scrape time, Prometheus-style names and bounded labels; the bearer token guards
 * /metrics only; /readyz follows the daemon's readiness; a bad listen address names its config path.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDaemonMetrics, type MetricsView } from '../../../src/daemon/metrics/daemon-metrics.js';
import { MetricsServer, parseListenAddress } from '../../../src/daemon/metrics/metrics-server.js';
import { daemonConfigSchema } from '../../../src/daemon/daemon-config.js';
import type { PipelineStats } from '../../../src/pipeline/pipeline.js';
import { newCounters, recordWriteLatency } from '../../../src/sinks/sink.js';

const stats: PipelineStats = {
  input: 1000, accepted: 900, invalid: 50, duplicates: 40, late: 10, failed: 0, blankLines: 3,
  windowsEmitted: 4, windowRowsEmitted: 56, watermarkMs: 1_700_000_000_000,
};

function view(over: Partial<MetricsView> = {}): MetricsView & { isReady: boolean } {
  const v = {
    isReady: true,
    status: () => ({ stats: { ...stats }, unsettledChunks: 7, committed: { 0: 10 }, outstandingWindowDeliveries: 2, group: null }),
    lag: async () => [
      { sourcePartition: 0, endPosition: 500, committedPosition: 400, deliveredPosition: 480, lag: 100 },
      { sourcePartition: 1, endPosition: -1, committedPosition: -1, deliveredPosition: 0, lag: -1 },
    ],
    deadLettersByReason: () => new Map([['bad_type:ts', 30], ['malformed_json', 20], ['late', 10]]),
    sinkCounters: async () => {
      const c = { ...newCounters(), writtenRows: 56, retriedAttempts: 1, bufferedRows: 3, writtenBatches: 4, writtenBytes: 9000, failing: true };
      for (const seconds of [0.0004, 0.003, 0.003, 0.2, 30]) recordWriteLatency(c, seconds);
      return { 'clickhouse.windows': c };
    },
    runtime: () => ({ ringSlots: 16, pendingBatches: [3, 0], tasksCompleted: 120, busySeconds: 4.5, threads: 2, openWindowCells: [56, 12] }),
    checkpoint: () => ({ taken: 7, lastDurationMs: 250, lastTakenAtMs: 1_700_000_050_000, lastCommittedAtMs: 1_700_000_055_000, lastBytes: 4096 }),
    lastWindow: (limit: number) => [{ window_start: 0, window_end: 60_000, type: 'view', count: 9 }, { window_start: 0, window_end: 60_000, type: 'click', count: 4 }].slice(0, limit),
    readiness: async (): Promise<{ ready: boolean; reasons: string[] }> => ({ ready: v.isReady, reasons: v.isReady ? [] : ['sink clickhouse.windows is failing (retrying)'] }),
    now: () => 1_700_000_060_000,
    ...over,
  };
  return v;
}

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('daemon metrics', () => {
  it('exports the counters, gauges and per-partition positions read at scrape time', async () => {
    const text = await createDaemonMetrics(view(), 'clicks').metrics();
    const line = (re: RegExp): string => text.split('\n').find((l) => re.test(l)) ?? `(no line matching ${re})`;
    expect(line(/^ringflow_input_events_total\{/)).toBe('ringflow_input_events_total{daemon="clicks"} 1000');
    expect(line(/^ringflow_events_total\{.*outcome="accepted"/)).toMatch(/ 900$/);
    expect(line(/^ringflow_events_total\{.*outcome="duplicate"/)).toMatch(/ 40$/);
    expect(line(/^ringflow_dead_letter_lines_total\{.*reason="bad_type:ts"/)).toMatch(/ 30$/);
    expect(line(/^ringflow_watermark_seconds\{/)).toMatch(/ 1700000000$/);
    expect(line(/^ringflow_watermark_lag_seconds\{/)).toMatch(/ 60$/);
    expect(line(/^ringflow_source_lag\{.*source_partition="0"/)).toMatch(/ 100$/);
    // A position the source cannot tell (-1) is absent, not a misleading value.
    expect(text).not.toMatch(/^ringflow_source_lag\{.*source_partition="1"/m);
    expect(line(/^ringflow_ready\{/)).toMatch(/ 1$/);
    expect(text).toMatch(/^ringflow_process_resident_memory_bytes\{/m);
    expect(text).toMatch(/^# TYPE ringflow_events_total counter$/m);
    expect(line(/^ringflow_sink_rows_written_total\{.*sink="clickhouse.windows"/)).toMatch(/ 56$/);
    expect(line(/^ringflow_sink_retries_total\{/)).toMatch(/ 1$/);
    expect(line(/^ringflow_sink_buffered_rows\{/)).toMatch(/ 3$/);
    // Cumulative buckets: 1 attempt <= 1 ms, 3 <= 5 ms, 4 <= 250 ms, all 5 in +Inf.
    expect(text).toMatch(/^# TYPE ringflow_sink_write_seconds histogram$/m);
    expect(line(/^ringflow_sink_write_seconds_bucket\{.*le="0.001"/)).toMatch(/ 1$/);
    expect(line(/^ringflow_sink_write_seconds_bucket\{.*le="0.005"/)).toMatch(/ 3$/);
    expect(line(/^ringflow_sink_write_seconds_bucket\{.*le="0.25"/)).toMatch(/ 4$/);
    expect(line(/^ringflow_sink_write_seconds_bucket\{.*le="10"/)).toMatch(/ 4$/);
    expect(line(/^ringflow_sink_write_seconds_bucket\{.*le="\+Inf"/)).toMatch(/ 5$/);
    expect(line(/^ringflow_sink_write_seconds_count\{/)).toMatch(/ 5$/);
    expect(Number(line(/^ringflow_sink_write_seconds_sum\{/).split(' ')[1])).toBeCloseTo(30.2064, 6);
    expect(line(/^ringflow_ring_pending_batches\{.*partition="0"/)).toMatch(/ 3$/);
    expect(line(/^ringflow_ring_slots\{/)).toMatch(/ 16$/);
    expect(line(/^ringflow_window_open_cells\{.*partition="1"/)).toMatch(/ 12$/);
    expect(line(/^ringflow_sink_batches_written_total\{/)).toMatch(/ 4$/);
    expect(line(/^ringflow_sink_bytes_written_total\{/)).toMatch(/ 9000$/);
    expect(line(/^ringflow_sink_failing\{/)).toMatch(/ 1$/);
    expect(line(/^ringflow_worker_tasks_total\{/)).toMatch(/ 120$/);
    expect(line(/^ringflow_worker_busy_seconds_total\{/)).toMatch(/ 4.5$/);
    expect(line(/^ringflow_checkpoints_total\{/)).toMatch(/ 7$/);
    expect(line(/^ringflow_checkpoint_duration_seconds\{/)).toMatch(/ 0.25$/);
    expect(line(/^ringflow_checkpoint_age_seconds\{/)).toMatch(/ 10$/);
  });

  it('reads totals again at every scrape (counters grow with the pipeline)', async () => {
    let input = 5;
    const registry = createDaemonMetrics(view({ status: () => ({ stats: { ...stats, input }, unsettledChunks: 0, committed: {}, outstandingWindowDeliveries: 0, group: null }) }), 'x');
    expect(await registry.metrics()).toMatch(/^ringflow_input_events_total\{daemon="x"\} 5$/m);
    input = 12;
    // The next scrape is another request, in a later turn of the event loop (snapshots last one scrape).
    await new Promise((r) => setTimeout(r, 1));
    expect(await registry.metrics()).toMatch(/^ringflow_input_events_total\{daemon="x"\} 12$/m);
  });

  it('a source that cannot tell its positions leaves those series out and the scrape still answers', async () => {
    const text = await createDaemonMetrics(view({ lag: async () => { throw new Error('broker down'); } }), 'x').metrics();
    expect(text).not.toMatch(/^ringflow_source_lag\{/m);
    expect(text).toMatch(/^ringflow_input_events_total\{/m);
  });
});

describe('metrics server', () => {
  it('answers /healthz from the start; guards /metrics with the bearer token, answers /healthz and /readyz without it', async () => {
    const v = view();
    server = await MetricsServer.start({ listen: '127.0.0.1:0', bearerToken: 's3cret' });
    const base = `http://${server.address}`;
    // While the daemon starts: alive, not ready, no figures yet.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const starting = await fetch(`${base}/readyz`);
    expect([starting.status, await starting.text()]).toEqual([503, 'not ready: starting\n']);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(503);
    server.attach({ registry: createDaemonMetrics(v, 'x'), readiness: v.readiness, lastWindow: v.lastWindow });
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong!' } })).status).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).not.toContain('s3cret');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    v.isReady = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('not ready: sink clickhouse.windows is failing (retrying)\n');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    // The dashboard page needs no token; its data does, and is the registry as JSON.
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('dashboard.json');
    expect((await fetch(`${base}/dashboard.json`)).status).toBe(401);
    const json = await (await fetch(`${base}/dashboard.json`, { headers: { authorization: 'Bearer s3cret' } })).json() as { name: string }[];
    expect(json.map((m) => m.name)).toEqual(expect.arrayContaining(['ringflow_input_events_total', 'ringflow_sink_write_seconds']));
    expect((await fetch(`${base}/favicon.ico`)).status).toBe(204);
    expect((await fetch(`${base}/last-window.json`)).status).toBe(401);
    const last = await (await fetch(`${base}/last-window.json`, { headers: { authorization: 'Bearer s3cret' } })).json() as { count: number }[];
    expect(last.map((r) => r.count)).toEqual([9, 4]);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('serves /metrics without a token when none is configured', async () => {
    server = await MetricsServer.start({ listen: '127.0.0.1:0', bearerToken: null });
    server.attach({ registry: createDaemonMetrics(view(), 'x'), readiness: async () => ({ ready: true, reasons: [] }), lastWindow: () => [] });
    expect((await fetch(`http://${server.address}/metrics`)).status).toBe(200);
  });

  it('rejects a bad listen address with its config path, in the schema and at start', () => {
    expect(() => parseListenAddress('localhost')).toThrow(/daemon\.metrics\.listen: "localhost" must be host:port/);
    expect(parseListenAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    const r = daemonConfigSchema.safeParse({ metrics: { listen: '127.0.0.1:99999', token: 'x' } });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['metrics.listen', 'metrics']));
    expect(daemonConfigSchema.parse({}).metrics).toEqual({ listen: null, bearerTokenEnv: null });
  });
});

describe('last window', () => {
  it('keeps the newest window of each emission and ranks its rows by count', async () => {
    const { LastWindow } = await import('../../../src/daemon/metrics/last-window.js');
    const w = new LastWindow();
    expect(w.top(5)).toEqual([]);
    w.note([{ window_start: 0, window_end: 60, g: 'a', count: 1 }, { window_start: 60, window_end: 120, g: 'a', count: 2 }, { window_start: 60, window_end: 120, g: 'b', count: 5 }]);
    expect(w.top(5).map((r) => r.g)).toEqual(['b', 'a']);
    expect(w.top(1).map((r) => r.count)).toEqual([5]);
    // An older window emitted later (a late re-emission) does not replace the newest one.
    w.note([{ window_start: 0, window_end: 60, g: 'z', count: 99 }]);
    expect(w.top(5).map((r) => r.g)).toEqual(['b', 'a']);
  });
});
