/**
 * The file every piscina pool of ours names as its task file: CommonJS, so that piscina's require()
 * of it never goes through Node's require(esm).
 *
 * Why: on Node 20.19+ piscina's require() of an ES module runs Node's synchronous ESM path, and a
 * thread terminated while that path instantiates the module (a pool destroyed during start-up) hits a
 * CHECK in Node and aborts the whole process (`v8::Module::IsGraphAsync must be used on an
 * instantiated module`). Loading the real task module with import() turns the same interruption into
 * a rejected promise. The real module's URL arrives in the pool's workerData (`taskModuleUrl`,
 * set by fixedThreadPool), and its default export handles the tasks.
 */
import { workerData } from 'piscina';

type TaskHandler = (task: unknown) => unknown;

const taskModuleUrl = (workerData as { taskModuleUrl?: unknown } | undefined)?.taskModuleUrl;
if (typeof taskModuleUrl !== 'string') {
  throw new TypeError('task-module-loader: workerData.taskModuleUrl must be the URL of the task module');
}

/** Started when the thread starts (piscina loads this file before the first task), not at the first task. */
const loaded: Promise<TaskHandler> = import(taskModuleUrl).then((m: { default?: unknown }) => {
  if (typeof m.default !== 'function') {
    throw new TypeError(`task module ${taskModuleUrl} has no default export function`);
  }
  return m.default as TaskHandler;
});
// A failed import is reported by the first task that awaits it; until then it is not unhandled.
loaded.catch(() => undefined);

let handler: TaskHandler | null = null;

async function runTask(task: unknown): Promise<unknown> {
  handler ??= await loaded;
  return handler(task);
}

export = runTask;
