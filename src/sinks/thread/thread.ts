/**
 * Entry of the dedicated sink thread (a worker_thread, loaded from dist/ — see runtime/worker-path.ts).
 * Messages are handled strictly in arrival order: a delivery that waits for buffer room holds back
 * the ones behind it, so sinks see rows in the order the pipeline produced them, and the wait turns
 * into the main thread's bounded in-flight window filling up (backpressure across threads).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { DeliveryLatch } from '../sink.js';
import { SinkSet } from '../sink-set.js';
import { serializeError, type FromSinkThread, type SinkThreadData, type ToSinkThread } from './protocol.js';

if (!parentPort) throw new Error('sinks/thread/thread.ts must run as a worker thread');
const port = parentPort;
const data = workerData as SinkThreadData;
const logger = pino({ name: 'ringflow-sinks', level: data.logLevel });
const post = (message: FromSinkThread): void => port.postMessage(message);

let sinks: SinkSet | undefined;
const started: Promise<SinkSet | undefined> = SinkSet.create(data.config, data.shape, logger).then(
  (set) => {
    sinks = set;
    post({ t: 'ready' });
    return set;
  },
  (err: unknown) => {
    post({ t: 'startFailed', error: serializeError(err) });
    port.close();
    return undefined;
  },
);
let queue: Promise<unknown> = started;

async function handle(message: ToSinkThread, set: SinkSet): Promise<void> {
  switch (message.t) {
    case 'windows':
    case 'events': {
      const { id } = message;
      const latch = new DeliveryLatch(() => post({ t: 'ack', id }));
      try {
        if (message.t === 'windows') await set.writeWindows(message.rows, latch);
        else await set.writeEvents(message.batch, latch);
        latch.release();
      } catch (err) {
        logger.error({ err, deliveryId: id }, 'sink delivery failed');
        post({ t: 'failed', id, error: serializeError(err) });
      }
      return;
    }
    case 'flush':
      try {
        await set.flush();
        post({ t: 'flushed', id: message.id });
      } catch (err) {
        post({ t: 'flushed', id: message.id, error: serializeError(err) });
      }
      return;
    case 'counters':
      post({ t: 'counters', id: message.id, counters: set.counters(), deadLetterRecords: set.deadLetterRecords });
      return;
    case 'close':
      try {
        await set.close();
        post({ t: 'closed' });
      } catch (err) {
        post({ t: 'closed', error: serializeError(err) });
      }
      port.close();
      return;
  }
}

port.on('message', (message: ToSinkThread) => {
  // Counters answer at once (they must not wait behind a blocked delivery).
  if (message.t === 'counters' && sinks) {
    void handle(message, sinks);
    return;
  }
  queue = queue.then(() => (sinks ? handle(message, sinks) : undefined));
});
