import { PING_MS } from '../../src/http/sse.js';
import { withBareServer } from '../fan-out-driver.js';
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
import type { SettledMemory } from '../settled-memory.js';

const STREAMS = 10_000;
/** Opening is bounded: what has not opened by then is reported, not waited for. */
const OPEN_WITHIN_MS = 90_000;
const TARGET_KB = 30;

interface LoadReport {
  open: number;
  pinged: number;
  failures: number;
  firstFailure?: string;
  openMs: number;
}

/**
 * 10,000 live event streams on one fresh instance, from a load generator in its own
 * process on loopback, both with their descriptor limit raised: held without an error,
 * each stream's memory (RSS after GC, minus idle, over streams; see `settledMemory`) beside
 * the bare floor, and a heartbeat reaching every one of them (tRPC's ping, every PING_MS).
 */
export async function measureManyStreams(env: NodeJS.ProcessEnv, agentId: string, token: string) {
  log(`${fmt(STREAMS)} live event streams on one instance`);
  const instance = forkWithManyFiles(INSTANCE, [], { env, gc: true });
  const { url } = await messageWith<{ url: string }>(instance, 'url');
  const idle = await ask<SettledMemory>(instance, 'memory');
  const input = encodeURIComponent(JSON.stringify({ agentId }));
  const generator = openStreams(`${url}/trpc/messages.events?input=${input}`, {
    authorization: `Bearer ${token}`,
    origin: ORIGIN,
    accept: 'text/event-stream',
  });
  try {
    const opened = await messageWith<LoadReport>(generator, 'open');
    log(`${fmt(opened.open)} streams open in ${(opened.openMs / 1000).toFixed(0)} s`);
    // Every stream has had a full ping interval after the last opened.
    const heartbeatBy = performance.now() + PING_MS + 5_000;
    let report = opened;
    while (report.pinged < report.open && performance.now() < heartbeatBy) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      generator.send('report');
      report = await messageWith<LoadReport>(generator, 'open');
    }
    const held = await ask<SettledMemory>(instance, 'memory');
    generator.send('close');
    await exited(generator);
    const bare = await bareFloor();
    const perStream = (rss: number) => (rss - idle.rss) / Math.max(1, report.open) / 1024;
    const perStreamKb = perStream(held.rss);
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    const allHeld = report.open === STREAMS && report.failures === 0;
    rows.push({
      figure: `${fmt(STREAMS)} live event streams on one instance (load generator in its own process): memory a stream (RSS once full GCs give none back, minus idle, over streams; bare node:http beside)`,
      target: `all held, ≤ ${TARGET_KB} KB a stream`,
      measured: `${fmt(report.open)} open in ${(report.openMs / 1000).toFixed(0)} s, ${report.failures} refused or failed${report.firstFailure ? ` (${report.firstFailure})` : ''}; ${perStreamKb.toFixed(0)} KB a stream after ${held.gcs} GCs (${mb(held.rss)} MB, ${mb(idle.rss)} MB idle; heap ${mb(held.heapUsed)} MB; ${perStream(held.rssFirstGc).toFixed(0)} KB after the first GC); bare node:http ${bare}`,
      verdict: allHeld && perStreamKb <= TARGET_KB ? 'met' : 'missed',
    });
    rows.push({
      figure: `a heartbeat reaching all ${fmt(STREAMS)} streams (tRPC's ping, every ${PING_MS / 1000} s)`,
      target: 'all',
      measured: `${fmt(report.pinged)} of ${fmt(report.open)} open streams`,
      verdict: allHeld && report.pinged === report.open ? 'met' : 'missed',
    });
  } finally {
    if (generator.connected) generator.send('close');
    await exited(generator);
    await stopInstance(instance);
    children.delete(generator);
  }
}

/** The load generator (`stream-load.ts`) opening STREAMS streams of `url`. */
function openStreams(url: string, headers: Record<string, string>) {
  return forkWithManyFiles('./stream-load.ts', [
    JSON.stringify({ url, headers, count: STREAMS, openWithinMs: OPEN_WITHIN_MS }),
  ]);
}

/**
 * The floor under a stream's memory on this runtime: the bare SSE server (`bare-sse.ts`, no
 * framework, database or bus) holding as many streams from the same generator, measured the
 * same way. What the stack adds is the difference.
 */
async function bareFloor(): Promise<string> {
  return withBareServer(
    async (url, bare) => {
      const idle = await ask<SettledMemory>(bare, 'memory');
      const generator = openStreams(`${url}/events`, {});
      try {
        const { open } = await messageWith<LoadReport>(generator, 'open');
        const held = await ask<SettledMemory>(bare, 'memory');
        return `${((held.rss - idle.rss) / Math.max(1, open) / 1024).toFixed(0)} KB a stream (${fmt(open)} open)`;
      } finally {
        if (generator.connected) generator.send('close');
        await exited(generator);
        children.delete(generator);
      }
    },
    { gc: true },
  );
}
