/**
 * kafkajs's aborted-transaction filter (consumer/filterAbortedMessages.js, 2.2.x), made to understand
 * record blocks (kafka-record-block.ts). Under read_committed a fetch lists the aborted transactions
 * in its range (producer id, first offset); kafkajs walks the messages in offset order, and each
 * message at or past the next listed first offset marks that producer as aborting, until its abort
 * marker (a control record). Transactional records of a marked producer are dropped.
 *
 * A record block stands for a whole plain batch: none of its records is transactional, so none is
 * dropped, but kafkajs would have stepped through the list once per record. Doing that step once per
 * block instead would leave later entries unmarked and let aborted records through, so here a block
 * steps once per record offset, exactly as its records would have. Everything else is kafkajs's rule,
 * kept as it is (including stepping at most one entry per message).
 */
import { forEachRecordOffset, RECORD_BLOCK, type RecordBlock } from './kafka-record-block.js';

/** The key of a control record that ends a transaction by aborting it. */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

interface FilteredMessage {
  offset: string;
  key?: Buffer | null;
  batchContext?: { producerId?: string; inTransaction?: boolean };
}

interface AbortedTransaction {
  firstOffset: string;
  producerId: string;
}

const isAbortMarker = (m: FilteredMessage): boolean => m.key != null && Buffer.from(m.key).equals(ABORT_MARKER_KEY);

export function filterAbortedMessages<M extends FilteredMessage>({ messages, abortedTransactions }: { messages: M[]; abortedTransactions?: AbortedTransaction[] }): M[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const firstOffsets = abortedTransactions.map((t) => Number(t.firstOffset));
  let next = 0;
  const aborting = new Set<string>();
  const step = (offset: number): boolean => {
    if (next < firstOffsets.length && offset >= firstOffsets[next]) aborting.add(abortedTransactions[next++].producerId);
    return next < firstOffsets.length;
  };
  return messages.filter((m) => {
    const block = (m as Partial<Record<typeof RECORD_BLOCK, RecordBlock>>)[RECORD_BLOCK];
    if (block !== undefined) {
      if (next < firstOffsets.length) forEachRecordOffset(block, step);
      return true;
    }
    step(Number(m.offset));
    const producerId = m.batchContext?.producerId ?? '';
    if (isAbortMarker(m)) aborting.delete(producerId);
    else if (aborting.has(producerId) && m.batchContext?.inTransaction) return false;
    return true;
  });
}
