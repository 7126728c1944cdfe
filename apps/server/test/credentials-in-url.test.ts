import { describe, expect, it } from 'vitest';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { useSuite } from './support/suite.js';
import { browserTrpcClient } from './support/trpc-client.js';

// Proxies, load balancers and browsers log URLs: a credential is read from the Authorization
// header only, and one found in a URL is refused with a message that says where it goes.
const s = useSuite({ server: true });

const REFUSAL = /credential in the URL is refused .*Authorization: Bearer <token>/;

const clientToken = async (access: ('read_agent' | 'read_messages')[] = ['read_messages']) =>
  (
    await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access }],
    })
  ).token;

describe('a credential in a query string', () => {
  it('is refused on REST routes, escaped or not, even beside a good Authorization header', async () => {
    const key = s.acme.apiKey;
    const escaped = key.replace(/-/g, '%2D').replace(/^s/, '%73');
    for (const query of [`api_key=${key}`, `x=Bearer%20${escaped}`, `token=${key}&limit=1`]) {
      const response = await fetch(`${s.server.baseUrl}/v1/agents/${s.acme.agentId}?${query}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('x-should-retry')).toBe('false');
      expect(await response.json()).toMatchObject({
        error: 'Unauthorized',
        message: expect.stringMatching(REFUSAL),
      });
    }
    // Not the routes only: any path, /healthz included.
    expect((await fetch(`${s.server.baseUrl}/healthz?k=${key}`)).status).toBe(401);
  });

  it('is told apart from text that only looks like one', async () => {
    const lookalike = `ck-let-${'A'.repeat(50)}`;
    expect((await fetch(`${s.server.baseUrl}/healthz?q=${lookalike}`)).status).toBe(200);
  });

  it('is refused by tRPC, in a query or in connectionParams, as its clients read errors', async () => {
    const token = await clientToken(['read_agent']);
    const input = encodeURIComponent(JSON.stringify({ agentId: s.acme.agentId }));
    const params = encodeURIComponent(JSON.stringify({ authorization: `Bearer ${token}` }));
    for (const query of [
      `input=${input}&connectionParams=${params}`,
      `input=${input}&t=${token}`,
    ]) {
      const response = await fetch(`${s.server.baseUrl}/trpc/agents.retrieve?${query}`, {
        headers: { origin: APP_ORIGIN, authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { message: string; data: unknown } };
      expect(body.error.message).toMatch(REFUSAL);
      expect(body.error.data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
    }
  });

  it('opens no event stream with the token in connectionParams, as the web app once sent it', async () => {
    const token = await clientToken();
    const query = new URLSearchParams({
      input: JSON.stringify({ agentId: s.acme.agentId }),
      connectionParams: JSON.stringify({ authorization: `Bearer ${token}` }),
    });
    const response = await fetch(`${s.server.baseUrl}/trpc/messages.events?${query}`, {
      headers: { accept: 'text/event-stream', origin: APP_ORIGIN },
    });
    // As every refusal of a subscription: the stream's one event is the error, then it ends.
    const text = await response.text();
    expect(text).not.toMatch(/event: (message|ping)|^data: \{"id"/m);
    const refusal = /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1];
    expect(JSON.parse(refusal ?? '{}')).toMatchObject({
      message: expect.stringMatching(REFUSAL),
      data: { code: 'UNAUTHORIZED', httpStatus: 401 },
    });
  });
});

describe('the token in the Authorization header', () => {
  it('opens the event stream, which delivers what is sent', async () => {
    const token = await clientToken(['read_messages', 'read_agent']);
    const client = browserTrpcClient(s.server.baseUrl, token);
    const first = new Promise<unknown>((resolve, reject) => {
      const subscription = client.messages.events.subscribe(
        { agentId: s.acme.agentId },
        {
          onStarted: () =>
            void fetch(`${s.server.baseUrl}/v1/agents/${s.acme.agentId}/messages`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${s.acme.apiKey}`,
                'content-type': 'application/json',
              },
              body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] }),
            }),
          onData: (event) => {
            subscription.unsubscribe();
            resolve(event);
          },
          onError: reject,
        },
      );
    });
    expect(await first).toBeDefined();
  });
});
