/**
 * A throw-away ClickHouse 18.16 (Debian's clickhouse-server) with its config, data and logs in a temp
 * dir. The handle can stop and start the same server on the same ports and data, so delivery tests
 * can take the sink's database away mid-stream and bring it back.
 */
import { join } from 'node:path';
import { ServiceError } from '../../src/errors.js';
import { clickHouseLayout, writeClickHouseConfig } from './clickhouse-config.js';
import { assertPortFree, findFreePorts, LOOPBACK_HOST, makeTempDir, removeTempDir, requireBinary } from './host.js';
import { ManagedProcess, waitUntilReady } from './process.js';

export interface ClickHouseStartOptions {
  /** HTTP port. Default: a free port. */
  httpPort?: number;
  /** Native protocol port. Default: a free port. */
  tcpPort?: number;
  /** clickhouse-server binary name or path. Default: 'clickhouse-server' (PATH, then /usr/sbin). */
  binary?: string;
  /** How long to wait for `GET /ping` to answer. Default: 30000. */
  readyTimeoutMs?: number;
}

export interface ClickHouseServer {
  readonly host: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  /** http://127.0.0.1:<httpPort> — what @clickhouse/client takes as `url`. */
  readonly url: string;
  /** Temp dir holding config, data and logs; kept across stop()/start(). */
  readonly dir: string;
  /** Server log file (plus stdout/stderr in <dir>/log/stdout.log). */
  readonly logFile: string;
  /** Wall time from spawn to the first successful /ping of the latest start(). */
  readonly startupMs: number;
  readonly running: boolean;
  /** Stops the server (SIGTERM, SIGKILL after graceMs) but keeps ports and data for start(). */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Starts the stopped server again on the same ports and data dir; resolves once /ping answers. */
  start(): Promise<void>;
  /** stop() and remove the temp dir; the handle is unusable afterwards. Safe to call twice. */
  close(): Promise<void>;
}

const SERVICE = 'clickhouse';

export async function startClickHouse(options: ClickHouseStartOptions = {}): Promise<ClickHouseServer> {
  const binary = requireBinary(SERVICE, options.binary ?? 'clickhouse-server');
  const [freeHttp, freeTcp] = await findFreePorts(2);
  const httpPort = options.httpPort ?? freeHttp;
  const tcpPort = options.tcpPort ?? freeTcp;
  const dir = makeTempDir('clickhouse');
  const layout = clickHouseLayout(dir);
  writeClickHouseConfig(layout, httpPort, tcpPort);
  const server = new LocalClickHouse(binary, httpPort, tcpPort, layout.dir, layout.configFile, layout.serverLog, layout.errorLog,
    options.readyTimeoutMs ?? 30_000);
  try {
    await server.start();
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }
  return server;
}

class LocalClickHouse implements ClickHouseServer {
  readonly host = LOOPBACK_HOST;
  readonly url: string;
  startupMs = 0;
  private proc: ManagedProcess | undefined;
  private closed = false;

  constructor(
    private readonly binary: string,
    readonly httpPort: number,
    readonly tcpPort: number,
    readonly dir: string,
    private readonly configFile: string,
    readonly logFile: string,
    private readonly errorLogFile: string,
    private readonly readyTimeoutMs: number,
  ) {
    this.url = `http://${LOOPBACK_HOST}:${httpPort}`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.closed) throw new ServiceError(SERVICE, 'start() after close()');
    if (this.running) return;
    await assertPortFree(SERVICE, this.httpPort);
    await assertPortFree(SERVICE, this.tcpPort);
    const startedAt = performance.now();
    const proc = new ManagedProcess({
      service: SERVICE,
      command: this.binary,
      args: [`--config-file=${this.configFile}`],
      logFile: join(this.dir, 'log', 'stdout.log'),
      extraLogFiles: [this.errorLogFile],
      cwd: this.dir,
    });
    this.proc = proc;
    await waitUntilReady({
      process: proc,
      what: `clickhouse-server on http port ${this.httpPort}`,
      deadlineMs: this.readyTimeoutMs,
      probe: () => pingClickHouse(this.url),
    });
    this.startupMs = performance.now() - startedAt;
  }

  async stop(options: { graceMs?: number } = {}): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || !proc.running) return;
    await proc.stop(options.graceMs ?? 15_000);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.stop();
    } finally {
      removeTempDir(this.dir);
    }
  }
}

async function pingClickHouse(url: string): Promise<boolean> {
  const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
  const body = await response.text();
  return response.ok && body.startsWith('Ok.');
}
