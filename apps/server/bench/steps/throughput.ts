import type { ChildProcess } from 'node:child_process';
import {
  bearer,
  fmt,
  type LoadOptions,
  load,
  log,
  ORIGIN,
  percentile,
  rows,
  withChild,
} from '../harness.js';

/** The authenticated and open procedures side by side, and the raw node:http ceiling. */
export async function measureThroughput(
  instance: { url: string; child: ChildProcess },
  agentId: string,
  token: string,
) {
  log('throughput: the authenticated and open procedures, and the raw node:http ceiling');
  await withChild('./framework-servers.ts', ['node'], (port) =>
    measurePairs(instance, agentId, token, { url: `http://127.0.0.1:${port}/`, connections: 10 }),
  );
}

async function measurePairs(
  instance: { url: string; child: ChildProcess },
  agentId: string,
  token: string,
  ceiling: LoadOptions,
) {
  const { url } = instance;
  const input = encodeURIComponent(JSON.stringify({ agentId }));
  // Ten connections saturate one instance here; fifty only add scheduling noise.
  const authed = {
    url: `${url}/bench/authed?input=${input}`,
    headers: bearer(token, ORIGIN),
    connections: 10,
  };
  // The same Origin on both, so CORS does the same work; only the credential differs.
  const open = {
    url: `${url}/bench/open?input=${input}`,
    headers: { origin: ORIGIN },
    connections: 10,
  };
  // Back-to-back pairs, so drift in what else the machine runs favours neither side; the
  // figure is the median of the pairs' ratios, the req/s are means over all rounds.
  // The ceiling is measured the same way as the call it is compared with (10 connections,
  // 3-second rounds), in the same loop, so its ratio is a median of rounds side by side too.
  const PAIRS = 5;
  const ratios: number[] = [];
  const ceilingRatios: number[] = [];
  let authedRps = 0;
  let openRps = 0;
  let ceilingRps = 0;
  let authedCpu = 0;
  let openCpu = 0;
  for (let pair = 0; pair < PAIRS; pair++) {
    // Which goes first alternates, so an order effect cancels out too.
    const first = await load(pair % 2 === 0 ? open : authed, 3, instance.child);
    const second = await load(pair % 2 === 0 ? authed : open, 3, instance.child);
    const ceilingRound = await load(ceiling, 3);
    const [openRound, authedRound] = pair % 2 === 0 ? [first, second] : [second, first];
    ratios.push(authedRound.rps / openRound.rps);
    ceilingRatios.push(authedRound.rps / ceilingRound.rps);
    openRps += openRound.rps / PAIRS;
    authedRps += authedRound.rps / PAIRS;
    ceilingRps += ceilingRound.rps / PAIRS;
    openCpu += openRound.cpuPerRequestUs / PAIRS;
    authedCpu += authedRound.cpuPerRequestUs / PAIRS;
  }
  const ratio = percentile(ratios, 50);
  rows.push({
    figure: 'ck-let- authenticated tRPC call (no other database work) ÷ same call unauthenticated',
    target: '≥ 0.90',
    measured: `${ratio.toFixed(2)} (median of ${PAIRS} pairs, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; ${fmt(authedRps)} vs ${fmt(openRps)} req/s; server CPU ${fmt(authedCpu)} vs ${fmt(openCpu)} µs a request, ratio ${(openCpu / authedCpu).toFixed(2)})`,
    verdict: ratio >= 0.9 ? 'met' : 'missed',
  });
  rows.push({
    figure: 'the same authenticated call ÷ raw node:http hello-world (the ceiling)',
    target: 'reported',
    measured: `${percentile(ceilingRatios, 50).toFixed(2)} (median of ${PAIRS} rounds beside the pairs, 10 connections, 3 s each; ${fmt(authedRps)} vs ${fmt(ceilingRps)} req/s)`,
    verdict: 'reported',
  });
}
