/**
 * HTTP ingest: `POST /ingest` with an NDJSON body (optionally gzip) becomes one chunk for the
 * pipeline; the response waits until the pipeline has taken it into the rings and reports the
 * pipeline's counts.
 *
 *   202 {"accepted_lines":n,"invalid_lines":m,"first_reasons":[...]}   some line was valid
 *   400 same body                                                      no line was valid
 *   401 bad or missing bearer token      413 body over maxBodyBytes (wire or decompressed)
 *   415 unknown Content-Encoding         429 + Retry-After while paused or at maxInFlightRequests
 *   503 while stopping                   GET /healthz -> 200 {"status":"ok","paused":bool}
 *
 * A body is accepted whole or not at all: it is read completely (bounded by maxBodyBytes) before
 * it is handed over, so a 413 or a broken upload never leaves half a request in the rings and a
 * client may retry any non-202 answer. Memory is bounded by maxInFlightRequests x maxBodyBytes;
 * over that, or while the pipeline is backpressured, requests get 429 before their body is read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SourceError } from '../../errors.js';
import { readBody } from './body.js';
import { SourceBase } from '../source-base.js';
import { isPromiseLike, type ChunkHandler, type Source, type SourceHooks } from '../source.js';
import type { IngestCounts } from '../../contracts/index.js';

export interface HttpSourceOptions {
  host?: string;
  /** 0 picks a free port; read it back with address(). */
  port?: number;
  maxBodyBytes?: number;
  maxInFlightRequests?: number;
  retryAfterSeconds?: number;
  /** When set, requests must send `Authorization: Bearer <token>`. */
  bearerToken?: string | null;
  requestTimeoutMs?: number;
  /** At most this many reasons are returned per response. */
  maxReasons?: number;
}

const NEWLINE = 0x0a;

export class HttpSource extends SourceBase implements Source {
  readonly kind = 'http' as const;
  private server: Server | null = null;
  private readonly host: string;
  private readonly port: number;
  private readonly maxBodyBytes: number;
  private readonly maxInFlight: number;
  private readonly retryAfterSeconds: number;
  private readonly maxReasons: number;
  private readonly requestTimeoutMs: number;
  private readonly tokenDigest: Buffer | null;
  private inFlight = 0;
  private readonly inFlightDone = new Set<Promise<void>>();
  /** Handler calls are serialised: one chunk of partition 0 at a time, as the contract says. */
  private handlerTail: Promise<unknown> = Promise.resolve();
  private acceptedBytes = 0;

  constructor(options: HttpSourceOptions = {}) {
    super();
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 8080;
    this.maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
    this.maxInFlight = options.maxInFlightRequests ?? 8;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.maxReasons = options.maxReasons ?? 5;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.tokenDigest = options.bearerToken ? digest(options.bearerToken) : null;
  }

  async start(handler: ChunkHandler, hooks: SourceHooks = {}): Promise<void> {
    if (this.handler) throw new SourceError('http', 'start() called twice');
    this.handler = handler;
    this.hooks = hooks;
    const server = createServer((req, res) => this.track(this.onRequest(req, res)));
    server.requestTimeout = this.requestTimeoutMs;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new SourceError('http', `cannot listen on ${this.host}:${this.port}: ${err.message}`, { cause: err })));
      server.listen(this.port, this.host, () => resolve());
    });
    server.on('error', (err) => this.finish(new SourceError('http', 'server failed', { cause: err })));
    this.hooks.onAssign?.([0]);
  }

  address(): { host: string; port: number } {
    const info = this.server?.address() as AddressInfo | null;
    if (!info) throw new SourceError('http', 'not listening');
    return { host: info.address, port: info.port };
  }

  private track(p: Promise<void>): void {
    this.inFlightDone.add(p);
    void p.finally(() => this.inFlightDone.delete(p));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path === '/healthz' && req.method === 'GET') return json(res, 200, { status: 'ok', paused: this.isPaused() });
      if (path !== '/ingest') return reject(res, 404, 'not found');
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return reject(res, 405, 'method not allowed');
      }
      if (this.tokenDigest && !this.authorized(req)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return reject(res, 401, 'missing or invalid bearer token');
      }
      if (this.stopping) return reject(res, 503, 'shutting down');
      if (this.isPaused() || this.inFlight >= this.maxInFlight) {
        res.setHeader('Retry-After', String(this.retryAfterSeconds));
        return reject(res, 429, this.isPaused() ? 'backpressured, retry later' : 'too many requests in flight');
      }
      this.inFlight++;
      try {
        await this.ingest(req, res);
      } finally {
        this.inFlight--;
      }
    } catch (err) {
      if (!res.headersSent) reject(res, 500, `internal error: ${(err as Error).message}`);
      else res.destroy();
    }
  }

  private async ingest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const read = await readBody(req, this.maxBodyBytes);
    if (!read.ok) return reject(res, read.status, read.error);
    const body = read.body;
    if (countLines(body) === 0) return json(res, 400, { accepted_lines: 0, invalid_lines: 0, first_reasons: ['empty body'] });
    if (this.stopping) return reject(res, 503, 'shutting down');

    const counts = await this.handOver(body);
    const status = counts.acceptedLines > 0 ? 202 : 400;
    json(res, status, {
      accepted_lines: counts.acceptedLines,
      invalid_lines: counts.invalidLines,
      first_reasons: counts.firstReasons.slice(0, this.maxReasons),
    });
  }

  /** Queue the body behind earlier handler calls and return the pipeline's counts for it. */
  private handOver(body: Uint8Array): Promise<IngestCounts> {
    const run = async (): Promise<IngestCounts> => {
      const start = this.acceptedBytes;
      const end = start + body.length;
      const chunk = { bytes: body, sourcePartition: 0, startPosition: start, endPosition: end, lineCount: -1 };
      const out = this.handler!(chunk);
      const counts = isPromiseLike(out) ? await out : out;
      this.acceptedBytes = end;
      this.countDelivery(0, end, body.length);
      // A handler that reports nothing accepted every line (the pipeline always reports).
      return counts ?? { acceptedLines: countLines(body), invalidLines: 0, firstReasons: [] };
    };
    const result = this.handlerTail.then(run, run);
    this.handlerTail = result.catch(() => undefined);
    return result;
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Compare fixed-length digests so neither the token's length nor its prefix leaks through timing.
    const given = digest(match ? match[1].trim() : '');
    return timingSafeEqual(given, this.tokenDigest!) && match !== null;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.releasePauseGate();
    this.server?.close();
    this.server?.closeIdleConnections();
    await Promise.allSettled([...this.inFlightDone]);
    this.finish();
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.closed) return;
    this.closed = true;
    this.server?.closeAllConnections();
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Non-blank lines; cheap byte scan, no strings. */
export function countLines(body: Uint8Array): number {
  let lines = 0;
  let lineHasContent = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if (b === NEWLINE) {
      if (lineHasContent) lines++;
      lineHasContent = false;
    } else if (b !== 0x0d && b !== 0x20 && b !== 0x09) {
      lineHasContent = true;
    }
  }
  return lineHasContent ? lines + 1 : lines;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Error answers close the connection: the body may be unread, and draining it would defeat 413/429. */
function reject(res: ServerResponse, status: number, error: string): void {
  res.setHeader('Connection', 'close');
  json(res, status, { error });
}
