import { readFileSync } from 'node:fs';

/**
 * "Flat" memory: the median RSS of the last quarter of samples (after warm-up) at most this
 * fraction above the first quarter's. Garbage collection alone moves one process's RSS by
 * tens of MB within a minute (one run here: min 169, max 258 MB), and medians of quarters
 * smooth that, so a tighter bound would flag GC timing. What it catches in 60 s is a fast
 * leak: at ~300 req/s, 2 KB kept per request is ~36 MB/min, about a fifth of the heap here.
 * Slower leaks need a longer SOAK_SECONDS; the regression slope is printed for that.
 */
export const MEMORY_TOLERANCE = 0.2;
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Least-squares slope of RSS over time, in MB per minute. */
export function slopeMbPerMinute(samples: { atMs: number; mb: number }[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanT = samples.reduce((sum, s) => sum + s.atMs, 0) / n;
  const meanM = samples.reduce((sum, s) => sum + s.mb, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.atMs - meanT) * (s.mb - meanM);
    variance += (s.atMs - meanT) ** 2;
  }
  return variance === 0 ? 0 : (covariance / variance) * 60_000;
}

/** Resident memory of a process, in MB, from Linux's /proc. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}
