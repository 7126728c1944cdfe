import type { ServiceDeps } from '../../src/deps.js';
import { mintClientToken } from '../../src/tokens/client-tokens.js';
import { bearer, DURATION_S, log, ORIGIN, percentile, rows } from '../harness.js';

/** How soon instance B refuses a token revoked through instance A. */
export async function measureRevocation(
  deps: ServiceDeps,
  urlA: string,
  urlB: string,
  apiKey: string,
  organizationId: string,
  agentId: string,
) {
  log('revocation on A seen by B');
  const input = encodeURIComponent(JSON.stringify({ agentId }));
  const call = async (url: string, token: string) => {
    const response = await fetch(`${url}/bench/authed?input=${input}`, {
      headers: bearer(token, ORIGIN),
    });
    await response.arrayBuffer();
    return response.status;
  };
  const samples: number[] = [];
  const deadline = performance.now() + DURATION_S * 2000;
  for (let i = 0; i < 200 && performance.now() < deadline; i++) {
    const { token } = await mintClientToken(deps, {
      organizationId,
      hostname: ORIGIN,
      policy: [{ type: 'agent', id: agentId, access: ['read_agent'] }],
    });
    // B has verified the token, so it answers from its cache until told otherwise.
    if ((await call(urlB, token)) !== 200) throw new Error('B refused a fresh token');
    const start = performance.now();
    const revoked = await fetch(`${urlA}/v1/client-side-access-tokens/${token}`, {
      method: 'DELETE',
      headers: bearer(apiKey),
    });
    if (revoked.status !== 204) throw new Error(`Revocation answered ${revoked.status}`);
    for (;;) {
      const status = await call(urlB, token);
      if (status === 401) break;
      if (performance.now() - start > 5_000) throw new Error('B never refused a revoked token');
    }
    samples.push(performance.now() - start);
  }
  const p99 = percentile(samples, 99);
  rows.push({
    figure: 'revocation on instance A seen by instance B (from sending the DELETE), p99',
    target: '≤ 100 ms',
    measured: `${p99.toFixed(1)} ms (p50 ${percentile(samples, 50).toFixed(1)} ms, ${samples.length} revocations)`,
    verdict: p99 <= 100 ? 'met' : 'missed',
  });
}
