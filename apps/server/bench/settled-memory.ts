/** An instance's memory once full GCs stop giving any back (see `settledMemory`). */
export type SettledMemory = NodeJS.MemoryUsage & { rssFirstGc: number; gcs: number };

/** Full GCs, half a second apart, until one gives back less than a megabyte: at most this many. */
const SETTLE_GCS = 8;

/**
 * Memory after full GCs, once they stop giving any back. Right after a burst (10,000 streams
 * opened in seconds) V8's old space is left fragmented, the objects that outlive it spread
 * over pages that are mostly garbage, and each full GC compacts only a few of those pages:
 * RSS falls for several GCs, as it does by itself in an instance left idle (V8's memory
 * reducer). The first GC's RSS is reported beside the settled one.
 */
export async function settledMemory(): Promise<SettledMemory> {
  globalThis.gc?.();
  const rssFirstGc = process.memoryUsage.rss();
  let rss = rssFirstGc;
  let gcs = 1;
  while (globalThis.gc && gcs < SETTLE_GCS) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    globalThis.gc();
    gcs += 1;
    const now = process.memoryUsage.rss();
    const gaveBack = rss - now;
    rss = now;
    if (gaveBack < 1024 * 1024) break;
  }
  return { ...process.memoryUsage(), rssFirstGc, gcs };
}
