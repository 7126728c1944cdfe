import type { ChildProcess } from 'node:child_process';
import { ask, fmt, log, rows } from '../harness.js';
import { openStreams } from '../streams.js';

/** A fresh instance's memory before and after 1,000 open SSE streams, each after a full GC. */
export async function measureStreamMemory(
  startInstance: () => Promise<{ url: string; child: ChildProcess }>,
  agentId: string,
  token: string,
) {
  const STREAMS = 1_000;
  log(`memory of one instance holding ${fmt(STREAMS)} SSE streams`);
  const instance = await startInstance();
  const before = await ask<NodeJS.MemoryUsage>(instance.child, 'memory');
  const streams = await openStreams(STREAMS, () => instance.url, agentId, token, {});
  try {
    const after = await ask<NodeJS.MemoryUsage>(instance.child, 'memory');
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    const perStream = (after.rss - before.rss) / STREAMS / 1024;
    rows.push({
      figure: `memory of one instance holding ${fmt(STREAMS)} open SSE streams (RSS after GC)`,
      target: 'reported, MB',
      measured: `${mb(after.rss)} MB (${mb(before.rss)} MB idle, ≈${perStream.toFixed(0)} KB a stream; heap ${mb(after.heapUsed)} MB)`,
      verdict: 'reported',
    });
  } finally {
    streams.close();
  }
}
