import { availableParallelism } from 'node:os';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { parseRuntimeConfig } from '../../../src/runtime/runtime-config.js';

describe('runtime config', () => {
  test('defaults', () => {
    const c = parseRuntimeConfig({});
    expect(c.threads).toBe(Math.max(1, Math.min(256, availableParallelism() - 1)));
    expect(c.partitions).toBe(c.threads === 1 ? 1 : Math.max(c.threads, Math.min(16, 2 * c.threads)));
    expect(c.ringSlots).toBe(16);
    expect(c.batchRows).toBe(4096);
  });

  test('partitions follow threads when only threads is set: one for one thread, else two per thread up to 16, then one per thread', () => {
    expect(parseRuntimeConfig({ threads: 1 }).partitions).toBe(1);
    expect(parseRuntimeConfig({ threads: 2 }).partitions).toBe(4);
    expect(parseRuntimeConfig({ threads: 6 }).partitions).toBe(12);
    expect(parseRuntimeConfig({ threads: 12 }).partitions).toBe(16);
    expect(parseRuntimeConfig({ threads: 40 }).partitions).toBe(40);
  });

  test.each([
    [{ ringSlots: 6 }, 'runtime.ringSlots: must be a power of two from 2 to 1024, got 6'],
    [{ ringSlots: 2048 }, 'runtime.ringSlots: must be a power of two from 2 to 1024, got 2048'],
    [{ threads: 0 }, 'runtime.threads: must be an integer from 1 to 256, got 0'],
    [{ threads: 1.5 }, 'runtime.threads: must be an integer from 1 to 256, got 1.5'],
    [{ partitions: 5000 }, 'runtime.partitions: must be an integer from 1 to 4096, got 5000'],
    [{ batchRows: '4096' }, 'runtime.batchRows: must be an integer from 1 to 1048576, got "4096"'],
    [{ threads: 4, partitions: 2 }, 'runtime.partitions: must be at least threads (4)'],
    [{ treads: 4 }, 'runtime.treads: unknown setting'],
  ])('rejects %j', (input, message) => {
    let err: unknown;
    try { parseRuntimeConfig(input); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(message);
  });

  test('the error path follows the section it is mounted under', () => {
    expect(() => parseRuntimeConfig({ ringSlots: 3 }, 'pipeline.runtime')).toThrow('pipeline.runtime.ringSlots:');
  });
});
