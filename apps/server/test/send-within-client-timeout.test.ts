import Letta, { ConflictError } from '@letta-ai/letta-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { messages } from '../src/db/schema.js';
import { buildApp } from '../src/http/app.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { useSuite } from './support/suite.js';

// The Letta SDK retries a send that timed out, and a send without an otid cannot be told
// from a new one: if the first attempt's turn started as the client gave up, the message was
// stored twice. A send waiting for a busy agent must be answered while its client listens.
const s = useSuite();
const runtime = new ScriptedRuntime({ pieces: ['done'], gated: true });
let baseUrl: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const app = await buildApp({ deps: { ...s.deps, agentRuntime: runtime }, logLevel: 'silent' });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
});
afterAll(async () => {
  runtime.release();
  await close();
});

it('answers a send queued behind a long turn with 409 before its SDK times out, and stores nothing', async () => {
  const client = new Letta({ apiKey: s.acme.apiKey, baseURL: baseUrl });
  const first = client.agents.messages.create(s.acme.agentId, { input: 'a long one' });
  while (runtime.started === 0) await new Promise((resolve) => setTimeout(resolve, 5));

  const started = performance.now();
  const queued = await client.agents.messages
    // A timeout given per request is announced to the server (X-Stainless-Timeout).
    .create(s.acme.agentId, { input: 'behind it' }, { timeout: 4_000 })
    .catch((error: unknown) => error);
  expect(queued).toBeInstanceOf(ConflictError);
  expect((queued as ConflictError).message).toMatch(/busy with another turn/);
  // Answered, not timed out and retried: one attempt of about half the client's timeout.
  expect(performance.now() - started).toBeLessThan(4_000);

  runtime.release();
  await first;
  const stored = await s.database.db.select().from(messages).orderBy(messages.seq);
  expect(stored.map((m) => m.content)).toEqual(['a long one', 'done']);
});
