import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkpointFileName, lastCheckpointNumber, pruneCheckpoints, readCheckpoint, writeCheckpoint, type Checkpoint,
} from '../../../src/daemon/checkpoint-file.js';
import { CheckpointError } from '../../../src/errors.js';

function checkpoint(n: number, stateBytes: number, partitions: number): Checkpoint {
  const states = Array.from({ length: partitions }, (_, p) => Uint8Array.from({ length: stateBytes }, (_, i) => (i * 31 + p * 7 + n) & 0xff));
  return {
    header: { version: 1, n, createdAtMs: 1, partitions, stateBytes, positions: { 0: 100 * n, 3: 7 }, maxTsMs: { 0: 1_767_225_600_000 + n, 3: null } },
    states,
  };
}

describe('checkpoint files', () => {
  it('round-trips header and every partition state byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-ckpt-'));
    const cp = checkpoint(3, 4099, 4);
    const path = await writeCheckpoint(dir, cp);
    expect(path).toBe(join(dir, checkpointFileName(3)));
    expect(readdirSync(dir)).toEqual(['checkpoint-3.bin']);
    const back = await readCheckpoint(dir, 3);
    expect(back.header).toEqual(cp.header);
    expect(back.states.map((s) => Buffer.from(s).toString('hex'))).toEqual(cp.states.map((s) => Buffer.from(s).toString('hex')));
  });

  it('refuses a missing, torn or renumbered file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-ckpt-'));
    await expect(readCheckpoint(dir, 1)).rejects.toBeInstanceOf(CheckpointError);
    await expect(readCheckpoint(dir, 1)).rejects.toMatchObject({ code: 'CHECKPOINT_FAILED' });
    await writeCheckpoint(dir, checkpoint(1, 64, 2));
    const full = await import('node:fs').then((fs) => fs.readFileSync(join(dir, checkpointFileName(1))));
    writeFileSync(join(dir, checkpointFileName(2)), full.subarray(0, full.length - 1));
    await expect(readCheckpoint(dir, 2)).rejects.toThrow(/not a complete version-1 checkpoint 2/);
    writeFileSync(join(dir, checkpointFileName(5)), full);
    await expect(readCheckpoint(dir, 5)).rejects.toThrow(/not a complete version-1 checkpoint 5/);
  });

  it('numbers continue after the highest file, and pruning keeps the named one and newer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-ckpt-'));
    expect(await lastCheckpointNumber(join(dir, 'missing'))).toBe(0);
    for (const n of [1, 2, 3, 4]) await writeCheckpoint(dir, checkpoint(n, 16, 1));
    writeFileSync(join(dir, 'checkpoint-6.tmp'), 'torn');
    expect(await lastCheckpointNumber(dir)).toBe(6);
    await pruneCheckpoints(dir, 3);
    expect(readdirSync(dir).sort()).toEqual(['checkpoint-3.bin', 'checkpoint-4.bin', 'checkpoint-6.tmp']);
    expect(existsSync(join(dir, 'checkpoint-1.bin'))).toBe(false);
  });
});
