/**
 * Checkpoint files: the partition state buffers (dedupe Bloom filters + open window tables) and the
 * watermark, taken at a point where every chunk before `positions` is in the state and no task runs.
 * A restart that loads checkpoint N and resumes the source at its positions continues exactly where
 * the checkpoint left off: duplicates whose first copy came before the checkpoint are still detected,
 * and open windows keep their partial aggregates.
 *
 *   checkpoint-<n>.bin
 *   +-----------+----------------------+-----------------+-----------------+-----+
 *   | u32 LE    | header JSON (UTF-8)  | state of        | state of        | ... |
 *   | headerLen | see CheckpointHeader | partition 0     | partition 1     |     |
 *   +-----------+----------------------+-----------------+-----------------+-----+
 *                                       stateBytes each, partitions of them
 *
 * Written as checkpoint-<n>.tmp, fsync'ed, renamed, and the folder fsync'ed: a crash leaves either
 * the previous files or the complete new one, never a torn checkpoint under the final name.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';

export interface CheckpointHeader {
  version: 1;
  n: number;
  createdAtMs: number;
  partitions: number;
  stateBytes: number;
  /** Source partition -> position after the last chunk inside the state. */
  positions: Record<string, number>;
  /** Source partition -> max event time observed (the watermark state). */
  maxTsMs: Record<string, number | null>;
}

export interface Checkpoint {
  header: CheckpointHeader;
  /** One buffer per runtime partition, stateBytes each. */
  states: Uint8Array[];
}

export const checkpointFileName = (n: number): string => `checkpoint-${n}.bin`;

export async function writeCheckpoint(dir: string, cp: Checkpoint): Promise<string> {
  await mkdir(dir, { recursive: true });
  const header = Buffer.from(JSON.stringify(cp.header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length, 0);
  const tmp = join(dir, `checkpoint-${cp.header.n}.tmp`);
  const final = join(dir, checkpointFileName(cp.header.n));
  const fh = await open(tmp, 'w');
  try {
    await fh.writev([len, header, ...cp.states]);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, final);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return final;
}

export async function readCheckpoint(dir: string, n: number): Promise<Checkpoint> {
  const path = join(dir, checkpointFileName(n));
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new CheckpointError(`cannot read ${path}, which the committed offsets name: ${(err as Error).message}`, { cause: err });
  }
  const headerLen = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.subarray(4, 4 + headerLen).toString('utf8')) as CheckpointHeader;
  const expected = 4 + headerLen + header.partitions * header.stateBytes;
  if (header.version !== 1 || header.n !== n || bytes.length !== expected) {
    throw new CheckpointError(`${path} is not a complete version-1 checkpoint ${n} (${bytes.length} bytes, expected ${expected})`);
  }
  const states: Uint8Array[] = [];
  for (let p = 0, at = 4 + headerLen; p < header.partitions; p++, at += header.stateBytes) states.push(bytes.subarray(at, at + header.stateBytes));
  return { header, states };
}

/** Removes checkpoint files (and leftover .tmp files) numbered below `keepFrom`. */
export async function pruneCheckpoints(dir: string, keepFrom: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^checkpoint-(\d+)\.(bin|tmp)$/.exec(name);
    if (m && Number(m[1]) < keepFrom) await rm(join(dir, name), { force: true });
  }
}

/** Highest checkpoint number present (0 when none): new checkpoints continue after it. */
export async function lastCheckpointNumber(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let max = 0;
  for (const name of names) {
    const m = /^checkpoint-(\d+)\.(bin|tmp)$/.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}
