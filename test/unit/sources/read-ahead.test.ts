/**
 * ReadAhead's failure path: the read it issues ahead fails while the caller is still handling the
 * chunk before it. The failure must reach the next nextChunk() call, not surface as an unhandled
 * rejection (which ends a Node process). Its chunking is covered through FileSource
 * (file-source.test.ts) on real files.
 */
import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ReadAhead } from '../../../src/sources/file/read-ahead.js';

describe('ReadAhead', () => {
  it('a read that fails ahead, while the chunk before it is handled, fails the next call', async () => {
    const content = new TextEncoder().encode('a\nbb\n');
    let reads = 0;
    // A file whose second read fails (an I/O error on a real disk).
    const file = {
      read: (buf: Uint8Array, at: number, _length: number, _position: number) => {
        reads++;
        if (reads > 1) return Promise.reject(new Error('EIO: i/o error, read'));
        buf.set(content, at);
        return Promise.resolve({ bytesRead: content.length, buffer: buf });
      },
    } as unknown as FileHandle;
    const reader = new ReadAhead(file, 64, 0);
    const first = await reader.nextChunk();
    expect(new TextDecoder().decode(first!.bytes)).toBe('a\nbb\n');
    expect(reads).toBe(2); // the read after it is already in flight
    await new Promise((resolve) => setTimeout(resolve, 20)); // handling the chunk: the failure lands now
    await expect(reader.nextChunk()).rejects.toThrow(/EIO/);
  });
});
