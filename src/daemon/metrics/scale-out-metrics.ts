/**
 * Scale-out figures (ARCHITECTURE.md, "Scale-out"): whether this daemon runs the merge, what it holds
 * and what the merge did with the partials it read. Every daemon exports them; only the merge's owner
 * moves them, so a dashboard sums over daemons or picks the one with ringflow_merge_owner 1.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface MergeFigures {
  owned: boolean;
  emittedThroughMs: number;
  pendingCells: number;
  rowsEmitted: number;
  counters: { partials: number; replaced: number; ignored: number; markers: number };
}

export function registerScaleOutMetrics(registers: Registry[], read: () => MergeFigures | null): void {
  new Gauge({
    name: 'ringflow_merge_owner',
    help: 'Scale-out: 1 while this daemon runs the merge of the partials topic, else 0.',
    registers,
    collect() { this.reset(); const m = read(); if (m) this.set(m.owned ? 1 : 0); },
  });
  new Gauge({
    name: 'ringflow_merge_pending_cells',
    help: 'Scale-out: (window, group) cells the merge holds until every source partition has passed their window.',
    registers,
    collect() { this.reset(); const m = read(); if (m) this.set(m.pendingCells); },
  });
  new Gauge({
    name: 'ringflow_merge_emitted_through_seconds',
    help: 'Scale-out: every window ending at or before this (unix seconds) has been merged and emitted.',
    registers,
    collect() { this.reset(); const m = read(); if (m && Number.isFinite(m.emittedThroughMs)) this.set(m.emittedThroughMs / 1000); },
  });
  new Counter({
    name: 'ringflow_merge_partials_total',
    help: 'Scale-out: partial cells the merge read, by outcome: kept (first of its source partition), replaced (a recomputed one), ignored (its window already passed by the partition\'s marker or emitted).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      const m = read();
      if (!m) return;
      const c = m.counters;
      this.inc({ outcome: 'kept' }, c.partials - c.replaced - c.ignored);
      this.inc({ outcome: 'replaced' }, c.replaced);
      this.inc({ outcome: 'ignored' }, c.ignored);
    },
  });
  new Counter({
    name: 'ringflow_merge_markers_total',
    help: 'Scale-out: source partition markers the merge read.',
    registers,
    collect() { this.reset(); const m = read(); if (m) this.inc(m.counters.markers); },
  });
  new Counter({
    name: 'ringflow_merge_rows_total',
    help: 'Scale-out: merged window rows this daemon emitted to the sinks.',
    registers,
    collect() { this.reset(); const m = read(); if (m) this.inc(m.rowsEmitted); },
  });
}
