import { loadConfig } from '../../src/config.js';
import {
  ask,
  children,
  exited,
  fmt,
  forkWithManyFiles,
  INSTANCE,
  log,
  messageWith,
  ORIGIN,
  rows,
  stopInstance,
} from '../harness.js';
import type { RefusalReport } from '../refusal-load.js';

/** Opening is bounded: a cap never reached within this is reported as such. */
const OPEN_WITHIN_MS = 60_000;

/**
 * The refusal point: one fresh instance with the instance's stream cap at its default (the
 * bench raises it elsewhere), streams opened from a load generator in its own process until
 * the instance refuses one. Reports where it refused, that the refusal is the 503 with
 * `retryAfterSeconds` of the docs (in the stream, as tRPC sends a subscription's errors), and
 * the instance's RSS after GC at that point.
 */
export async function measureRefusalPoint(env: NodeJS.ProcessEnv, agentId: string, token: string) {
  const atDefault = { ...env };
  delete atDefault.SCOPEKIT_STREAMS_PER_INSTANCE;
  const cap = loadConfig(atDefault).streamCaps.streamsPerInstance;
  log(
    `opening event streams until the instance refuses (SCOPEKIT_STREAMS_PER_INSTANCE ${fmt(cap)})`,
  );
  const instance = forkWithManyFiles(INSTANCE, [], { env: atDefault, gc: true });
  const { url } = await messageWith<{ url: string }>(instance, 'url');
  const idle = await ask<NodeJS.MemoryUsage>(instance, 'memory');
  const input = encodeURIComponent(JSON.stringify({ agentId }));
  const generator = forkWithManyFiles('./refusal-load.ts', [
    JSON.stringify({
      url: `${url}/trpc/messages.events?input=${input}`,
      headers: { authorization: `Bearer ${token}`, origin: ORIGIN, accept: 'text/event-stream' },
      // Past the cap by a batch, so a cap that does not hold shows as streams held past it.
      max: cap + 200,
      batch: 100,
      openWithinMs: OPEN_WITHIN_MS,
    }),
  ]);
  try {
    const { report } = await messageWith<{ report: RefusalReport }>(generator, 'report');
    const held = await ask<NodeJS.MemoryUsage>(instance, 'memory');
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    const first = report.refusals[0];
    const all503 = report.refusals.every(
      (r) => r.httpStatus === 503 && (r.retryAfterSeconds ?? 0) > 0,
    );
    const statuses = [...new Set(report.refusals.map((r) => r.httpStatus))].join(', ');
    rows.push({
      figure: `the refusal point: event streams one instance holds before refusing one, at the default SCOPEKIT_STREAMS_PER_INSTANCE (${fmt(cap)}), and its RSS (after GC) there`,
      target: `refused at ${fmt(cap)} with 503 and retryAfterSeconds`,
      measured: first
        ? `refused at ${fmt(report.held)} held (${(report.openMs / 1000).toFixed(0)} s to open), ${fmt(report.refusals.length)} refused of the last batch, httpStatus ${statuses}, retryAfterSeconds ${first.retryAfterSeconds ?? 'missing'} ("${first.message ?? ''}"); ${report.failures} failed otherwise${report.firstFailure ? ` (${report.firstFailure})` : ''}; RSS ${mb(held.rss)} MB (${mb(idle.rss)} MB idle; heap ${mb(held.heapUsed)} MB)`
        : `no refusal: ${fmt(report.held)} held in ${(report.openMs / 1000).toFixed(0)} s, ${report.failures} failed${report.firstFailure ? ` (${report.firstFailure})` : ''}; RSS ${mb(held.rss)} MB`,
      verdict: first && report.held === cap && all503 && report.failures === 0 ? 'met' : 'missed',
    });
  } finally {
    if (generator.connected) generator.send('close');
    await exited(generator);
    await stopInstance(instance);
    children.delete(generator);
  }
}
