import type { ChildProcess } from 'node:child_process';
import type { ServiceDeps } from '../../src/deps.js';
import { benchConversations } from '../conversations.js';
import { stackSend } from '../fan-out-driver.js';
import { ask, DURATION_S, fmt, log, percentile, rows } from '../harness.js';
import { postgresCpuMs } from '../postgres-cpu.js';

/** People talking at once, each sending again as soon as the agent has answered. */
const PEOPLE = 200;
/** The conversations step's offered rate, for the cores it would take. */
const OFFERED_A_SECOND = 1_000;

/**
 * How many turns one instance answers a second, and what a turn costs in CPU: PEOPLE
 * conversations on the given instance, each a person who sends (`messages.send`, the
 * builtin model at its default pace) and sends again once answered, for BENCH_DURATION
 * seconds. The instance's CPU comes from the instance itself, PostgreSQL's from /proc where
 * it runs on this machine. Turns, not connected people, are what an instance's CPU is sized
 * by (docs/scaling.md); this is the figure to size it with.
 */
export async function measureTurns(
  deps: ServiceDeps,
  organizationId: string,
  instance: { url: string; child: ChildProcess },
) {
  log(`${PEOPLE} people each sending again as soon as answered`);
  // The conversations step's agents, from the far end: its own warm-up turns use the first.
  const { agentIds, tokenOf } = await benchConversations(deps, organizationId, 1_000);
  const people = Array.from({ length: PEOPLE }, (_, i) => agentIds.length - 1 - i);
  const send = (c: number, content: string) =>
    stackSend(instance.url, tokenOf(c), agentIds[c] as string, content);
  // One turn each first, so the measured seconds are not the JIT's or a cold pool's.
  await Promise.all(people.map((c) => send(c, 'hello')));
  const cpuBefore = await ask<NodeJS.CpuUsage>(instance.child, 'cpu');
  const postgresBefore = postgresCpuMs();
  const started = performance.now();
  const deadline = started + DURATION_S * 1000;
  const times: number[] = [];
  await Promise.all(
    people.map(async (c) => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        await send(c, `message ${times.length}`);
        times.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = await ask<NodeJS.CpuUsage>(instance.child, 'cpu');
  const postgresAfter = postgresCpuMs();
  const turns = times.length;
  const instanceMs =
    (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / 1000 / turns;
  const postgresMs =
    postgresBefore !== undefined && postgresAfter !== undefined
      ? (postgresAfter - postgresBefore) / turns
      : undefined;
  const coreShare = (instanceMs * turns) / seconds / 1000;
  const cores = (OFFERED_A_SECOND * (instanceMs + (postgresMs ?? 0))) / 1000;
  rows.push({
    figure: `turns one instance answers a second: ${PEOPLE} people each sending again once answered (messages.send, the builtin model at its 30 ms a word), and their CPU`,
    target: 'reported',
    measured: `${fmt(turns / seconds)}/s (a turn p50 ${fmt(percentile(times, 50))} ms, p99 ${fmt(percentile(times, 99))} ms); the instance ${instanceMs.toFixed(1)} ms of CPU a turn (${(coreShare * 100).toFixed(0)}% of a core), PostgreSQL ${postgresMs === undefined ? 'not on this machine' : `${postgresMs.toFixed(1)} ms`}: ${fmt(OFFERED_A_SECOND)} turns a second take about ${cores.toFixed(0)} cores`,
    verdict: 'reported',
  });
}
