import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { useSuite } from './support/suite.js';

// Browsers send no `Origin` on a same-origin GET (an EventSource to the server that also
// serves the web app); the origin is then the server's own, with the scheme the client used.
const s = useSuite();
const PUBLIC_ORIGIN = 'https://app.example.com';
let baseUrl: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const app = await buildApp({ deps: s.deps, logLevel: 'silent', trustProxy: ['127.0.0.1'] });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
});
afterAll(() => close());

async function tokenFor(hostname: string) {
  const { token } = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname,
    policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
  });
  return token;
}

/** A same-origin browser request arriving through a TLS-terminating load balancer. */
const behindProxy = (token: string, fetchSite: string) => ({
  authorization: `Bearer ${token}`,
  'x-forwarded-host': 'app.example.com',
  'x-forwarded-proto': 'https',
  'sec-fetch-site': fetchSite,
});

describe('a same-origin request without Origin, behind an HTTPS proxy', () => {
  it('is matched against https://host on both the REST and the tRPC edge', async () => {
    const headers = behindProxy(await tokenFor(PUBLIC_ORIGIN), 'same-origin');
    const rest = await fetch(`${baseUrl}/v1/agents/${s.acme.agentId}`, { headers });
    expect(rest.status).toBe(200);
    const input = encodeURIComponent(JSON.stringify({ agentId: s.acme.agentId }));
    const trpc = await fetch(`${baseUrl}/trpc/agents.retrieve?input=${input}`, { headers });
    expect(trpc.status).toBe(200);
    expect(((await trpc.json()) as { result: { data: { id: string } } }).result.data.id).toBe(
      s.acme.agentId,
    );
  });

  it('is refused for a token bound to the plain-http origin, and when not same-origin', async () => {
    const input = encodeURIComponent(JSON.stringify({ agentId: s.acme.agentId }));
    const httpToken = behindProxy(await tokenFor('http://app.example.com'), 'same-origin');
    const crossSite = behindProxy(await tokenFor(PUBLIC_ORIGIN), 'cross-site');
    for (const headers of [httpToken, crossSite]) {
      const trpc = await fetch(`${baseUrl}/trpc/agents.retrieve?input=${input}`, { headers });
      expect(trpc.status).toBe(403);
      const rest = await fetch(`${baseUrl}/v1/agents/${s.acme.agentId}`, { headers });
      expect(rest.status).toBe(403);
      expect(((await rest.json()) as { message: string }).message).toMatch(/bound to/);
    }
  });
});
