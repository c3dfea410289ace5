/**
 * Every kafkajs internal the consumer thread changes. Two modules are swapped through Node's module
 * cache before kafkajs is first loaded there: the record-batch decoder (plain batches become record
 * blocks, record-block.ts) and the aborted-transaction filter that has to understand them
 * (aborted-filter.ts). kafkajs requires both once, from modules it loads later (fetch response
 * decoding, consumer/batch.js), so the swap reaches every use. A third change, the pre-revoke hook,
 * wraps ConsumerGroup#joinAndSync (settleBeforeEveryJoin, below), which also lets the first join reuse
 * a crashed run's member id.
 *
 * Only for kafkajs 2.2.x, whose internals this was written against (the Decoder's buffer/offset, the
 * decoder's result shape, Batch.fetchedOffset that the chunk cut relies on). Any other version, a
 * kafkajs already loaded in the thread, or a file that moved: nothing is swapped and install() says
 * so; the consumer then reads kafkajs's own messages, which KafkaChunkBuilder handles as well.
 */
import { createRequire } from 'node:module';
import { SourceError } from '../../errors.js';
import { filterAbortedMessages } from './aborted-filter.js';
import { recordBlockDecoder, type BatchDecoder, type Codec } from './record-block.js';

const SUPPORTED_VERSION = /^2\.2\./;

/** Installs both swaps, or neither; true when kafkajs in this thread will produce record blocks. */
export function installRecordBlockDecoder(): boolean {
  const require = createRequire(import.meta.url);
  try {
    const { version } = require('kafkajs/package.json') as { version?: string };
    if (!SUPPORTED_VERSION.test(version ?? '')) return false;
    const fetchDecoding = require.resolve('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js');
    const batchModule = require.resolve('kafkajs/src/consumer/batch.js');
    if (require.cache[fetchDecoding] !== undefined || require.cache[batchModule] !== undefined) return false;
    const decoderPath = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder.js');
    const filterPath = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
    const original = require(decoderPath) as BatchDecoder;
    const originalFilter = require(filterPath) as unknown;
    const compression = require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodecByAttributes?: (a: number) => Codec | null };
    const decoderEntry = require.cache[decoderPath];
    const filterEntry = require.cache[filterPath];
    if (typeof original !== 'function' || typeof originalFilter !== 'function' || typeof compression.lookupCodecByAttributes !== 'function'
      || decoderEntry === undefined || filterEntry === undefined) return false;
    decoderEntry.exports = recordBlockDecoder(original, compression.lookupCodecByAttributes);
    filterEntry.exports = filterAbortedMessages;
    return true;
  } catch {
    return false;
  }
}

/**
 * A pre-revoke hook for kafkajs, which has none. Every (re-)join of a kafkajs consumer goes through
 * ConsumerGroup#joinAndSync: after a rebalance noticed by any heartbeat, after UNKNOWN_MEMBER_ID,
 * after stale metadata. Wrapping it lets this thread settle on the main thread *before* its
 * JoinGroup request is sent. The broker keeps accepting OffsetCommit from members of the current
 * generation while it waits for them to re-join (up to rebalanceTimeoutMs), which the settle uses.
 * The patch is thread-wide, which is why the consumer thread runs exactly one consumer. kafkajs 2.2.4 is
 * pinned; if its internals move, start fails loudly instead of losing the guarantee silently.
 */
export function settleBeforeEveryJoin(settle: () => Promise<void>, rejoinAsMemberId: string | null = null): void {
  const require = createRequire(import.meta.url);
  // Same resolved file, so the same module instance, as the one `import 'kafkajs'` loaded.
  const consumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype?: { joinAndSync?: (this: { memberId?: string | null }) => Promise<void> } };
  const proto = consumerGroup.prototype;
  const original = proto?.joinAndSync;
  if (!proto || typeof original !== 'function') {
    throw new SourceError('kafka', 'kafkajs has no ConsumerGroup#joinAndSync: this kafkajs version is not supported (2.2.x is)');
  }
  let seed = rejoinAsMemberId;
  proto.joinAndSync = async function joinAndSyncAfterSettle(this: { memberId?: string | null }): Promise<void> {
    await settle();
    // The first join only, as the member a crashed run was (member-id-file.ts); kafkajs forgets an id
    // the coordinator answers UNKNOWN_MEMBER_ID to and joins again as a new member.
    if (seed !== null && !this.memberId) this.memberId = seed;
    seed = null;
    return original.call(this);
  };
}
