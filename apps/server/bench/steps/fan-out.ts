import {
  bareSend,
  eventsTarget,
  type FanOutLoad,
  sendOneAtATime,
  stackSend,
  startFanOutLoad,
  summary,
  withBareServer,
} from '../fan-out-driver.js';
import { fmt, log, rows } from '../harness.js';

export interface FanOutArgs {
  /** The instances the subscribers are spread over (evenly); sends go through the first. */
  urls: string[];
  agentId: string;
  token: string;
  subscribers: number;
  sends: number;
  /** The row's target: on the stack's p99 in ms, or on its ratio to the bare p99. */
  target: { p99Ms: number } | { ratio: number };
}

/**
 * One conversation's subscribers (from a load generator in its own process) on every
 * instance, and messages sent through the first one at a time: the time from each send to
 * each subscriber's copy. Beside it, the bare baseline: a bare node:http SSE server fanning
 * an event of the same size to as many streams of the same generator.
 */
export async function measureFanOut(args: FanOutArgs) {
  const { urls, agentId, token, subscribers, sends } = args;
  const where = urls.length > 1 ? `spread over ${urls.length} instances` : 'on one instance';
  log(`a sent message reaching ${fmt(subscribers)} live subscribers ${where}`);
  const first = urls[0] as string;
  const stack = await withLoad(
    startFanOutLoad({
      targets: urls.map((url) => eventsTarget(url, agentId, token)),
      count: subscribers,
    }),
    async (load) => {
      // One unmeasured turn first, waited for to its end on every stream.
      await sendOneAtATime(load, (content) => stackSend(first, token, agentId, content), {
        sends: 1,
        copiesEach: subscribers,
        stopsEach: subscribers,
        label: 'warm-up',
      });
      // Each send once every subscriber has seen the previous turn end, so it measures
      // delivery, not the tail of the previous reply still streaming out.
      await sendOneAtATime(load, (content) => stackSend(first, token, agentId, content), {
        sends,
        copiesEach: subscribers,
        stopsEach: subscribers,
        label: 'fan-out',
      });
      const { samples } = await load.report();
      return summary(samples.slice(subscribers));
    },
  );
  const bare = await withBareServer((url) =>
    withLoad(
      startFanOutLoad({
        targets: [{ url: `${url}/events?c=one`, headers: {} }],
        count: subscribers,
      }),
      async (load) => {
        const send = (content: string) => bareSend(url, 'one', content);
        await sendOneAtATime(load, send, {
          sends: 1,
          copiesEach: subscribers,
          stopsEach: 0,
          label: 'warm-up',
        });
        await sendOneAtATime(load, send, {
          sends,
          copiesEach: subscribers,
          stopsEach: 0,
          label: 'bare',
        });
        const { samples } = await load.report();
        return summary(samples.slice(subscribers));
      },
    ),
  );
  const ratio = stack.p99 / bare.p99;
  const target = args.target;
  rows.push({
    figure: `a sent message reaching ${fmt(subscribers)} live subscribers of one conversation (builtin agent, ${where}; subscribers in a load generator of their own), p99`,
    target: 'p99Ms' in target ? `≤ ${target.p99Ms} ms` : `≤ ${target.ratio}× bare`,
    measured: `${stack.p99.toFixed(1)} ms (p50 ${stack.p50.toFixed(1)} ms, ${fmt(stack.count)} deliveries); bare node:http SSE fan-out p99 ${bare.p99.toFixed(1)} ms (p50 ${bare.p50.toFixed(1)} ms), ratio ${ratio.toFixed(1)}`,
    verdict: ('p99Ms' in target ? stack.p99 <= target.p99Ms : ratio <= target.ratio)
      ? 'met'
      : 'missed',
  });
}

/** Runs `use` with a started load generator, and closes it whatever happens. */
export async function withLoad<T>(
  starting: Promise<FanOutLoad>,
  use: (load: FanOutLoad) => Promise<T>,
): Promise<T> {
  const load = await starting;
  try {
    return await use(load);
  } finally {
    await load.close();
  }
}
