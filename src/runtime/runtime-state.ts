/**
 * What the runtime reports about itself: figures for the daemon's metrics (RuntimeMetrics) and the
 * scheduler's full bookkeeping for a watchdog to print when a run stalls (RuntimeDebugState).
 */

/** Figures for the metrics (Runtime.metrics()). */
export interface RuntimeMetrics {
  /** Open (window, group) cells per partition (filled in by the pipeline, which knows the state layout). */
  openWindowCells?: number[];
  ringSlots: number;
  pendingBatches: number[];
  tasksCompleted: number;
  busySeconds: number;
  threads: number;
}

/** A snapshot of the scheduler for diagnosing a stalled run (Runtime.debugState()). */
export interface RuntimeDebugState {
  epoch: number;
  inFlightCount: number;
  idleWaiters: number;
  blockedPartition: number;
  closed: boolean;
  failure: string | null;
  poolThreads: number;
  poolQueueSize: number;
  partitions: {
    partition: number; inFlight: number; head: number; tail: number; pending: number; currentSeq: number;
    producerWaiting: number; consumerWaiting: number; taskEpoch: number; generation: number; failedSeq: number; forceTask: number;
  }[];
}
