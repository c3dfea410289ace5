/**
 * Scale-out, first stage: what the pipeline closed (per source partition cells, and how far) goes to
 * the partials topic as one batch of lines per emission: the cells, then one marker per source
 * partition this daemon owns, saying it has written everything of that partition through the
 * emission's end. Markers go out with every emission, also one without cells, so the merge learns
 * that an idle or empty partition has passed a window too.
 */
import { encodeMarker, encodePartial } from '../../pipeline/scale-out/partial-records.js';
import type { PartialCell } from '../../pipeline/scale-out/source-partition-split.js';
import type { Source } from '../../sources/source.js';
import { eventBatchFromLines } from '../../sinks/event-batch.js';
import type { SinkSender } from '../sink-sender.js';

export class PartialsWriter {
  private owned: readonly number[] = [];
  private sourcePartitions = 0;
  /** Shutting down: later assignments are partitions this daemon will not read, so no marker may name them. */
  private frozen = false;

  constructor(private readonly sender: SinkSender, private readonly source: Source) {}

  /**
   * The partitions this daemon owns after a join. Resolves once the stream's partition count is known
   * (the source's end offsets list every partition): a marker must carry it, or the merge could take a
   * window as final while a partition it has not heard of is still open.
   */
  async assigned(partitions: readonly number[]): Promise<void> {
    if (this.frozen) return;
    this.owned = [...partitions];
    for (let attempt = 0; ; attempt++) {
      const lag = await this.source.lag().catch(() => []);
      for (const p of lag) this.sourcePartitions = Math.max(this.sourcePartitions, p.sourcePartition + 1);
      if (this.sourcePartitions > 0 || partitions.length === 0) return;
      await new Promise((r) => setTimeout(r, Math.min(2_000, 50 * 2 ** attempt)));
    }
  }

  /** From now on markers name only the partitions owned now (the daemon stops reading). */
  freeze(): void {
    this.frozen = true;
  }

  /** The pipeline's onWindowPartials: cells of windows ending at or before `throughMs`, and the markers. */
  write(cells: readonly PartialCell[], throughMs: number): void {
    const lines = cells.map(encodePartial);
    // Until the partition count is known no marker goes out (a later one says as much): with a count too
    // small the merge would take windows as final without the partitions it does not know of.
    const n = this.sourcePartitions;
    if (n > 0) for (const p of this.owned) lines.push(encodeMarker({ sourcePartition: p, closedThroughMs: throughMs, sourcePartitions: n }));
    // One partition: the key picks nothing, so every line has an empty one.
    if (lines.length > 0) this.sender.sendPartials(eventBatchFromLines(lines, lines.map(() => '')));
  }
}
