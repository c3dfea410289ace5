/**
 * The input contract's column constants, in a module without the config schema: worker threads
 * (events/event-serializer.ts) and the decoder need them, and importing config.ts would load zod into
 * every worker, a costly module compile at each worker's start.
 */

import type { BatchView } from '../../runtime/batch.js';

/**
 * Columns the ingest adds to every batch after the declared fields (inputSchemaToBatchSchema): the
 * physical line number; `__late` 0 (on time), 1 (late: dead-lettered on the worker after dedupe) or
 * 2 (rejected by the skew guard at ingest, already dead-lettered: the processor skips the row); the
 * line itself for late rows.
 */
export const SYSTEM_COLUMNS = ['__line', '__late', '__raw'] as const;

/**
 * With scale-out (several daemons in one consumer group), the last column: the row's source partition,
 * an int32 set by ingest per push. It is a hidden group field, so every window cell belongs to one
 * source partition and can be merged, replaced or dropped as that partition moves between daemons.
 */
export const SOURCE_COLUMN = '__source';

/** Source partitions a cell key can name (the hidden group field's cardinality, its null code excluded). */
export const MAX_SOURCE_PARTITIONS = 1 << 16;

/** The dead letter keeps at most this much of a line (issue 4: `raw` cut to 4 KiB). */
export const MAX_RAW_BYTES = 4096;

/**
 * Scale-out: rows [from, to) of `batch` get their source partition in `__source` (plan.ts,
 * sourcePartitionCells), which the decoders leave alone. A no-op when the layout has no such column.
 */
export function fillSourceColumn(batch: BatchView, from: number, to: number, sourcePartition: number): void {
  const spec = batch.layout.byName.get(SOURCE_COLUMN);
  if (spec === undefined || to <= from) return;
  const col = batch.columns[spec.index];
  (col.values as Int32Array).fill(sourcePartition, from, to);
  const valid = col.validity;
  for (let r = from; r < to; r++) valid[r >> 3] |= 1 << (r & 7);
}
