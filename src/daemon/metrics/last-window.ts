/**
 * The rows of the newest window the daemon emitted, for the dashboard's "last closed window" table.
 * Updated once per emission (a handful of times per window), never per event.
 */
import type { WindowRow } from '../../contracts/index.js';

export class LastWindow {
  private rows: WindowRow[] = [];

  /** Keeps the rows of the newest window among `rows` (an emission may close several windows). */
  note(rows: readonly WindowRow[]): void {
    if (rows.length === 0) return;
    let newest = Number.NEGATIVE_INFINITY;
    for (const r of rows) if (r.window_start > newest) newest = r.window_start;
    if (newest >= (this.rows[0]?.window_start ?? Number.NEGATIVE_INFINITY)) this.rows = rows.filter((r) => r.window_start === newest);
  }

  /** At most `limit` rows by descending `orderBy` (a numeric column such as count). */
  top(limit: number, orderBy = 'count'): WindowRow[] {
    return [...this.rows].sort((a, b) => Number(b[orderBy] ?? 0) - Number(a[orderBy] ?? 0)).slice(0, limit);
  }
}
