import { bearer, fmt, load, log, ORIGIN, rows } from '../harness.js';

/** Mints over REST against PostgreSQL, under load. */
export async function measureMints(url: string, apiKey: string, agentId: string) {
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
  rows.push({
    figure: 'token mints per second against PostgreSQL (POST /v1/client-side-access-tokens)',
    target: '≥ 1,000',
    measured: `${fmt(result.rps)}/s (p99 ${result.p99} ms, 16 connections)`,
    verdict: result.rps >= 1000 ? 'met' : 'missed',
  });
}
