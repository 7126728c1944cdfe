import { fmt, log, percentile, rows, within } from '../harness.js';
import { openStreams, trpcClient } from '../streams.js';
import { bareFanOut } from './baselines.js';

/** Subscribers on both instances, sends through A: time from send to each subscriber's copy. */
export async function measureFanOut(urlA: string, urlB: string, agentId: string, token: string) {
  const SUBSCRIBERS = 100;
  const SENDS = 20;
  log(`a sent message reaching ${SUBSCRIBERS} live subscribers (half on each instance)`);
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let stops = 0;
  const sawStop = new Set<number>();
  let quiet: { count: number; resolve: () => void } | undefined;
  const streams = await openStreams(SUBSCRIBERS, (i) => (i % 2 ? urlB : urlA), agentId, token, {
    onUserMessage: (content) => {
      const start = sentAt.get(content);
      if (start !== undefined) samples.push(performance.now() - start);
    },
    onStop: (subscriber) => {
      stops++;
      sawStop.add(subscriber);
      if (quiet && stops >= quiet.count) quiet.resolve();
    },
  });
  try {
    const sender = trpcClient(urlA, token);
    // A stream reports itself started before its server side has subscribed to the bus:
    // unmeasured turns until every subscriber has seen one end, so all are really live.
    for (let warmUp = 0; sawStop.size < SUBSCRIBERS; warmUp++) {
      if (warmUp === 5)
        throw new Error(`${SUBSCRIBERS - sawStop.size} subscribers never went live`);
      await sender.messages.send.mutate({ agentId, content: `warm-up ${warmUp}` });
      const deadline = performance.now() + 2_000;
      while (sawStop.size < SUBSCRIBERS && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    for (let i = 0; i < SENDS; i++) {
      const content = `fan-out ${i}`;
      // Each send starts once every subscriber has seen the previous turn end, so it
      // measures delivery, not the tail of the previous reply still streaming out.
      const turnEnded = new Promise<void>((resolve) => {
        quiet = { count: stops + SUBSCRIBERS, resolve };
      });
      sentAt.set(content, performance.now());
      await sender.messages.send.mutate({ agentId, content });
      await within(turnEnded, 10_000, `the end of turn ${i} did not reach every subscriber`);
    }
    if (samples.length !== SENDS * SUBSCRIBERS) {
      throw new Error(`${SENDS * SUBSCRIBERS - samples.length} deliveries went missing`);
    }
  } finally {
    streams.close();
  }
  const p99 = percentile(samples, 99);
  const bare = await bareFanOut(SUBSCRIBERS, SENDS);
  const bareP99 = percentile(bare, 99);
  rows.push({
    figure: `a sent message reaching ${SUBSCRIBERS} live subscribers (builtin agent, half on each instance), p99`,
    target: '≤ 50 ms',
    measured: `${p99.toFixed(1)} ms (p50 ${percentile(samples, 50).toFixed(1)} ms, ${fmt(samples.length)} deliveries); bare node:http SSE fan-out p99 ${bareP99.toFixed(1)} ms (p50 ${percentile(bare, 50).toFixed(1)} ms), ratio ${(p99 / bareP99).toFixed(1)}`,
    verdict: p99 <= 50 ? 'met' : 'missed',
  });
}
