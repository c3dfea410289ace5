/**
 * Event-time window assignment for tumbling and hopping windows, with no allocation per event.
 *
 * Windows are [start, start + sizeMs) with start a multiple of slideMs (tumbling: slideMs = sizeMs).
 * An event at ts belongs to every window whose start s satisfies s <= ts < s + sizeMs: the starts
 * floor(ts / slide) * slide, stepping back by slide while s + size > ts (ceil(size / slide) windows
 * when size is a multiple of slide).
 *
 * Lateness uses the window that ends FIRST among those containing ts (`firstWindowEnd`): an event is
 * a late candidate iff that window was already closed (end <= watermark). So an accepted event never
 * falls into a closed window, and no window is partially counted for an event.
 */
import { ConfigError } from '../../errors.js';

export interface WindowSpec {
  type: 'tumbling' | 'hopping';
  sizeMs: number;
  /** hopping only; tumbling uses sizeMs. */
  slideMs?: number;
}

export class WindowAssigner {
  readonly sizeMs: number;
  readonly slideMs: number;
  /** The most windows one event can fall into. */
  readonly maxWindowsPerEvent: number;

  constructor(spec: WindowSpec, path = 'aggregate.window') {
    if (!Number.isInteger(spec.sizeMs) || spec.sizeMs < 1) {
      throw new ConfigError(`${path}.sizeMs`, `must be a positive integer of milliseconds, got ${spec.sizeMs}`);
    }
    const slide = spec.type === 'tumbling' ? spec.sizeMs : spec.slideMs ?? spec.sizeMs;
    if (!Number.isInteger(slide) || slide < 1 || slide > spec.sizeMs) {
      throw new ConfigError(`${path}.slideMs`, `must be an integer from 1 to sizeMs (${spec.sizeMs}), got ${slide}`);
    }
    if (Math.ceil(spec.sizeMs / slide) > 1024) {
      throw new ConfigError(`${path}.slideMs`, `sizeMs / slideMs must be at most 1024, got ${spec.sizeMs / slide}`);
    }
    this.sizeMs = spec.sizeMs;
    this.slideMs = slide;
    this.maxWindowsPerEvent = Math.ceil(spec.sizeMs / slide);
  }

  /** Start of the latest window containing ts. */
  lastWindowStart(ts: number): number {
    return Math.floor(ts / this.slideMs) * this.slideMs;
  }

  /** Start of the earliest window containing ts. */
  firstWindowStart(ts: number): number {
    const slide = this.slideMs;
    return (Math.floor((ts - this.sizeMs) / slide) + 1) * slide;
  }

  /** End of the earliest-ending window that contains ts: the one whose closing makes ts late. */
  firstWindowEnd(ts: number): number {
    return this.firstWindowStart(ts) + this.sizeMs;
  }

  /** Late candidate test of ARCHITECTURE.md: the first window containing ts ended at or before the watermark. */
  isLate(ts: number, watermarkMs: number): boolean {
    return this.firstWindowEnd(ts) <= watermarkMs;
  }

  /** Number of windows containing ts; their starts are lastWindowStart(ts) - i * slideMs for i < count. */
  windowCount(ts: number): number {
    return (this.lastWindowStart(ts) - this.firstWindowStart(ts)) / this.slideMs + 1;
  }
}
