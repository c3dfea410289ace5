/**
 * How processed-event batches should reach the sink thread: postMessage with the buffers transferred
 * (what SinkThread.sendEvents does), postMessage with a structured-clone copy, or a SharedArrayBuffer
 * byte ring (producer copies the NDJSON in, the sink thread reads it in place and frees the space).
 * Each variant moves the same bytes; the consumer reads one byte per line (as slicing lines into Kafka
 * messages does) and acknowledges,
 * with at most 8 batches in flight, as the sink thread client bounds it.
 *   node dist/bench/sinks/event-handoff-bench.js [--total-mb 256]
 */
import { Worker } from 'node:worker_threads';

const LINE_BYTES = 100;
const IN_FLIGHT = 8;

const CONSUMER = `
const { parentPort, workerData } = require('node:worker_threads');
let sum = 0;
const LINE = workerData.lineBytes;
if (workerData.mode === 'ring') {
  // ctl: [0] = write offset (bytes, monotonically increasing), [1] = read offset
  const ctl = new Int32Array(workerData.ctl);
  const data = new Uint8Array(workerData.ring);
  const mask = data.length - 1;
  parentPort.on('message', (m) => {
    if (m.t === 'stop') { parentPort.postMessage({ sum }); return; }
    let r = Atomics.load(ctl, 1);
    const end = r + m.bytes;
    for (; r < end; r += LINE) sum += data[r & mask];
    r = end;
    Atomics.store(ctl, 1, r);
    parentPort.postMessage(1);
  });
} else {
  parentPort.on('message', (m) => {
    if (m.t === 'stop') { parentPort.postMessage({ sum }); return; }
    const b = m.lines;
    for (let i = 0; i < b.length; i += LINE) sum += b[i];
    parentPort.postMessage(1);
  });
}`;

type Mode = 'transfer' | 'clone' | 'ring';

async function run(mode: Mode, batchRows: number, totalBytes: number): Promise<number> {
  const batchBytes = batchRows * LINE_BYTES;
  const batches = Math.max(IN_FLIGHT * 2, Math.floor(totalBytes / batchBytes));
  const ringBytes = 1 << Math.ceil(Math.log2(batchBytes * IN_FLIGHT * 2));
  const ctl = new SharedArrayBuffer(8);
  const ring = new SharedArrayBuffer(mode === 'ring' ? ringBytes : 8);
  const worker = new Worker(CONSUMER, { eval: true, workerData: { mode, ctl, ring, lineBytes: LINE_BYTES } });
  const ctlView = new Int32Array(ctl);
  const ringView = new Uint8Array(ring);
  const source = new Uint8Array(batchBytes).map((_, i) => 32 + (i % 90));
  let sent = 0;
  let acked = 0;
  let writeAt = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < batches && sent - acked < IN_FLIGHT) {
        if (mode === 'ring') {
          // Room is guaranteed by the in-flight bound (ring holds 2 x IN_FLIGHT batches).
          const mask = ringBytes - 1;
          const at = writeAt & mask;
          const first = Math.min(batchBytes, ringBytes - at);
          ringView.set(first === batchBytes ? source : source.subarray(0, first), at);
          if (first < batchBytes) ringView.set(source.subarray(first), 0);
          writeAt += batchBytes;
          Atomics.store(ctlView, 0, writeAt);
          worker.postMessage({ bytes: batchBytes });
        } else if (mode === 'transfer') {
          // The producer builds each batch in a fresh buffer (it cannot reuse a transferred one).
          const lines = source.slice();
          worker.postMessage({ lines }, [lines.buffer]);
        } else {
          worker.postMessage({ lines: source });
        }
        sent++;
      }
      if (acked === batches) resolve();
    };
    worker.on('message', (m) => {
      if (m === 1) {
        acked++;
        pump();
      }
    });
    pump();
  });
  const seconds = (performance.now() - started) / 1000;
  worker.postMessage({ t: 'stop' });
  await new Promise((r) => worker.once('message', r));
  await worker.terminate();
  return (batches * batchBytes) / seconds / 1e6;
}

async function main(): Promise<void> {
  const argIndex = process.argv.indexOf('--total-mb');
  const totalBytes = (argIndex > 0 ? Number(process.argv[argIndex + 1]) : 256) * 1e6;
  console.log(`event hand-off to a worker, ${LINE_BYTES}-byte lines, ${IN_FLIGHT} batches in flight, MB/s (higher is better)`);
  console.log('rows/batch   transfer      clone       ring');
  for (const rows of [16, 256, 4096, 65536]) {
    const total = Math.min(totalBytes, rows * LINE_BYTES * 20_000);
    const results: string[] = [];
    for (const mode of ['transfer', 'clone', 'ring'] as const) results.push((await run(mode, rows, total)).toFixed(0).padStart(10));
    console.log(`${String(rows).padStart(10)} ${results.join(' ')}`);
  }
}

await main();
