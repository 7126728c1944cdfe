import { bearer, DURATION_S, fmt, load, log, ORIGIN, rows } from '../harness.js';
import { bareInserts } from './baselines.js';

/** Mints over REST against PostgreSQL, under load. */
export async function measureMints(
  databaseUrl: string,
  url: string,
  apiKey: string,
  agentId: string,
) {
  log('token mints against PostgreSQL');
  const result = await load({
    url: `${url}/v1/client-side-access-tokens`,
    method: 'POST',
    headers: { ...bearer(apiKey), 'content-type': 'application/json' },
    body: JSON.stringify({
      hostname: ORIGIN,
      policy: [{ type: 'agent', id: agentId, access: ['read_messages'] }],
    }),
    connections: 16,
  });
  const bare = await bareInserts(databaseUrl, 16, DURATION_S);
  rows.push({
    figure: 'token mints per second against PostgreSQL (POST /v1/client-side-access-tokens)',
    target: '≥ 1,000',
    measured: `${fmt(result.rps)}/s (p99 ${result.p99} ms, 16 connections); bare INSERT loop ${fmt(bare.perSecond)}/s (p99 ${bare.p99.toFixed(1)} ms), ratio ${(result.rps / bare.perSecond).toFixed(2)}`,
    verdict: result.rps >= 1000 ? 'met' : 'missed',
  });
}
