import { afterEach, beforeEach, expect, it } from 'vitest';
import { messages } from '../src/db/schema.js';
import { buildApp } from '../src/http/app.js';
import { revokeClientTokenById } from '../src/tokens/client-token-revocation.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { useSuite } from './support/suite.js';

// A revoked credential gets 401 on its next request; the work it had already started (a
// streamed turn, a send queued behind another turn) must stop too, not run to its end.
const s = useSuite();
let runtime: ScriptedRuntime;
let baseUrl: string;
let close: () => Promise<void>;

beforeEach(async () => {
  runtime = new ScriptedRuntime({ pieces: ['never ', 'heard'], gated: true });
  const app = await buildApp({ deps: { ...s.deps, agentRuntime: runtime }, logLevel: 'silent' });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
});
afterEach(async () => {
  runtime.release();
  await close();
});

const mint = () =>
  mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages', 'write_messages'] }],
  });

const send = (bearer: string, content: string, streaming: boolean) =>
  fetch(`${baseUrl}/v1/agents/${s.acme.agentId}/messages`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${bearer}`,
      origin: APP_ORIGIN,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ messages: [{ role: 'user', content }], streaming }),
  });

const chunksOf = async (response: Response) =>
  (await response.text())
    .split('\n\n')
    .filter((chunk) => chunk !== '' && !chunk.includes('"message_type":"ping"'));

const untilStarted = async (turns: number) => {
  while (runtime.started < turns) await new Promise((resolve) => setTimeout(resolve, 5));
};

it('ends a streamed turn when its token is revoked: an error event the SDK reads, then [DONE]', async () => {
  const minted = await mint();
  const response = await send(minted.token, 'a long question', true);
  expect(response.status).toBe(200);
  await untilStarted(1);
  await revokeClientTokenById(s.deps, { organizationId: s.acme.organizationId, id: minted.id });

  // The model never answers: only the revocation can end this stream.
  const [stop, error, done] = await chunksOf(response);
  expect(JSON.parse(stop?.replace(/^data: /, '') ?? '')).toEqual({
    message_type: 'stop_reason',
    stop_reason: 'error',
  });
  expect(error).toMatch(/^event: error\ndata: /);
  expect(JSON.parse(error?.replace(/^event: error\ndata: /, '') ?? '')).toMatchObject({
    message_type: 'error_message',
    error_type: 'unauthorized',
    message: expect.stringMatching(/revoked/i),
  });
  expect(done).toBe('data: [DONE]');
  // The turn stopped: nothing of the reply was stored.
  const stored = await s.database.db.select().from(messages);
  expect(stored.map((m) => m.content)).toEqual(['a long question']);
});

it('drops the sends a revoked token had queued before they start, plain and streamed', async () => {
  const minted = await mint();
  // Another credential's turn holds the agent.
  const first = send(s.acme.apiKey, 'first', false);
  await untilStarted(1);
  const plain = send(minted.token, 'queued plain', false);
  const streamed = await send(minted.token, 'queued streamed', true);
  expect(streamed.status).toBe(200);
  await revokeClientTokenById(s.deps, { organizationId: s.acme.organizationId, id: minted.id });

  const refused = await plain;
  expect(refused.status).toBe(401);
  expect(await refused.json()).toMatchObject({ message: expect.stringMatching(/revoked/i) });
  const chunks = await chunksOf(streamed);
  expect(chunks[1]).toMatch(/^event: error\ndata: .*"error_type":"unauthorized"/);
  expect(chunks.at(-1)).toBe('data: [DONE]');

  runtime.release();
  expect((await first).status).toBe(200);
  const stored = await s.database.db.select().from(messages);
  expect(stored.map((m) => m.content).sort()).toEqual(['first', 'never heard']);
  expect(runtime.started).toBe(1);
});
