/**
 * Pools load their task module through the CommonJS task-module-loader (not piscina's require() of an
 * ES module, which aborts the process when a thread is terminated while Node instantiates the module):
 * the pool's task file is the compiled .cjs, tasks reach the real module's default export, and pools
 * destroyed while their threads start leave the process running.
 */
import { describe, expect, it } from 'vitest';
import { fixedThreadPool } from '../../../src/runtime/worker-path.js';

describe('fixedThreadPool task loading', () => {
  it('names the CommonJS loader as the task file and the real module in workerData', async () => {
    const pool = fixedThreadPool(import.meta.url.replace(/test\/unit\/runtime\/[^/]+$/, 'src/runtime/runtime.ts'), './worker-entry', 1, { probe: 1 });
    try {
      expect(pool.options.filename).toMatch(/\/dist\/src\/runtime\/task-module-loader\.cjs$/);
      const data = pool.options.workerData as { taskModuleUrl: string; probe: number };
      expect(data.taskModuleUrl).toMatch(/\/dist\/src\/runtime\/worker-entry\.js$/);
      expect(data.probe).toBe(1);
    } finally {
      await pool.destroy();
    }
  });

  it('pools destroyed while their threads start (20 times) leave the process running; a module without a default export is reported to its task', async () => {
    const decodeUrl = import.meta.url.replace(/test\/unit\/runtime\/[^/]+$/, 'src/pipeline/decode-pool.ts');
    for (let i = 0; i < 20; i++) {
      const pool = fixedThreadPool(decodeUrl, './decode-worker', 2, {});
      await new Promise((r) => setTimeout(r, i % 5));
      await pool.destroy();
    }
    // A module without a default export function is reported to the task that awaits it.
    const pool = fixedThreadPool(import.meta.url.replace(/test\/unit\/runtime\/[^/]+$/, 'src/runtime/runtime.ts'), './worker-path', 1, {});
    try {
      await expect(pool.run({})).rejects.toThrow(/has no default export function/);
    } finally {
      await pool.destroy();
    }
  });
});
