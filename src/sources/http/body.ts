/**
 * Reads a request body into one buffer with a hard size limit, checked while streaming on the
 * wire bytes and — for gzip — again on the decompressed bytes, so a small zip bomb is stopped
 * at `maxBodyBytes` of output instead of filling memory.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';

export type BodyResult =
  | { ok: true; body: Uint8Array }
  | { ok: false; status: 400 | 413 | 415; error: string };

const INITIAL_BODY_BYTES = 64 * 1024;

export function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<BodyResult> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  const gzip = encoding === 'gzip' || encoding === 'x-gzip';
  if (!gzip && encoding !== 'identity' && encoding !== '') {
    return Promise.resolve({ ok: false, status: 415, error: `unsupported content-encoding: ${encoding}` });
  }
  const declared = Number(req.headers['content-length'] ?? -1);
  if (declared > maxBodyBytes) {
    return Promise.resolve({ ok: false, status: 413, error: `body of ${declared} bytes exceeds ${maxBodyBytes}` });
  }

  return new Promise<BodyResult>((resolve) => {
    let buf = new Uint8Array(!gzip && declared > 0 ? declared : Math.min(INITIAL_BODY_BYTES, maxBodyBytes));
    let filled = 0;
    let wireBytes = 0;
    let settled = false;
    const gunzip = gzip ? createGunzip() : null;

    const done = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      if (!result.ok) {
        req.unpipe();
        gunzip?.destroy();
        // Stop reading the rest: the caller answers and closes the connection.
        req.pause();
      }
      resolve(result);
    };

    const tooLarge = (): void => done({ ok: false, status: 413, error: `body exceeds ${maxBodyBytes} bytes` });

    const append = (piece: Buffer): void => {
      if (settled) return;
      if (filled + piece.length > maxBodyBytes) return tooLarge();
      if (filled + piece.length > buf.length) {
        const bigger = new Uint8Array(Math.min(maxBodyBytes, Math.max(buf.length * 2, filled + piece.length)));
        bigger.set(buf.subarray(0, filled));
        buf = bigger;
      }
      buf.set(piece, filled);
      filled += piece.length;
    };

    req.on('data', (piece: Buffer) => {
      wireBytes += piece.length;
      if (wireBytes > maxBodyBytes) tooLarge();
    });
    req.on('error', (err) => done({ ok: false, status: 400, error: `request stream failed: ${err.message}` }));
    req.on('aborted', () => done({ ok: false, status: 400, error: 'request aborted' }));

    if (gunzip) {
      gunzip.on('data', append);
      gunzip.on('error', (err) => done({ ok: false, status: 400, error: `invalid gzip body: ${err.message}` }));
      gunzip.on('end', () => done({ ok: true, body: buf.subarray(0, filled) }));
      req.pipe(gunzip);
    } else {
      req.on('data', append);
      req.on('end', () => done({ ok: true, body: buf.subarray(0, filled) }));
    }
  });
}
