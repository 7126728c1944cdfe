import { builtinStep } from '../../src/agent-runtime/builtin.js';
import { loadConfig } from '../../src/config.js';
import type { ServiceDeps } from '../../src/deps.js';
import { benchConversations } from '../conversations.js';
import {
  bareSend,
  DRAIN_MS,
  eventsTarget,
  marked,
  ms,
  sendEverySecond,
  sendOneAtATime,
  stackSend,
  startFanOutLoad,
  summaryWithMissing,
  withBareServer,
  withInstances,
} from '../fan-out-driver.js';
import { DURATION_S, fmt, log, rows } from '../harness.js';
import { withLoad } from './fan-out.js';

const CONVERSATIONS = 1_000;
const SUBSCRIBERS = 10_000;
const TARGET_RATIO = 3;
/** Conversations given one unmeasured turn first, so the measured seconds are not the JIT's. */
const WARM_UP = 3;

/**
 * Many conversations at once: 10,000 subscribers (a load generator in its own process)
 * spread over 1,000 conversations and two fresh instances, and a message a second sent in
 * each conversation for BENCH_DURATION seconds, none waiting for another: the time from each
 * send to each subscriber's copy. Each send is a turn, so each copy has the agent's reply
 * streaming after it. Beside it, the bare SSE server doing the same: as many streams over
 * as many channels, a POST a second in each, each followed by a reply of as many pieces at
 * the builtin model's pace (see bare-sse.ts).
 */
export async function measureConversationsFanOut(
  env: NodeJS.ProcessEnv,
  deps: ServiceDeps,
  organizationId: string,
) {
  const each = SUBSCRIBERS / CONVERSATIONS;
  log(
    `${fmt(SUBSCRIBERS)} subscribers over ${fmt(CONVERSATIONS)} conversations, a message a second in each`,
  );
  const started = performance.now();
  const { agentIds, tokenOf } = await benchConversations(deps, organizationId, CONVERSATIONS);
  log(
    `${fmt(CONVERSATIONS)} agents ready after ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  const reply = replyLike(env);
  const stack = await withInstances(env, 2, (urls) => {
    // Subscriber i on target i mod 2,000: half of each conversation's on each instance.
    const targets = agentIds.flatMap((agentId, c) =>
      urls.map((url) => eventsTarget(url, agentId, tokenOf(c))),
    );
    const send = (c: number, content: string, signal?: AbortSignal) =>
      stackSend(
        urls[c % urls.length] as string,
        tokenOf(c),
        agentIds[c] as string,
        content,
        signal,
      );
    const starting = startFanOutLoad({ targets, count: SUBSCRIBERS }, { partial: true });
    return withLoad(starting, async (load) => {
      const { open, openMs } = load.opened;
      log(`${fmt(open)} subscribers open in ${(openMs / 1000).toFixed(0)} s`);
      // Those that opened within the bound are the first `open`: their conversations' copies.
      const copies = Array<number>(CONVERSATIONS).fill(0);
      for (let i = 0; i < open; i++) {
        const c = Math.floor((i % targets.length) / urls.length);
        copies[c] = (copies[c] ?? 0) + 1;
      }
      const copiesOf = (c: number) => copies[c] ?? 0;
      for (let c = 0; c < WARM_UP; c++) {
        await sendOneAtATime(load, (content) => send(c, content), {
          sends: 1,
          copiesEach: copiesOf(c),
          stopsEach: copiesOf(c),
          label: 'warm-up',
        });
      }
      log(`warm-up turns done after ${((performance.now() - started) / 1000).toFixed(0)} s`);
      const sent = await sendEverySecond(load, send, {
        conversations: CONVERSATIONS,
        seconds: DURATION_S,
        copiesOf,
        label: 'conversation',
      });
      const { samples } = await load.report();
      const warmUpCopies = Array.from({ length: WARM_UP }, (_, c) => copiesOf(c));
      const warmed = warmUpCopies.reduce((sum, n) => sum + n, 0);
      return {
        ...sent,
        ...summaryWithMissing(samples.slice(warmed), sent.missing),
        open,
        openMs,
      };
    });
  });
  log(`the stack's part done after ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const bare = await withBareServer((url) =>
    withLoad(
      startFanOutLoad({
        targets: agentIds.map((_, c) => ({ url: `${url}/events?c=${c}`, headers: {} })),
        count: SUBSCRIBERS,
      }),
      async (load) => {
        const send = (c: number, content: string, signal?: AbortSignal) =>
          bareSend(url, String(c), content, signal, reply);
        for (let c = 0; c < WARM_UP; c++) {
          await sendOneAtATime(load, (content) => send(c, content), {
            sends: 1,
            copiesEach: each,
            stopsEach: 0,
            label: 'warm-up',
          });
        }
        const sent = await sendEverySecond(load, send, {
          conversations: CONVERSATIONS,
          seconds: DURATION_S,
          copiesOf: () => each,
          label: 'bare',
        });
        const { samples } = await load.report();
        return { ...sent, ...summaryWithMissing(samples.slice(WARM_UP * each), sent.missing) };
      },
    ),
  );
  const ratio = stack.p99 / bare.p99;
  const opened =
    stack.open < SUBSCRIBERS
      ? `only ${fmt(stack.open)} of ${fmt(SUBSCRIBERS)} subscribers opened within the bound (${(stack.openMs / 1000).toFixed(0)} s), measured with those; `
      : `all open in ${(stack.openMs / 1000).toFixed(0)} s; `;
  const rate = (r: { sent: number; offered: number; sendingMs: number }) =>
    `${fmt(r.sent)} of ${fmt(r.offered)} sends made, ${fmt(r.sent / (r.sendingMs / 1000))}/s`;
  const lost = (r: Omit<typeof stack, 'open' | 'openMs'>) =>
    r.missing > 0 || r.errors.length > 0 || r.unanswered > 0
      ? `; ${fmt(r.missing)} copies missing ${DRAIN_MS / 1000} s after the last send, ${fmt(r.errors.length)} sends failed${r.errors[0] ? ` (${r.errors[0].slice(0, 160)})` : ''}, ${fmt(r.unanswered)} unanswered then`
      : '';
  rows.push({
    figure: `${fmt(SUBSCRIBERS)} subscribers over ${fmt(CONVERSATIONS)} conversations (${each} each, half on each of two instances), a message a second in each for ${DURATION_S} s: send to each copy, p99`,
    target: `≤ ${TARGET_RATIO}× bare`,
    measured: `${opened}${ms(stack.p99)} (p50 ${ms(stack.p50)}, ${fmt(stack.count)} copies, ${rate(stack)}${lost(stack)}); bare node:http SSE server doing the same (each send followed by a reply of ${reply.pieces} pieces ${reply.paceMs} ms apart, as the stack's) p99 ${ms(bare.p99)} (p50 ${ms(bare.p50)}, ${rate(bare)}${lost(bare)}), ratio ${Number.isFinite(ratio) ? ratio.toFixed(1) : '–'}`,
    verdict:
      ratio <= TARGET_RATIO &&
      stack.open === SUBSCRIBERS &&
      stack.sent === stack.offered &&
      stack.missing === 0 &&
      stack.errors.length === 0
        ? 'met'
        : 'missed',
  });
}

/** The reply the instances' builtin model streams to the step's messages: its pieces and pace. */
function replyLike(env: NodeJS.ProcessEnv) {
  const said = marked('conversation 999');
  const step = builtinStep(
    { id: 'agent', name: 'agent', system: '', model: null, memoryBlocks: [] },
    [{ role: 'user', content: said }],
    [],
  );
  const text = 'text' in step ? step.text : '';
  return {
    pieces: text.match(/\S+\s*/g)?.length ?? 0,
    paceMs: loadConfig(env).agent.builtinPieceDelayMs,
  };
}
