/**
 * The aborted-transaction filter of the consumer thread, in place of kafkajs's
 * (consumer/filterAbortedMessages.js, 2.2.x), for two reasons:
 *
 * - record blocks (record-block.ts): a block stands for a whole plain batch, while kafkajs
 *   moves through the fetch's list of aborted transactions one entry per message, so after a block
 *   it would fall behind and let later aborted records through;
 * - kafkajs's rule itself: one entry per message at most, in the order the broker listed them (by
 *   abort marker, not by first offset), and an abort marker recognised by its key alone (a data
 *   record with key 00 00 00 00 passed for one). Several transactions begun before the fetch, or a
 *   record keyed by int32 0, let aborted records through.
 *
 * The rule here is the Java consumer's (read_committed): before each message, every listed
 * transaction whose first offset is at or below the message's offset (a block: its batch's last
 * offset) marks its producer as aborting; an abort marker (a control record) of that producer ends
 * it; a transactional record of an aborting producer is dropped. Control records are kept, as
 * kafkajs keeps them here (its Batch drops them afterwards).
 *
 *   aborted list (sorted)   P1@97   P3@99   P2@104
 *   messages                [block 100..103] [P3 data 104] [P1 abort] [P2 data 105] ...
 *   aborting before each    {P1,P3}          {P1,P3,P2}    {P3,P2}     -> P3@104, P2@105 dropped
 */
import { RECORD_BLOCK } from './record-block.js';

/** The key of a control record that ends a transaction by aborting it. */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

interface FilteredMessage {
  /** A record's offset; a record block's: its batch's last offset. */
  offset: string;
  key?: Buffer | null;
  isControlRecord?: boolean;
  batchContext?: { producerId?: string; inTransaction?: boolean };
}

interface AbortedTransaction {
  firstOffset: string;
  producerId: string;
}

export function filterAbortedMessages<M extends FilteredMessage>({ messages, abortedTransactions }: { messages: M[]; abortedTransactions?: AbortedTransaction[] }): M[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = abortedTransactions.map((t) => ({ firstOffset: Number(t.firstOffset), producerId: t.producerId }));
  pending.sort((a, b) => a.firstOffset - b.firstOffset);
  let next = 0;
  const aborting = new Set<string>();
  return messages.filter((m) => {
    const offset = Number(m.offset);
    while (next < pending.length && pending[next].firstOffset <= offset) aborting.add(pending[next++].producerId);
    // A record block is a plain batch: no record of it is transactional.
    if (RECORD_BLOCK in m) return true;
    const producerId = m.batchContext?.producerId ?? '';
    if (m.isControlRecord === true) {
      if (m.key != null && Buffer.from(m.key).equals(ABORT_MARKER_KEY)) aborting.delete(producerId);
      return true;
    }
    return !(m.batchContext?.inTransaction === true && aborting.has(producerId));
  });
}
