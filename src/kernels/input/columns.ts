/**
 * The input contract's column constants, in a module without the config schema: worker threads
 * (events/event-serializer.ts) and the decoder need them, and importing config.ts would load zod into
 * every worker, a costly module compile at each worker's start.
 */

/** Columns the ingest adds to every batch after the declared fields (inputSchemaToBatchSchema). */
export const SYSTEM_COLUMNS = ['__line', '__late', '__raw'] as const;

/** The dead letter keeps at most this much of a line (issue 4: `raw` cut to 4 KiB). */
export const MAX_RAW_BYTES = 4096;
