/**
 * The input contract's column constants, in a module without the config schema: worker threads
 * (events/event-serializer.ts) and the decoder need them, and importing config.ts would load zod into
 * every worker, a costly module compile at each worker's start.
 */

/** Columns the ingest adds to every batch after the declared fields (inputSchemaToBatchSchema). */
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
