/**
 * A processor module that fails to load on the worker threads: every task of a partition fails before
 * it reaches process(), so no retry can make progress. The runtime must reject (drain, whenWritable)
 * with the load error instead of re-dispatching failing tasks forever, which once looked like a hung
 * replay burning a core.
 */
import { expect, test } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import { feed, seqSchema } from './feed.js';
import { parseRuntimeConfig } from '../../../src/runtime/runtime-config.js';

const failingUrl = new URL('../../../src/runtime/testing/worker-load-failure-processor.ts', import.meta.url);

/** Only so that a regression fails the test instead of hanging it; no duration is asserted. */
function orStuck<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} never settled`)), ms); });
  return Promise.race([p, stuck]).finally(() => clearTimeout(timer));
}

test('a processor module that cannot load on the workers: drain() rejects with a KernelError naming the failure', async () => {
  const failed: [number, number][] = [];
  const rt = await Runtime.create({
    config: parseRuntimeConfig({ threads: 2, partitions: 3, ringSlots: 2, batchRows: 8 }),
    schema: seqSchema, keyColumn: 'k', processorModuleUrl: failingUrl, processorOptions: {},
    onResult: () => {},
    onBatchFailed: (p, seq) => failed.push([p, seq]),
  });
  try {
    // More rows than the rings hold: the feed itself meets a full ring whose tasks all fail.
    const fed = orStuck(feed(rt, 200, () => 8, (i) => i).then(() => rt.drain()), 'feed + drain');
    const err = await fed.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).message).toContain('injected failure while loading the processor module');
    expect((err as KernelError).details).toMatchObject({ seq: -1 });
    // Nothing was processed, and no batch was dead-lettered as if its rows had been handled.
    expect(failed.every(([, seq]) => seq === -1)).toBe(true);
    // Once failed, the runtime keeps saying so instead of accepting rows it cannot process.
    await expect(orStuck(rt.drain(), 'second drain')).rejects.toBeInstanceOf(KernelError);
  } finally {
    await orStuck(rt.close(), 'close');
  }
}, 60_000);
