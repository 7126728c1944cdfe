import type { ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import type { FanOutCounts, FanOutOrder } from './fanout-load.js';
import {
  children,
  exited,
  forkWithManyFiles,
  INSTANCE,
  messageWith,
  ORIGIN,
  percentile,
  stopInstance,
  withChild,
  within,
} from './harness.js';
import { call } from './http-client.js';

/**
 * What the fan-out steps share: subscribers in a load generator of their own
 * (`fanout-load.ts`), senders for the stack and for the bare baseline, and the two ways of
 * sending (one message at a time, each waited for; or a message a second per conversation).
 * Each send's content carries its send time, so the generator times each copy itself.
 */

/** Opening is bounded: a step whose subscribers did not all open fails, naming how many did. */
const OPEN_WITHIN_MS = 60_000;

/** The time every process on the machine shares, in ms: the send time a message carries. */
export const wallNow = () => performance.timeOrigin + performance.now();
export const marked = (label: string) => `${label} @${wallNow().toFixed(3)}#`;

export interface FanOutLoad {
  opened: FanOutCounts;
  /** Resolves once `delivered` user-message copies and `stops` turn ends have arrived in all. */
  waitFor(delivered: number, stops: number, ms: number, failure: string): Promise<FanOutCounts>;
  report(): Promise<{ samples: number[]; counts: FanOutCounts }>;
  close(): Promise<void>;
}

export async function startFanOutLoad(
  order: Omit<FanOutOrder, 'openWithinMs'>,
  /** Go on with the subscribers that opened within the bound rather than fail. */
  options: { partial?: boolean } = {},
): Promise<FanOutLoad> {
  const child = forkWithManyFiles('./fanout-load.ts', []);
  const close = async () => {
    if (child.connected) child.send({ close: true });
    await exited(child);
    children.delete(child);
  };
  try {
    child.send({ order: { ...order, openWithinMs: OPEN_WITHIN_MS } });
    const { opened } = await messageWith<{ opened: FanOutCounts }>(child, 'opened');
    if ((opened.open < order.count && !options.partial) || opened.failures > 0) {
      throw new Error(
        `${opened.open} of ${order.count} subscribers opened in ${(opened.openMs / 1000).toFixed(0)} s, ${opened.failures} failed${opened.firstFailure ? ` (${opened.firstFailure})` : ''}`,
      );
    }
    return {
      opened,
      waitFor: async (delivered, stops, ms, failure) => {
        const reached = messageWith<{ reached: FanOutCounts }>(child, 'reached');
        child.send({ waitFor: { delivered, stops } });
        return (await within(reached, ms, failure)).reached;
      },
      report: () => {
        const answer = messageWith<{ samples: number[]; counts: FanOutCounts }>(child, 'samples');
        child.send({ report: true });
        return answer;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `count` fresh server instances with their descriptor limit raised, for as long as `run` takes. */
export async function withInstances<T>(
  env: NodeJS.ProcessEnv,
  count: number,
  run: (urls: string[]) => Promise<T>,
): Promise<T> {
  const instances = Array.from({ length: count }, () => forkWithManyFiles(INSTANCE, [], { env }));
  try {
    const urls = await Promise.all(
      instances.map(async (child) => (await messageWith<{ url: string }>(child, 'url')).url),
    );
    return await run(urls);
  } finally {
    await Promise.all(instances.map(stopInstance));
  }
}

/**
 * The bare baseline server (`bare-sse.ts`) with its descriptor limit raised, for `run`;
 * with `gc`, it can also be asked for its settled `memory`.
 */
export function withBareServer<T>(
  run: (url: string, child: ChildProcess) => Promise<T>,
  options: { gc?: boolean } = {},
): Promise<T> {
  return withChild(
    './bare-sse.ts',
    [],
    (port, child) => run(`http://127.0.0.1:${port}`, child),
    options,
  );
}

/** The stack's `messages.events` stream of one agent, as the generator opens it. */
export function eventsTarget(url: string, agentId: string, token: string) {
  const input = encodeURIComponent(JSON.stringify({ agentId }));
  return {
    url: `${url}/trpc/messages.events?input=${input}`,
    headers: { authorization: `Bearer ${token}`, origin: ORIGIN, accept: 'text/event-stream' },
  };
}

/** A user message through the stack's `messages.send`, as the web app sends one. */
export async function stackSend(
  url: string,
  token: string,
  agentId: string,
  content: string,
  signal?: AbortSignal,
) {
  const response = await call(`${url}/trpc/messages.send`, {
    method: 'POST',
    signal,
    headers: {
      authorization: `Bearer ${token}`,
      origin: ORIGIN,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ agentId, content }),
  });
  if (response.status !== 200) {
    throw new Error(`messages.send answered ${response.status}: ${response.body}`);
  }
}

/**
 * A user message as the bare server sends it: an event the size of the stack's; with
 * `reply`, followed by a reply streamed as the stack streams the agent's (see bare-sse.ts).
 */
export async function bareSend(
  url: string,
  channel: string,
  content: string,
  signal?: AbortSignal,
  reply?: { pieces: number; paceMs: number },
) {
  const replied = reply ? `&pieces=${reply.pieces}&paceMs=${reply.paceMs}` : '';
  const response = await call(`${url}/send?c=${channel}${replied}`, {
    method: 'POST',
    signal,
    body: JSON.stringify({
      id: `message-${channel}`,
      data: {
        type: 'message',
        message: {
          id: 'message-000000000000000000000000',
          date: new Date().toISOString(),
          message_type: 'user_message',
          content,
          otid: '00000000000000000000000000000000',
          sender_id: null,
          run_id: 'run-000000000000000000000000',
        },
      },
    }),
  });
  if (response.status !== 204) throw new Error(`the bare server answered ${response.status}`);
}

/**
 * `sends` messages one after another, each sent once every subscriber has had the one
 * before (and, with `stopsEach`, that turn's end): delivery, not a backlog.
 */
export async function sendOneAtATime(
  load: FanOutLoad,
  send: (content: string) => Promise<void>,
  args: { sends: number; copiesEach: number; stopsEach: number; label: string },
) {
  const { sends, copiesEach, stopsEach, label } = args;
  const base = await load.waitFor(0, 0, 10_000, 'the load generator did not answer');
  for (let i = 0; i < sends; i++) {
    await send(marked(`${label} ${i}`));
    await load.waitFor(
      base.delivered + (i + 1) * copiesEach,
      base.stops + (i + 1) * stopsEach,
      20_000,
      `${label} ${i} did not reach every subscriber within 20 s`,
    );
  }
}

/** How long after the last send of `sendEverySecond` copies are waited for. */
export const DRAIN_MS = 10_000;

/**
 * A message a second in each of `conversations`, spread evenly over each second, for
 * `seconds`, none waiting for another (people do not take turns across conversations);
 * then waits DRAIN_MS at most for every copy, and gives up the sends still in flight (a
 * server that cannot keep up would otherwise hold the bench for as long as its backlog).
 * Returns what was sent, the sends that failed, and the copies that did not arrive.
 */
export async function sendEverySecond(
  load: FanOutLoad,
  send: (conversation: number, content: string, signal: AbortSignal) => Promise<void>,
  args: {
    conversations: number;
    seconds: number;
    copiesOf: (conversation: number) => number;
    label: string;
  },
) {
  const { conversations, seconds, copiesOf, label } = args;
  const base = await load.waitFor(0, 0, 10_000, 'the load generator did not answer');
  const total = conversations * seconds;
  const gapMs = 1000 / conversations;
  const giveUp = new AbortController();
  // Every send in flight listens on it (thousands at once when the server falls behind):
  // that is the design, not a leak for Node to warn about on every send.
  setMaxListeners(0, giveUp.signal);
  const errors: string[] = [];
  let settled = 0;
  const started = performance.now();
  // A sender that falls behind its schedule (a starved machine) stops at the end of the
  // load run rather than stretching it: what it did not send is reported, not waited for.
  const stopAt = started + seconds * 1000 + 1000;
  const expectedCopies: number[] = [];
  let k = 0;
  while (k < total && performance.now() < stopAt) {
    // Yield every round, even when the next send is due within a millisecond: a loop that
    // only waits for waits over 1 ms never lets the requests it made leave the process.
    const wait = started + k * gapMs - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    while (k < total && started + k * gapMs <= performance.now()) {
      const conversation = k % conversations;
      expectedCopies.push(copiesOf(conversation));
      send(conversation, marked(`${label} ${k}`), giveUp.signal)
        .catch((error: unknown) => {
          if (!giveUp.signal.aborted) {
            errors.push(error instanceof Error ? error.message : String(error));
          }
        })
        .finally(() => settled++);
      k++;
    }
  }
  const sendingMs = performance.now() - started;
  const expected = base.delivered + expectedCopies.reduce((sum, n) => sum + n, 0);
  const arrived = await load
    .waitFor(expected, 0, DRAIN_MS, 'drain')
    .catch(() => load.waitFor(0, 0, 10_000, 'the load generator did not answer'));
  const unanswered = k - settled;
  giveUp.abort();
  return {
    sent: k,
    offered: total,
    sendingMs,
    errors,
    unanswered,
    missing: expected - arrived.delivered,
  };
}

/**
 * p99 and p50 of the copies that arrived and of those that did not, counted as later than
 * any that did: a server that drops or never sends copies does not get a better percentile.
 */
export function summaryWithMissing(samples: number[], missing: number) {
  const all = missing > 0 ? [...samples, ...Array(missing).fill(Infinity)] : samples;
  return { ...summary(all), count: samples.length };
}

/** A latency in ms, or what it is past when copies never arrived. */
export const ms = (value: number) =>
  Number.isFinite(value) ? `${value.toFixed(1)} ms` : `> ${DRAIN_MS / 1000} s (copies missing)`;

export function summary(samples: number[]) {
  return { p99: percentile(samples, 99), p50: percentile(samples, 50), count: samples.length };
}
