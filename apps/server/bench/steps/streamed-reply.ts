import type { ServiceDeps } from '../../src/deps.js';
import { benchConversations } from '../conversations.js';
import { withInstances } from '../fan-out-driver.js';
import {
  children,
  DURATION_S,
  exited,
  fmt,
  forkWithManyFiles,
  log,
  messageWith,
  ORIGIN,
  percentile,
  rows,
  withChild,
} from '../harness.js';
import type { ReplyOrder, ReplyReport } from '../reply-load.js';

const TURNS = 1_000;
/** The fake model's pace: a piece every PACE_MS, for BENCH_DURATION seconds a reply. */
const PACE_MS = 50;
/** Turns still streaming this long after a reply's length are given up and reported. */
const GRACE_MS = 10_000;

/**
 * What the stack adds to a streamed reply: 1,000 turns at once, each a streamed send
 * (`POST /v1/agents/:id/messages/stream` with `stream_tokens`, as Letta's SDK streams a
 * reply) on one fresh instance pointed at a fake model that emits a piece every PACE_MS,
 * its send time inside; a load generator in its own process times each piece from the
 * model's send to its arrival. Beside it, a bare node:http relay (the model's stream read
 * and written on as SSE) under the same load from the same generator, and the model's own
 * pace as kept.
 */
export async function measureStreamedReply(
  env: NodeJS.ProcessEnv,
  deps: ServiceDeps,
  organizationId: string,
) {
  const pieces = Math.max(1, Math.round((DURATION_S * 1000) / PACE_MS));
  log(`${fmt(TURNS)} streamed replies at once, ${pieces} pieces each, one every ${PACE_MS} ms`);
  const { agentIds, tokenOf } = await benchConversations(deps, organizationId, TURNS);
  const modelArgs = [JSON.stringify({ pieces, paceMs: PACE_MS })];
  const body = JSON.stringify({
    messages: [{ role: 'user', content: 'tell me the time' }],
    stream_tokens: true,
  });
  const stack = await withChild('./paced-model.ts', modelArgs, (modelPort) =>
    withInstances(
      {
        ...env,
        SCOPEKIT_AGENT_PROVIDER: 'openai',
        LLM_BASE_URL: `http://127.0.0.1:${modelPort}/v1`,
        LLM_MODEL: 'paced',
      },
      1,
      ([url]) =>
        runTurns(
          agentIds.map((agentId, i) => ({
            url: `${url}/v1/agents/${agentId}/messages/stream`,
            headers: { authorization: `Bearer ${tokenOf(i)}`, origin: ORIGIN },
            body,
          })),
        ),
    ),
  );
  const bare = await withChild('./paced-model.ts', modelArgs, (modelPort) =>
    withChild('./bare-relay.ts', [`http://127.0.0.1:${modelPort}/v1`], (relayPort) =>
      runTurns(
        agentIds.map(() => ({ url: `http://127.0.0.1:${relayPort}/stream`, headers: {}, body })),
      ),
    ),
  );
  const expected = TURNS * pieces;
  // Pieces that never arrived count as later than any that did: a stack that cannot keep
  // up does not get a better percentile for the pieces it dropped.
  const withMissing = (r: ReplyReport) => [
    ...r.added,
    ...Array<number>(Math.max(0, expected - r.added.length)).fill(Infinity),
  ];
  const stackAll = withMissing(stack);
  const bareAll = withMissing(bare);
  const stackP99 = percentile(stackAll, 99);
  const bareP99 = percentile(bareAll, 99);
  const ms = (value: number) =>
    Number.isFinite(value)
      ? `${value.toFixed(1)} ms`
      : `> ${(DURATION_S * 1000 + GRACE_MS) / 1000} s (pieces missing)`;
  const p = (samples: number[], q: number) =>
    samples.length > 0 ? percentile(samples, q).toFixed(1) : '–';
  const shortfall = (r: ReplyReport) =>
    r.added.length < expected || r.failures > 0
      ? `; ${fmt(expected - r.added.length)} pieces missing, ${fmt(r.completed)} of ${fmt(TURNS)} replies ended, ${r.failures} failed${r.firstFailure ? ` (${r.firstFailure.slice(0, 160)})` : ''}`
      : '';
  const ratio = stackP99 / bareP99;
  rows.push({
    figure: `what the stack adds to a streamed reply: ${fmt(TURNS)} turns at once (POST …/messages/stream with stream_tokens, one instance, a fake model emitting a piece every ${PACE_MS} ms), from the model's piece to the SSE client, p99`,
    target: 'reported, ms and × bare',
    measured: `${ms(stackP99)} (p50 ${ms(percentile(stackAll, 50))}, ${fmt(stack.added.length)} pieces${shortfall(stack)}); bare node:http relay p99 ${ms(bareP99)} (p50 ${ms(percentile(bareAll, 50))}${shortfall(bare)}), ratio ${Number.isFinite(ratio) ? ratio.toFixed(1) : '–'}; the model's pace as kept: p50 ${p(stack.gaps, 50)} ms, p99 ${p(stack.gaps, 99)} ms between pieces (bare run: ${p(bare.gaps, 50)} and ${p(bare.gaps, 99)} ms)`,
    verdict: 'reported',
  });
}

/** Every turn at once from a load generator of their own; what it timed. */
async function runTurns(turns: ReplyOrder['turns']): Promise<ReplyReport> {
  const generator = forkWithManyFiles('./reply-load.ts', []);
  try {
    const order: ReplyOrder = { turns, withinMs: DURATION_S * 1000 + GRACE_MS };
    generator.send({ order });
    return (await messageWith<{ report: ReplyReport }>(generator, 'report')).report;
  } finally {
    if (generator.connected) generator.send({ close: true });
    await exited(generator);
    children.delete(generator);
  }
}
