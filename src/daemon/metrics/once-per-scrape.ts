/**
 * One read shared by every metric of a scrape: prom-client collects a registry's metrics concurrently,
 * so the first collector to ask starts the read and the others of the same scrape await it. The result
 * is forgotten once the scrape's microtasks have run (a timer of 0), so the next scrape reads again.
 */
export function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    pending ??= read().finally(() => setTimeout(() => { pending = null; }, 0));
    return pending;
  };
}

/** oncePerScrape for a synchronous read (a snapshot several collectors of one scrape share). */
export function oncePerScrapeSync<T>(read: () => T): () => T {
  let cached: { value: T } | null = null;
  return () => {
    if (cached === null) {
      cached = { value: read() };
      setTimeout(() => { cached = null; }, 0);
    }
    return cached.value;
  };
}
