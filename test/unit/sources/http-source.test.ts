import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { HttpSource, type HttpSourceOptions } from '../../../src/sources/http/source.js';
import type { ChunkHandler, SourceChunk } from '../../../src/sources/source.js';
import type { IngestCounts } from '../../../src/contracts/index.js';

/**
 * The tests' stand-in for the pipeline's ingest: a line is valid when it parses as a JSON object
 * with a numeric "id". (The real handler is the decode + filter kernels.)
 */
function countingHandler(log: string[] = []): ChunkHandler {
  return (chunk: SourceChunk): IngestCounts => {
    const text = Buffer.from(chunk.bytes).toString('utf8');
    const counts: IngestCounts = { acceptedLines: 0, invalidLines: 0, firstReasons: [] };
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let ok = false;
      try {
        const v = JSON.parse(line);
        ok = typeof v === 'object' && v !== null && typeof v.id === 'number';
      } catch {
        ok = false;
      }
      if (ok) {
        counts.acceptedLines++;
        log.push(line);
      } else {
        counts.invalidLines++;
        if (counts.firstReasons.length < 10) counts.firstReasons.push(`line ${i + 1}: invalid`);
      }
    });
    return counts;
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function post(port: number, body: Buffer | Buffer[], headers: Record<string, string | number> = {}, path = '/ingest', method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : null });
      });
    });
    // The server may answer (413/429) and close before the whole body is sent; that is expected.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const pieces = Array.isArray(body) ? body : [body];
    const writeNext = (i: number): void => {
      if (i === pieces.length) return void req.end();
      req.write(pieces[i], () => setImmediate(() => writeNext(i + 1)));
    };
    writeNext(0);
  });
}

const sources: HttpSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
});

async function startServer(options: HttpSourceOptions = {}, handler: ChunkHandler = countingHandler()): Promise<{ source: HttpSource; port: number }> {
  const source = new HttpSource({ port: 0, ...options });
  sources.push(source);
  await source.start(handler);
  return { source, port: source.address().port };
}

const ndjson = (lines: string[]): Buffer => Buffer.from(lines.join('\n') + '\n');

describe('HttpSource', () => {
  test('binds 127.0.0.1 by default and answers /healthz', async () => {
    const { source, port } = await startServer();
    expect(source.address().host).toBe('127.0.0.1');
    const reply = await post(port, Buffer.alloc(0), {}, '/healthz', 'GET');
    expect(reply).toMatchObject({ status: 200, body: { status: 'ok', paused: false } });
  });

  test('202 with the pipeline counts when some lines are valid; lines reach the handler', async () => {
    const log: string[] = [];
    const { port } = await startServer({}, countingHandler(log));
    const reply = await post(port, ndjson(['{"id":1}', 'not json', '{"id":2}', '{"x":3}', '{"id":3}']));
    expect(reply.status).toBe(202);
    expect(reply.body).toEqual({ accepted_lines: 3, invalid_lines: 2, first_reasons: ['line 2: invalid', 'line 4: invalid'] });
    expect(log).toEqual(['{"id":1}', '{"id":2}', '{"id":3}']);
  });

  test('400 with counts and the first reasons when no line is valid; reasons capped', async () => {
    const { port } = await startServer({ maxReasons: 3 });
    const reply = await post(port, ndjson(['nope', '{"x":1}', '[1]', '{', '"s"']));
    expect(reply.status).toBe(400);
    expect(reply.body.accepted_lines).toBe(0);
    expect(reply.body.invalid_lines).toBe(5);
    expect(reply.body.first_reasons).toEqual(['line 1: invalid', 'line 2: invalid', 'line 3: invalid']);
    const empty = await post(port, Buffer.from('\n \n'));
    expect(empty.status).toBe(400);
  });

  test('gzip bodies are decompressed; a broken gzip is a 400; unknown encodings 415', async () => {
    const log: string[] = [];
    const { port } = await startServer({}, countingHandler(log));
    const lines = Array.from({ length: 1000 }, (_, i) => `{"id":${i},"pad":"${'z'.repeat(50)}"}`);
    const reply = await post(port, gzipSync(ndjson(lines)), { 'Content-Encoding': 'gzip' });
    expect(reply.status).toBe(202);
    expect(reply.body.accepted_lines).toBe(1000);
    expect(log).toEqual(lines);
    const broken = await post(port, Buffer.from('definitely not gzip'), { 'Content-Encoding': 'gzip' });
    expect(broken.status).toBe(400);
    const br = await post(port, ndjson(['{"id":1}']), { 'Content-Encoding': 'br' });
    expect(br.status).toBe(415);
  });

  test('413 over maxBodyBytes: declared length, streamed chunked body, and after decompression', async () => {
    const log: string[] = [];
    const { port } = await startServer({ maxBodyBytes: 4096 }, countingHandler(log));
    const declared = await post(port, Buffer.from('{"id":1}\n'), { 'Content-Length': 100_000 });
    expect(declared.status).toBe(413);
    const line = Buffer.from(`{"id":1,"pad":"${'p'.repeat(500)}"}\n`);
    const streamed = await post(port, Array.from({ length: 20 }, () => line), { 'Transfer-Encoding': 'chunked' });
    expect(streamed.status).toBe(413);
    // 4 KiB limit; ~1 MB of repetitive NDJSON compresses to a few KB of gzip but must still be refused.
    const bomb = gzipSync(Buffer.concat(Array.from({ length: 2000 }, () => line)));
    expect(bomb.length).toBeLessThan(4096);
    const inflated = await post(port, bomb, { 'Content-Encoding': 'gzip' });
    expect(inflated.status).toBe(413);
    // Nothing of a refused body reached the pipeline (bodies are all-or-nothing).
    expect(log).toEqual([]);
    const ok = await post(port, line);
    expect(ok.status).toBe(202);
  });

  test('429 with Retry-After while paused, 202 again after resume', async () => {
    const { source, port } = await startServer({ retryAfterSeconds: 7 });
    source.pause();
    const refused = await post(port, ndjson(['{"id":1}']));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('7');
    expect((await post(port, Buffer.alloc(0), {}, '/healthz', 'GET')).body.paused).toBe(true);
    source.resume();
    expect((await post(port, ndjson(['{"id":1}']))).status).toBe(202);
  });

  test('429 beyond maxInFlightRequests while the pipeline holds a request (bounded buffering)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const counting = countingHandler();
    let calls = 0;
    const handler: ChunkHandler = async (chunk) => {
      calls++;
      const counts = counting(chunk);
      await gate; // the rings are full until released
      return counts as IngestCounts;
    };
    const { port } = await startServer({ maxInFlightRequests: 1 }, handler);
    const first = post(port, ndjson(['{"id":1}']));
    while (calls === 0) await new Promise((r) => setTimeout(r, 2));
    const second = await post(port, ndjson(['{"id":2}']));
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    release();
    expect((await first).status).toBe(202);
    expect((await post(port, ndjson(['{"id":3}']))).status).toBe(202);
  });

  test('bearer token: 401 without or with a wrong token, 202 with the right one', async () => {
    const token = 'a-sufficiently-long-secret-token';
    const { port } = await startServer({ bearerToken: token });
    const body = ndjson(['{"id":1}']);
    const none = await post(port, body);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((await post(port, body, { Authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await post(port, body, { Authorization: `Bearer ${token.slice(0, -1)}` })).status).toBe(401);
    expect((await post(port, body, { Authorization: `Basic ${token}` })).status).toBe(401);
    expect((await post(port, body, { Authorization: `Bearer ${token}` })).status).toBe(202);
  });

  test('404 and 405 for other routes; 503 after stop()', async () => {
    const { source, port } = await startServer();
    expect((await post(port, Buffer.alloc(0), {}, '/other', 'GET')).status).toBe(404);
    expect((await post(port, Buffer.alloc(0), {}, '/ingest', 'GET')).status).toBe(405);
    await source.stop();
    await expect(source.finished()).resolves.toBeUndefined();
  });

  test('handler calls are serialised and positions advance by body bytes', async () => {
    const seen: Array<[number, number]> = [];
    let active = 0;
    let maxActive = 0;
    const counting = countingHandler();
    const handler: ChunkHandler = async (chunk) => {
      active++;
      maxActive = Math.max(maxActive, active);
      seen.push([chunk.startPosition, chunk.endPosition]);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return counting(chunk) as IngestCounts;
    };
    const { source, port } = await startServer({ maxInFlightRequests: 8 }, handler);
    const bodies = Array.from({ length: 6 }, (_, i) => ndjson([`{"id":${i}}`]));
    const replies = await Promise.all(bodies.map((b) => post(port, b)));
    expect(replies.map((r) => r.status)).toEqual(Array(6).fill(202));
    expect(maxActive).toBe(1);
    seen.sort((a, b) => a[0] - b[0]);
    let pos = 0;
    for (const [start, end] of seen) {
      expect(start).toBe(pos);
      pos = end;
    }
    expect(source.stats().bytes).toBe(bodies.reduce((n, b) => n + b.length, 0));
  });
});
