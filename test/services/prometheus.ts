/**
 * A throw-away Prometheus for tests: Debian's `prometheus` on a free loopback port, scraping the
 * given targets every `scrapeIntervalMs`, its TSDB in a temp dir that goes away with it. Only the
 * tests that need it start it (not part of the shared services).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertPortFree, findFreePort, LOOPBACK_HOST, makeTempDir, removeTempDir, requireBinary } from './host.js';
import { ManagedProcess, waitUntilReady } from './process.js';

export interface PrometheusStartOptions {
  /** host:port targets of one scrape job named `ringflow`. */
  targets: string[];
  scrapeIntervalMs?: number;
  /** Bearer token sent with every scrape. Default: none. */
  bearerToken?: string;
  readyTimeoutMs?: number;
}

export interface PrometheusServer {
  readonly url: string;
  readonly logFile: string;
  /** An instant query through the HTTP API: the result vector as (labels, value) pairs. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  stop(): Promise<void>;
}

const SERVICE = 'prometheus';

export async function startPrometheus(options: PrometheusStartOptions): Promise<PrometheusServer> {
  const binary = requireBinary(SERVICE, 'prometheus');
  const port = await findFreePort();
  await assertPortFree(SERVICE, port);
  const dir = makeTempDir('prometheus');
  const logFile = join(dir, 'prometheus.log');
  const interval = `${options.scrapeIntervalMs ?? 1000}ms`;
  const tokenFile = join(dir, 'token');
  if (options.bearerToken !== undefined) writeFileSync(tokenFile, options.bearerToken, { mode: 0o600 });
  // YAML is a superset of JSON, so the config is written as JSON.
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify({
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: [{
      job_name: 'ringflow',
      static_configs: [{ targets: options.targets }],
      ...(options.bearerToken !== undefined ? { authorization: { type: 'Bearer', credentials_file: tokenFile } } : {}),
    }],
  }));
  const url = `http://${LOOPBACK_HOST}:${port}`;
  let proc: ManagedProcess;
  try {
    proc = new ManagedProcess({
      service: SERVICE,
      command: binary,
      args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=${LOOPBACK_HOST}:${port}`, '--log.level=warn'],
      logFile,
      cwd: dir,
    });
    await waitUntilReady({
      process: proc,
      what: `prometheus on port ${port}`,
      deadlineMs: options.readyTimeoutMs ?? 30_000,
      probe: async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true,
      intervalMs: 100,
    });
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }
  let stopped = false;
  return {
    url,
    logFile,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = await res.json() as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(`prometheus query ${promql}: ${body.error ?? res.status}`);
      return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await proc.stop(5_000);
      } finally {
        removeTempDir(dir);
      }
    },
  };
}
