import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { FileSource } from '../../../src/sources/file/file-source.js';
import type { Source, SourceChunk } from '../../../src/sources/source.js';
import { StreamSource } from '../../../src/sources/file/stream-source.js';

const dir = mkdtempSync(join(tmpdir(), 'ringflow-file-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function writeTemp(content: string | Uint8Array): string {
  const path = join(dir, `in-${fileNo++}.ndjson`);
  writeFileSync(path, content);
  return path;
}

interface Seen {
  text: string;
  bytes: Buffer;
  start: number;
  end: number;
}

/** Runs a source to the end, copying each chunk (the buffer is reused after the handler returns). */
async function collect(source: Source, asyncHandler = false): Promise<Seen[]> {
  const seen: Seen[] = [];
  await source.start((chunk: SourceChunk) => {
    const bytes = Buffer.from(chunk.bytes);
    seen.push({ text: bytes.toString('utf8'), bytes, start: chunk.startPosition, end: chunk.endPosition });
    if (asyncHandler) return new Promise<void>((r) => setImmediate(r));
  });
  await source.finished();
  await source.close();
  return seen;
}

function expectChunkInvariants(seen: Seen[], content: Buffer, startAt = 0): void {
  expect(Buffer.concat(seen.map((s) => s.bytes)).equals(content.subarray(startAt))).toBe(true);
  let pos = startAt;
  seen.forEach((s, i) => {
    expect(s.start).toBe(pos);
    expect(s.end).toBe(pos + s.bytes.length);
    pos = s.end;
    // Every chunk but the last ends on a line boundary; the last may be a final line without '\n'.
    if (i < seen.length - 1) expect(s.bytes[s.bytes.length - 1]).toBe(0x0a);
  });
}

describe('FileSource', () => {
  test('cuts chunks at the last newline and carries partial lines over', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `{"i":${i},"pad":"${'x'.repeat(i % 37)}"}`);
    const content = Buffer.from(lines.join('\n') + '\n');
    const seen = await collect(new FileSource({ path: writeTemp(content), chunkBytes: 256 }));
    expect(seen.length).toBeGreaterThan(10);
    expectChunkInvariants(seen, content);
    // No line is split between chunks.
    const delivered = seen.flatMap((s) => s.text.split('\n').filter((l) => l !== ''));
    expect(delivered).toEqual(lines);
  });

  test('delivers a final line without newline', async () => {
    const content = Buffer.from('{"a":1}\n{"a":2}\n{"a":3}');
    const seen = await collect(new FileSource({ path: writeTemp(content), chunkBytes: 8 }));
    expectChunkInvariants(seen, content);
    expect(seen[seen.length - 1].text.endsWith('{"a":3}')).toBe(true);
  });

  test('keeps CR with its line when a read ends between CR and LF', async () => {
    // chunkBytes 8: the first read ends right after '\r' of the first line.
    const content = Buffer.from('{"a":1}\r\n{"b":22}\r\n{"c":3}\r\n');
    const seen = await collect(new FileSource({ path: writeTemp(content), chunkBytes: 8 }));
    expectChunkInvariants(seen, content);
    for (const s of seen) {
      expect(s.bytes[s.bytes.length - 1]).toBe(0x0a);
      expect(s.text.split('\r\n').slice(0, -1).every((l) => !l.includes('\r') && !l.includes('\n'))).toBe(true);
    }
  });

  test('a line longer than the buffer grows the buffer instead of splitting the line', async () => {
    const long = `{"big":"${'y'.repeat(5000)}"}`;
    const content = Buffer.from(`{"a":1}\n${long}\n{"a":2}\n`);
    const seen = await collect(new FileSource({ path: writeTemp(content), chunkBytes: 64 }));
    expectChunkInvariants(seen, content);
    expect(seen.some((s) => s.text.includes(long))).toBe(true);
  });

  test('resumes at a committed position and reports progress', async () => {
    const content = Buffer.from('{"a":1}\n{"a":2}\n{"a":3}\n');
    const path = writeTemp(content);
    const first = new FileSource({ path, chunkBytes: 8 });
    const seen: Seen[] = [];
    await first.start(async (chunk) => {
      seen.push({ text: Buffer.from(chunk.bytes).toString(), bytes: Buffer.from(chunk.bytes), start: chunk.startPosition, end: chunk.endPosition });
      await first.commit(chunk.sourcePartition, chunk.endPosition);
    });
    await first.finished();
    expect(first.progress()).toEqual({ bytesRead: content.length, totalBytes: content.length });
    const [lag] = await first.lag();
    expect(lag).toMatchObject({ endPosition: content.length, committedPosition: content.length, lag: 0 });
    await first.close();

    const secondLineStart = seen[1].start;
    const resumed = await collect(new FileSource({ path, chunkBytes: 8, startPosition: secondLineStart }));
    expectChunkInvariants(resumed, content, secondLineStart);
    expect(resumed.map((s) => s.text).join('')).toBe('{"a":2}\n{"a":3}\n');
  });

  test('property: any content and chunk size reassemble exactly, cut only at newlines', async () => {
    const line = fc.stringMatching(/^[a-z{}":,\r ]{0,40}$/);
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 60 }), fc.boolean(), fc.integer({ min: 1, max: 128 }), fc.boolean(), async (lines, trailingNewline, chunkBytes, slow) => {
        const text = lines.join('\n') + (trailingNewline && lines.length > 0 ? '\n' : '');
        const content = Buffer.from(text);
        const seen = await collect(new FileSource({ path: writeTemp(content), chunkBytes }), slow);
        expectChunkInvariants(seen, content);
      }),
      { numRuns: 60 },
    );
  });

  test('property: resuming at any line start reads exactly the rest, positions from there', async () => {
    const line = fc.stringMatching(/^[a-z"{}: ]{0,50}$/);
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 64 }), async (lines, pick, chunkBytes) => {
        const content = Buffer.from(lines.map((l) => `${l}\n`).join(''));
        const from = lines.slice(0, pick % lines.length).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
        const seen = await collect(new FileSource({ path: writeTemp(content), chunkBytes, startPosition: from }));
        expectChunkInvariants(seen, content, from);
      }),
      { numRuns: 100 },
    );
  });

  test('pause() holds reading until resume()', async () => {
    const content = Buffer.from(Array.from({ length: 50 }, (_, i) => `{"i":${i}}`).join('\n') + '\n');
    const source = new FileSource({ path: writeTemp(content), chunkBytes: 32 });
    let chunks = 0;
    let pausedAt = -1;
    await source.start(() => {
      chunks++;
      if (chunks === 2) {
        source.pause();
        pausedAt = chunks;
      }
    });
    // Give the read loop time to run (file reads go through the thread pool): it must not deliver.
    while (pausedAt < 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    expect(chunks).toBe(pausedAt);
    expect(source.stats().paused).toBe(true);
    source.resume();
    await source.finished();
    expect(chunks).toBeGreaterThan(pausedAt);
    expect(source.stats().bytes).toBe(content.length);
    await source.close();
  });

  test('a FIFO (no seeking: read from its current position) delivers every line whole, its writer pausing between pieces', async () => {
    // Regular files are read with blocking reads; a FIFO must not be: its writer may pause.
    const fifo = join(dir, `fifo-${fileNo++}`);
    execFileSync('mkfifo', [fifo]);
    const lines = Array.from({ length: 2000 }, (_, i) => `{"i":${i},"pad":"${'p'.repeat(i % 97)}"}\n`);
    const content = Buffer.from(lines.join(''));
    const source = new FileSource({ path: fifo, chunkBytes: 4096 });
    const seen = collect(source);
    // Written in pieces with pauses between them, so reads find the pipe empty now and then.
    const out = createWriteStream(fifo);
    for (let at = 0; at < content.length; at += 7000) {
      out.write(content.subarray(at, at + 7000));
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise<void>((r) => out.end(r));
    expectChunkInvariants(await seen, content);
    expect(source.stats().totalBytes).toBe(-1);
  });

  test('resuming a FIFO at a position fails start() with a SourceError (a pipe cannot seek)', async () => {
    const fifo = join(dir, `fifo-${fileNo++}`);
    execFileSync('mkfifo', [fifo]);
    const writer = createWriteStream(fifo); // lets the reader's open() return
    const started = new FileSource({ path: fifo, startPosition: 100 }).start(() => {});
    await expect(started).rejects.toThrow(/cannot resume .* not a regular file/);
    writer.destroy();
  });

  test('a missing file fails start() with a SourceError', async () => {
    await expect(new FileSource({ path: join(dir, 'absent.ndjson') }).start(() => undefined)).rejects.toMatchObject({ code: 'SOURCE_FAILED' });
  });

  test('a rejecting handler fails finished()', async () => {
    const source = new FileSource({ path: writeTemp('{"a":1}\n'), chunkBytes: 64 });
    await source.start(() => Promise.reject(new Error('ring closed')));
    await expect(source.finished()).rejects.toMatchObject({ code: 'SOURCE_FAILED' });
    await source.close();
  });
});

describe('StreamSource (stdin)', () => {
  test('lines split across arbitrary stream pieces come out whole', async () => {
    const content = Buffer.from('{"a":1}\r\n{"a":22}\n{"a":333}\n{"a":4}');
    const pieces = [3, 7, 1, 9, 2, 40].reduce<{ out: Buffer[]; at: number }>(
      (acc, n) => ({ out: [...acc.out, content.subarray(acc.at, acc.at + n)], at: acc.at + n }),
      { out: [], at: 0 },
    ).out.filter((p) => p.length > 0);
    const seen = await collect(new StreamSource({ stream: Readable.from(pieces), chunkBytes: 16 }));
    expectChunkInvariants(seen, content);
  });

  test('stop() ends a stream that never ends', async () => {
    const never = new Readable({ read() {} });
    never.push('{"a":1}\n');
    const source = new StreamSource({ stream: never, chunkBytes: 1024 });
    const seen: string[] = [];
    await source.start((c) => void seen.push(Buffer.from(c.bytes).toString()));
    while (seen.length === 0) await new Promise((r) => setImmediate(r));
    await source.stop();
    await expect(source.finished()).resolves.toBeUndefined();
    expect(seen).toEqual(['{"a":1}\n']);
  });
});
