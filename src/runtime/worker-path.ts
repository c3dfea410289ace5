/**
 * Worker threads on Node 20 must load JavaScript, so piscina always runs the compiled file under dist/.
 * Code under test runs from src/*.ts through vitest; this maps such a module URL to its compiled twin
 * (src/a/b.ts -> dist/src/a/b.js). `npm run build` (run by the test script) keeps dist/ current.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ServiceError } from '../errors.js';

export function compiledModuleUrl(moduleUrl: string | URL): URL {
  const path = fileURLToPath(moduleUrl);
  const compiledExt = path.endsWith('.cts') ? '.cjs' : path.endsWith('.ts') ? '.js' : null;
  if (compiledExt === null) return new URL(moduleUrl);
  const marker = `${'/'}src${'/'}`;
  const at = path.lastIndexOf(marker);
  if (at < 0) throw new ServiceError('worker', `cannot map ${path} to dist/: not under src/`);
  const compiled = `${path.slice(0, at)}/dist/src/${path.slice(at + marker.length).replace(/\.c?ts$/, compiledExt)}`;
  if (!existsSync(compiled)) {
    throw new ServiceError('worker', `compiled worker ${compiled} is missing: run \`npm run build\` first`);
  }
  return pathToFileURL(compiled);
}

/**
 * The compiled URL of a module next to `moduleUrl` (or at a relative path from it), named without its
 * extension: from src/*.ts (vitest) and from dist/*.js alike it resolves to the dist/ JavaScript file.
 */
export function compiledSiblingUrl(moduleUrl: string, relativeBase: string): URL {
  const ext = moduleUrl.endsWith('.ts') ? '.ts' : '.js';
  return compiledModuleUrl(new URL(`${relativeBase}${ext}`, moduleUrl));
}

/**
 * A piscina pool of exactly `threads` threads running the compiled sibling `relativeBase` of
 * `moduleUrl`, one task per thread at a time, never shrunk for idleness: tasks hand shared-memory
 * state around, so a thread must be there when a task arrives and must not sit behind another task.
 * piscina loads task-module-loader.cjs, which import()s the task module named in workerData (the
 * loader's header says why).
 */
export function fixedThreadPool(moduleUrl: string, relativeBase: string, threads: number, workerData: object): Piscina {
  const loaderUrl = compiledModuleUrl(new URL(`./task-module-loader.${import.meta.url.endsWith('.ts') ? 'cts' : 'cjs'}`, import.meta.url));
  return new Piscina({
    filename: loaderUrl.href,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    idleTimeout: 2 ** 31 - 1,
    workerData: { ...workerData, taskModuleUrl: compiledSiblingUrl(moduleUrl, relativeBase).href },
  });
}
