import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServiceDeps } from '../src/deps.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { APP_ORIGIN, makeDeps, seedOrganization } from './support/fixtures.js';
import { startTestServer } from './support/server.js';
import { SlowRuntime } from './support/slow-runtime.js';

let database: TestDatabase;
let deps: ServiceDeps;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database);
});
afterAll(() => database.close());

/** Reads an SSE response to its end, however it ends. */
async function readToEnd(response: Response) {
  let text = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body ?? []) text += decoder.decode(chunk, { stream: true });
    return { text, cut: false };
  } catch {
    return { text, cut: true };
  }
}

it('on close: finishes the send in flight, cuts live streams so clients reconnect, then stops', async () => {
  const slow = new SlowRuntime(200);
  const acme = await seedOrganization(deps, 'acme');
  const server = await startTestServer({ ...deps, agentRuntime: slow });
  const { token } = await mintClientToken(deps, {
    organizationId: acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: acme.agentId, access: ['read_messages'] }],
  });

  const query = new URLSearchParams({ input: JSON.stringify({ agentId: acme.agentId }) });
  const stream = await fetch(`${server.baseUrl}/trpc/messages.events?${query}`, {
    headers: {
      accept: 'text/event-stream',
      origin: APP_ORIGIN,
      authorization: `Bearer ${token}`,
    },
  });
  expect(stream.status).toBe(200);
  const streamEnd = readToEnd(stream);

  const send = fetch(`${server.baseUrl}/v1/agents/${acme.agentId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'slow one' }] }),
  });
  while (slow.running === 0) await new Promise((r) => setTimeout(r, 5));

  const closed = server.app.close();
  const answered = await send;
  expect(answered.status).toBe(200);
  const body = (await answered.json()) as { messages: { content: string }[] };
  expect(body.messages[0]?.content).toBe('re: slow one');

  const { text } = await streamEnd;
  // Cut, not completed: a `return` event would tell tRPC's client not to reconnect.
  expect(text).toContain('event: connected');
  expect(text).not.toContain('event: return');
  await closed;
  await expect(fetch(`${server.baseUrl}/healthz`)).rejects.toThrow();
});
