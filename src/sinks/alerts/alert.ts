/**
 * The alert record, as written to the alerts topic (JSON, key = group_key), the log and alerts.ndjson:
 *
 *   {
 *     "alert_id": "big-purchases:1764100000000:purchase|eu",  // rule:window_start:group_key — stable across replays
 *     "rule": "big-purchases", "kind": "threshold" | "change",
 *     "window_start": 1764100000000, "window_end": 1764100060000,   // epoch ms
 *     "group": {"type": "purchase", "region": "eu"}, "group_key": "purchase|eu",
 *     "metric": "amount_sum", "value": 1234.5,
 *     "condition": "amount_sum > 1000",                       // human-readable rule
 *     // threshold only:
 *     "threshold": 1000,
 *     // change only:
 *     "previous_window_start": 1764099940000, "previous_value": 400,
 *     "change": 834.5                                         // value - previous (absolute) or (value - previous) / |previous| (relative)
 *   }
 */
export interface Alert {
  alert_id: string;
  rule: string;
  kind: 'threshold' | 'change';
  window_start: number;
  window_end: number;
  group: Record<string, string>;
  group_key: string;
  metric: string;
  value: number;
  condition: string;
  threshold?: number;
  previous_window_start?: number;
  previous_value?: number;
  change?: number;
}
