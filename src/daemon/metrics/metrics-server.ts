/**
 * The daemon's HTTP endpoints (`daemon.metrics.listen`):
 *
 *   GET /metrics  Prometheus text format (daemon-metrics.ts); with a bearer token configured, only
 *                 requests carrying `Authorization: Bearer <token>` get it (401 otherwise)
 *   GET /healthz  200 while the process serves requests (liveness)
 *   GET /readyz   200 while the daemon is ready: not failed, not shutting down, its source connected
 *                 (Kafka: joined the group) and no sink failing; 503 with the reasons otherwise
 *   GET /         the live dashboard (dashboard-page.ts), which polls
 *   GET /dashboard.json  the same metrics as JSON (prom-client's getMetricsAsJSON); token as /metrics
 *   GET /last-window.json  the top 10 rows (by count) of the newest window emitted; token as /metrics
 *
 * Health answers and the page itself carry no secret and need no token, so a probe needs no credentials.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../errors.js';
import { LISTEN_ADDRESS } from '../daemon-config.js';
import { DASHBOARD_HTML } from './dashboard-page.js';

export interface MetricsServerOptions {
  /** host:port; port 0 picks a free one (see `address`). */
  listen: string;
  /** Required on /metrics when not null. */
  bearerToken: string | null;
}

/** What the data endpoints serve, attached once the daemon has started. */
export interface MetricsSource {
  registry: Registry;
  readiness: () => Promise<{ ready: boolean; reasons: string[] }>;
  /** The newest emitted window's rows, largest first (served as /last-window.json). */
  lastWindow: (limit: number) => unknown[];
}

export function parseListenAddress(listen: string, path = 'daemon.metrics.listen'): { host: string; port: number } {
  const m = LISTEN_ADDRESS.exec(listen);
  const port = m ? Number(m[2]) : -1;
  if (!m || port > 65535) throw new ConfigError(path, `"${listen}" must be host:port (e.g. 127.0.0.1:9464; port 0 picks a free one)`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export class MetricsServer {
  /** Null while the daemon starts: /healthz answers, /readyz and the data endpoints say "starting". */
  private source: MetricsSource | null = null;
  /** Main-thread time spent answering the data endpoints (collect + serialize), for ringflow_metrics_serve_seconds_total. */
  readonly served = { seconds: 0, requests: 0 };

  private constructor(private readonly server: Server, readonly address: string) {}

  /** Listens at once (a liveness probe is answered during start-up); attach() the figures once there are some. */
  static async start(o: MetricsServerOptions): Promise<MetricsServer> {
    const { host, port } = parseListenAddress(o.listen);
    let self: MetricsServer | null = null;
    const server = createServer((req, res) => void MetricsServer.handle(o, self?.source ?? null, self?.served ?? null, req, res));
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException): void => reject(new ConfigError('daemon.metrics.listen',
        `cannot listen on ${o.listen}: ${err.code ?? err.message}${err.code === 'EADDRINUSE' ? ' (another process has the port)' : ''}`, { cause: err }));
      server.once('error', failed);
      server.listen(port, host, () => {
        server.off('error', failed);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    self = new MetricsServer(server, `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    return self;
  }

  attach(source: MetricsSource): void {
    this.source = source;
  }

  private static async handle(o: MetricsServerOptions, src: MetricsSource | null, served: { seconds: number; requests: number } | null,
    req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
    if (path === '/healthz') return text(200, 'ok\n');
    if (path === '/readyz') {
      if (src === null) return text(503, 'not ready: starting\n');
      const r = await src.readiness().catch((err: Error) => ({ ready: false, reasons: [`readiness check failed: ${err.message}`] }));
      return r.ready ? text(200, 'ready\n') : text(503, `not ready: ${r.reasons.join('; ')}\n`);
    }
    if (path === '/') return text(200, DASHBOARD_HTML, 'text/html; charset=utf-8');
    // Browsers ask for it on their own; an answer without content keeps the page's console clean.
    if (path === '/favicon.ico') return text(204, '');
    if (path !== '/metrics' && path !== '/dashboard.json' && path !== '/last-window.json') return text(404, 'not found: try /, /metrics, /healthz or /readyz\n');
    if (o.bearerToken !== null && !tokenMatches(req.headers.authorization, o.bearerToken)) {
      res.setHeader('www-authenticate', 'Bearer');
      return text(401, 'unauthorized\n');
    }
    if (src === null) return text(503, 'starting\n');
    const startedMs = performance.now();
    try {
      if (path === '/metrics') text(200, await src.registry.metrics(), src.registry.contentType);
      else if (path === '/dashboard.json') text(200, JSON.stringify(await src.registry.getMetricsAsJSON()), 'application/json');
      else text(200, JSON.stringify(src.lastWindow(10)), 'application/json');
    } catch (err) {
      text(500, `metrics failed: ${(err as Error).message}\n`);
    } finally {
      // Wall time of this request's own work; collectors that await another thread include that wait.
      if (served) {
        served.seconds += (performance.now() - startedMs) / 1000;
        served.requests++;
      }
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
