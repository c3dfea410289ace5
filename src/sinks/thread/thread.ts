/**
 * Entry of the dedicated sink thread (a worker_thread, loaded from dist/ — see runtime/worker-path.ts).
 * Messages are handled in arrival order and every sink keeps that order in its own lane (sink-lane.ts):
 * a sink waiting for buffer room holds back only its own later writes, and its unacknowledged
 * deliveries fill the main thread's bounded in-flight window (backpressure across threads).
 * Each dead letter is announced (`deadLettered`) before the ack of the delivery it belongs to.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../logging.js';
import { DeliveryLatch } from '../sink.js';
import { SinkSet, type SinkSetHooks } from '../sink-set.js';
import { serializeError, type FromSinkThread, type SinkThreadData, type ToSinkThread } from './protocol.js';

if (!parentPort) throw new Error('sinks/thread/thread.ts must run as a worker thread');
const port = parentPort;
const data = workerData as SinkThreadData;
const logger = createLogger({ name: 'ringflow-sinks', level: data.logLevel, format: data.logFormat, secrets: data.secrets });
const post = (message: FromSinkThread): void => port.postMessage(message);

let sinks: SinkSet | undefined;
const hooks: SinkSetHooks = {
  onDeadLetter: (sink, verdict, rows) => post({ t: 'deadLettered', sink, rows, code: verdict.code, message: verdict.message }),
};
const started: Promise<SinkSet | undefined> = SinkSet.create(data.config, data.shape, logger, hooks, data.partials).then(
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
    case 'events':
    case 'partials': {
      const { id } = message;
      const failed = (err: unknown): void => {
        logger.error({ err, deliveryId: id }, 'sink delivery failed');
        post({ t: 'failed', id, error: serializeError(err) });
      };
      const latch = new DeliveryLatch(() => post({ t: 'ack', id }), failed);
      try {
        if (message.t === 'windows') set.writeWindows(message.rows, latch);
        else if (message.t === 'events') set.writeEvents(message.batch, latch);
        else set.writePartials(message.batch, latch);
        latch.release();
      } catch (err) {
        latch.fail(err);
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
